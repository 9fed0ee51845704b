with

titles as (

    select * from {{ ref('stg_imdb__titles') }}

),

genres as (

    {{ imdb_elt.genres_text('titles', ref('int_title_genres')) }}

)

select
    titles.tconst,
    titles.title_type,
    titles.primary_title,
    titles.original_title,
    titles.is_adult,
    titles.start_year,
    titles.end_year,
    titles.runtime_minutes,
    genres.genres,
    titles.snapshot_id

from titles
left join genres on titles.tconst = genres.tconst
