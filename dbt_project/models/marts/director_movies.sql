{#
    One row per director and movie. Directors come from IMDb's crew (all credited directors,
    names resolved from name.basics); a movie without a resolved IMDb director falls back to
    the Kaggle director_name.
#}
{{ config(dist='tconst', sort=['director_name']) }}

with

movies as (

    select * from {{ ref('movies') }}

),

imdb_directors as (

    select distinct
        tconst,
        director_name

    from {{ ref('int_movie_directors') }}
    where director_name is not null

),

kaggle_directors as (

    select
        tconst,
        director

    from {{ ref('int_movies__kaggle') }}
    where director is not null

),

directors as (

    select tconst, director_name from imdb_directors

    union all

    -- An anti-join, not `not in (subquery)`: that returns nothing once the subquery yields a null.
    select kaggle_directors.tconst, kaggle_directors.director
    from kaggle_directors
    where not exists (
        select 1 from imdb_directors
        where imdb_directors.tconst = kaggle_directors.tconst
    )

)

select
    directors.director_name,
    movies.title as movie_title,
    movies.tconst,
    movies.gross,
    movies.budget,
    movies.content_rating,
    movies.rating,
    movies.year

from movies
inner join directors on movies.tconst = directors.tconst
