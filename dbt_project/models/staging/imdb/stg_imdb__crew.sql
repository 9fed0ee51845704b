with

source as (

    select * from {{ source('imdb', 'title_crew') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        {{ imdb_elt.array_column('directors') }} as director_nconsts,
        {{ imdb_elt.array_column('writers') }} as writer_nconsts,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
