{#
    Rating history: one row per title per snapshot in which its rating or vote count changed.
    Each run compares the staged ratings with the latest row per title already here and
    inserts only new titles and changed values, so a run with no new snapshot adds nothing.
    A --full-refresh would rebuild from the current snapshot only and lose the history, so it
    is refused unless var allow_rating_history_rebuild is true. (dbt's full_refresh config:
    false = never, none = follow the --full-refresh flag; true would mean always.)
#}
{{
    config(
        materialized='incremental',
        unique_key=['tconst', 'snapshot_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=(none if var('allow_rating_history_rebuild', false) else false),
        dist='tconst',
        sort=['tconst', 'snapshot_id']
    )
}}

with

ratings as (

    select * from {{ ref('stg_imdb__ratings') }}

),

{% if imdb_elt.incremental_run() %}

latest as (

    select
        tconst,
        average_rating,
        num_votes,
        snapshot_id

    from (
        select
            *,
            row_number() over (partition by tconst order by snapshot_id desc) as row_rank
        from {{ this }}
    ) as history
    where row_rank = 1

),

{% endif %}

changed as (

    select ratings.*
    from ratings
    {% if imdb_elt.incremental_run() %}
    left join latest on ratings.tconst = latest.tconst
    where latest.tconst is null
        or (
            ratings.snapshot_id > latest.snapshot_id
            -- -1 stands for null: no rating or vote count is negative.
            and (
                coalesce(ratings.average_rating, -1) <> coalesce(latest.average_rating, -1)
                or coalesce(ratings.num_votes, -1) <> coalesce(latest.num_votes, -1)
            )
        )
    {% endif %}

)

select
    tconst,
    snapshot_id,
    average_rating,
    num_votes,
    loaded_at

from changed
