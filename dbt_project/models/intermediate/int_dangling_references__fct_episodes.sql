-- The dangling references of fct_episodes, counted for dangling_references (macros/dangling_references.sql).
{{ config(materialized='table') }}

with

episodes as (

    select * from {{ ref('fct_episodes') }}

),

{{ imdb_elt.count_dangling_references('fct_episodes', 'episodes') }}
