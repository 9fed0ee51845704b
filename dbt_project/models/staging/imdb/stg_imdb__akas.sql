with

source as (

    select * from {{ source('imdb', 'title_akas') }}

),

renamed as (

    select
        cast("titleId" as {{ imdb_elt.string_type() }}) as tconst,
        cast(ordering as integer) as ordering,
        cast(title as {{ imdb_elt.string_type() }}) as title,
        cast(region as {{ imdb_elt.string_type() }}) as region,
        cast(language as {{ imdb_elt.string_type() }}) as language,
        {{ imdb_elt.array_column('types') }} as types,
        {{ imdb_elt.array_column('attributes') }} as attributes,
        cast("isOriginalTitle" as boolean) as is_original_title,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
