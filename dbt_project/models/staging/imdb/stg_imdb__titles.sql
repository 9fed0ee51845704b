with

source as (

    select * from {{ source('imdb', 'title_basics') }}

),

renamed as (

    select
        cast(tconst as {{ imdb_elt.string_type() }}) as tconst,
        cast("titleType" as {{ imdb_elt.string_type() }}) as title_type,
        cast("primaryTitle" as {{ imdb_elt.string_type() }}) as primary_title,
        cast("originalTitle" as {{ imdb_elt.string_type() }}) as original_title,
        cast("isAdult" as boolean) as is_adult,
        cast("startYear" as integer) as start_year,
        cast("endYear" as integer) as end_year,
        cast("runtimeMinutes" as integer) as runtime_minutes,
        {{ imdb_elt.array_column('genres') }} as genres,
        cast(_snapshot_id as {{ imdb_elt.string_type() }}) as snapshot_id,
        cast(_loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
