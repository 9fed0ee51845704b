-- One row per Kaggle movie, genres as text in the same format as the IMDb side, minus the
-- titles IMDb knows as something other than a movie (the file holds a few TV series).
-- A table: the movies mart and director_movies both read it.
{{ config(materialized='table') }}

with

movies as (

    select * from {{ ref('stg_kaggle__movies') }}

),

non_movies as (

    select tconst from {{ ref('stg_imdb__titles') }}
    where title_type <> 'movie'

),

genres as (

    select
        tconst,
        {{ dbt.listagg('genre', "','", 'order by genre') }} as genres

    from {{ ref('int_kaggle_movie_genres') }}
    group by tconst

)

select
    movies.tconst,
    movies.movie_title as title,
    movies.title_year as year,
    movies.duration_minutes as duration,
    movies.imdb_score as rating,
    movies.num_voted_users as votes,
    genres.genres,
    movies.director_name as director,
    movies.gross,
    movies.budget,
    movies.content_rating,
    movies.country,
    movies.language

from movies
left join genres on movies.tconst = genres.tconst
-- An anti-join, not `not in (subquery)`: that returns nothing once the subquery yields a null.
where not exists (
    select 1 from non_movies
    where non_movies.tconst = movies.tconst
)
