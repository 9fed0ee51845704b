-- The dangling references of the rating history, counted for dangling_references
-- (macros/dangling_references.sql) over each title's latest rating only: the counts then
-- describe the current state, and do not grow with every snapshot.
{{ config(materialized='table') }}

with

rating_history as (

    select * from {{ ref('fct_title_ratings') }}

),

latest_rating_snapshots as (

    select
        tconst,
        max(snapshot_id) as snapshot_id

    from rating_history
    group by tconst

),

current_ratings as (

    select rating_history.*

    from rating_history
    inner join latest_rating_snapshots
        on rating_history.tconst = latest_rating_snapshots.tconst
        and rating_history.snapshot_id = latest_rating_snapshots.snapshot_id

),

{{ imdb_elt.count_dangling_references('fct_title_ratings', 'current_ratings') }}
