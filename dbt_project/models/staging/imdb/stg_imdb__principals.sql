with

source as (

    select * from {{ source('imdb', 'title_principals') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        cast(ordering as integer) as ordering,
        cast(nconst as {{ imdb_elt.string_type() }}) as nconst,
        cast(category as {{ imdb_elt.string_type() }}) as category,
        cast(job as {{ imdb_elt.string_type() }}) as job,
        {{ imdb_elt.array_column('characters') }} as characters,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
