-- The dangling references of dim_title_akas, counted for dangling_references (macros/dangling_references.sql).
{{ config(materialized='table') }}

with

akas as (

    select * from {{ ref('dim_title_akas') }}

),

{{ imdb_elt.count_dangling_references('dim_title_akas', 'akas') }}
