{#
    Up to ten movies per year ranked by IMDb's weighted rating
        WR = v / (v + m) * R + m / (v + m) * C
    R = rating, v = votes, m = var('ranking_min_votes'), C = mean rating of the ranked movies.
    Only movies with at least m votes are ranked; ties go to more votes, then to the lower tconst.

    Exact and the same on every warehouse (floating-point sums vary with row order): ratings
    are counted in tenths, C is rounded half up to 6 decimals, then WR is computed from that C
    and rounded half up to 6 decimals, all in integer arithmetic (macros/exact_arithmetic.sql).
#}
{%- set min_votes = var('ranking_min_votes') | int -%}
{%- if min_votes < 1 -%}
    {{ exceptions.raise_compiler_error("var ranking_min_votes must be at least 1 (it is m in v + m)") }}
{%- endif -%}
{%- set micro = 1000000 -%}

with

ranked_movies as (

    select
        tconst,
        title,
        year,
        rating,
        votes,
        cast(rating * 10 as bigint) as rating_tenths

    from {{ ref('movies') }}
    where year is not null
        and rating is not null
        and votes >= {{ min_votes }}

),

mean_rating as (

    -- C in millionths: sum(R) / n = sum(tenths) * 10^5 / n. Null when nothing is ranked.
    select
        {{ imdb_elt.divide_round_half_up('sum(rating_tenths) * ' ~ (micro // 10), 'nullif(count(*), 0)') }}
            as c_micro

    from ranked_movies

),

weighted as (

    -- WR in millionths: (v * R + m * C) / (v + m) = (v * tenths * 10^5 + m * C_micro) / (v + m).
    select
        ranked_movies.tconst,
        ranked_movies.title,
        ranked_movies.year,
        ranked_movies.rating,
        ranked_movies.votes,
        {{ imdb_elt.divide_round_half_up(
            'ranked_movies.votes * ranked_movies.rating_tenths * ' ~ (micro // 10)
                ~ ' + ' ~ min_votes ~ ' * mean_rating.c_micro',
            'ranked_movies.votes + ' ~ min_votes,
        ) }} as weighted_rating_micro

    from ranked_movies
    cross join mean_rating

),

numbered as (

    select
        *,
        row_number() over (
            partition by year
            order by weighted_rating_micro desc, votes desc, tconst
        ) as year_rank

    from weighted

)

select
    year,
    cast(year_rank as integer) as year_rank,
    tconst,
    title,
    cast(rating as numeric(3, 1)) as rating,
    votes,
    {{ imdb_elt.from_scaled_integer('weighted_rating_micro', 6, 9) }} as weighted_rating

from numbered
where year_rank <= 10
