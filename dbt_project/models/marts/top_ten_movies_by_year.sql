{#
    Up to ten movies per year ranked by IMDb's weighted rating
        WR = v / (v + m) * R + m / (v + m) * C
    R = rating, v = votes, m = var('ranking_min_votes'), C = mean rating of the ranked movies.
    Only movies with at least m votes are ranked; ties go to more votes, then to the lower tconst.
#}
{%- set min_votes = var('ranking_min_votes') | int -%}

with

ranked_movies as (

    select
        tconst,
        title,
        year,
        cast(rating as double precision) as rating,
        cast(votes as double precision) as votes,
        votes as vote_count

    from {{ ref('movies') }}
    where year is not null
        and rating is not null
        and votes >= {{ min_votes }}

),

mean_rating as (

    select avg(rating) as c from ranked_movies

),

weighted as (

    select
        ranked_movies.tconst,
        ranked_movies.title,
        ranked_movies.year,
        ranked_movies.rating,
        ranked_movies.vote_count,
        ranked_movies.votes / (ranked_movies.votes + {{ min_votes }}) * ranked_movies.rating
            + {{ min_votes }} / (ranked_movies.votes + {{ min_votes }}) * mean_rating.c
            as weighted_rating

    from ranked_movies
    cross join mean_rating

),

numbered as (

    select
        *,
        row_number() over (
            partition by year
            order by weighted_rating desc, vote_count desc, tconst
        ) as year_rank

    from weighted

)

select
    year,
    cast(year_rank as integer) as year_rank,
    tconst,
    title,
    cast(rating as numeric(3, 1)) as rating,
    vote_count as votes,
    cast(weighted_rating as double precision) as weighted_rating

from numbered
where year_rank <= 10
