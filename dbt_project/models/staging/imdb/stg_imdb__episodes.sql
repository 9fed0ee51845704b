with

source as (

    select * from {{ source('imdb', 'title_episode') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        cast("parentTconst" as {{ imdb_elt.string_type() }}) as parent_tconst,
        cast("seasonNumber" as integer) as season_number,
        cast("episodeNumber" as integer) as episode_number,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
