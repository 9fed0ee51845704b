{#
    Profit (gross - budget) per director and content rating, over films with both figures known
    and country = 'USA' only: Kaggle budgets are in each country's currency (the largest is a
    Korean film in won), so mixing countries would add won to dollars. Sums are 64-bit.
#}
with

films as (

    select * from {{ ref('director_movies') }}
    where gross is not null
        and budget is not null
        and tconst in (
            select tconst from {{ ref('movies') }} where country = 'USA'
        )

)

select
    director_name,
    content_rating,
    cast(sum(cast(gross as bigint) - cast(budget as bigint)) as bigint) as profit,
    cast(count(*) as integer) as film_count

from films
group by director_name, content_rating
