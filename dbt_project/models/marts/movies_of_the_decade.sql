{#
    Movies released from var('decade_start') on, ranked by rating; ties go to more votes, then
    to the lower tconst so the ranking is deterministic.
#}
with

movies as (

    select * from {{ ref('movies') }}
    where year >= {{ var('decade_start') | int }}
        and rating is not null

)

select
    cast(row_number() over (order by rating desc, votes desc nulls last, tconst) as integer)
        as decade_rank,
    tconst,
    title,
    year,
    rating,
    votes,
    director

from movies
