-- The dangling references of bridge_title_genres, counted for dangling_references (macros/dangling_references.sql).
{{ config(materialized='table') }}

with

title_genres as (

    select * from {{ ref('bridge_title_genres') }}

),

{{ imdb_elt.count_dangling_references('bridge_title_genres', 'title_genres') }}
