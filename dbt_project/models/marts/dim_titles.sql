with

titles as (

    select * from {{ ref('stg_imdb__titles') }}

),

with_genres_text as (

    {{ imdb_elt.titles_with_genres_text('titles', ref('int_title_genres')) }}

)

select
    tconst,
    title_type,
    primary_title,
    original_title,
    is_adult,
    start_year,
    end_year,
    runtime_minutes,
    genres_text as genres,
    snapshot_id

from with_genres_text
