-- The Kaggle file repeats 124 IMDb ids (45 exact copies, the rest scraped at different times):
-- keep one row per tconst, the one with the most votes (the latest scrape), then the most
-- complete money figures, then the title for a deterministic tie-break.
with

movies as (

    select * from {{ ref('stg_kaggle__movies') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by tconst
            order by
                coalesce(num_voted_users, -1) desc,
                case when gross is null then 1 else 0 end,
                case when budget is null then 1 else 0 end,
                movie_title
        ) as row_rank

    from movies

)

select
    tconst,
    movie_title,
    title_year,
    duration_minutes,
    director_name,
    genres,
    imdb_score,
    num_voted_users,
    gross,
    budget,
    content_rating,
    country,
    language

from ranked
where row_rank = 1
