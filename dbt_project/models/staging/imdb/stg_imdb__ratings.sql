with

source as (

    select * from {{ source('imdb', 'title_ratings') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        cast("averageRating" as numeric(3, 1)) as average_rating,
        cast("numVotes" as bigint) as num_votes,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
