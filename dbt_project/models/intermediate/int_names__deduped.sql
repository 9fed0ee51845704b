-- name.basics repeats some people: keep one row per nconst, the most recently loaded, then the
-- most complete (a name before no name), so the choice is deterministic.
with

names as (

    select * from {{ ref('stg_imdb__names') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by nconst
            order by
                loaded_at desc,
                case when primary_name is null then 1 else 0 end,
                primary_name,
                birth_year
        ) as row_rank

    from names

)

select
    nconst,
    primary_name,
    birth_year,
    death_year,
    primary_professions,
    known_for_tconsts,
    snapshot_id,
    loaded_at

from ranked
where row_rank = 1
