with

source as (

    select * from {{ source('imdb', 'name_basics') }}

),

renamed as (

    select
        cast(nconst as {{ imdb_elt.string_type() }}) as nconst,
        cast("primaryName" as {{ imdb_elt.string_type() }}) as primary_name,
        cast("birthYear" as integer) as birth_year,
        cast("deathYear" as integer) as death_year,
        {{ imdb_elt.array_column('"primaryProfession"') }} as primary_professions,
        {{ imdb_elt.array_column('"knownForTitles"') }} as known_for_tconsts,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
