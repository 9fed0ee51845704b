-- The dangling references of fct_title_principals, counted for dangling_references (macros/dangling_references.sql).
{{ config(materialized='table') }}

with

principals as (

    select * from {{ ref('fct_title_principals') }}

),

{{ imdb_elt.count_dangling_references('fct_title_principals', 'principals') }}
