{#
    One row per movie: IMDb's movies (title_type = 'movie') full outer joined on tconst with the
    Kaggle movies. Rule: IMDb values win where present (they are the daily, authoritative
    figures), Kaggle fills the gaps; gross, budget, content_rating, country and language come
    from Kaggle only. Kaggle ids IMDb knows as non-movies are left out (int_movies__kaggle).
#}
{{ config(dist='tconst', sort=['tconst']) }}

with

imdb as (

    select * from {{ ref('int_movies__imdb') }}

),

kaggle as (

    select * from {{ ref('int_movies__kaggle') }}

)

select
    coalesce(imdb.tconst, kaggle.tconst) as tconst,
    coalesce(imdb.title, kaggle.title) as title,
    coalesce(imdb.year, kaggle.year) as year,
    coalesce(imdb.duration, kaggle.duration) as duration,
    coalesce(imdb.rating, kaggle.rating) as rating,
    coalesce(imdb.votes, kaggle.votes) as votes,
    coalesce(imdb.genres, kaggle.genres) as genres,
    coalesce(imdb.director, kaggle.director) as director,
    kaggle.gross,
    kaggle.budget,
    kaggle.content_rating,
    kaggle.country,
    kaggle.language

from imdb
full outer join kaggle on imdb.tconst = kaggle.tconst
