-- One row per title and director in credit order, with the director's name resolved from
-- name.basics (null when the nconst dangles).
-- A table: int_movies__imdb and director_movies both read it.
{{ config(materialized='table') }}

with

crew as (

    select * from {{ ref('stg_imdb__crew') }}

),

names as (

    select * from {{ ref('stg_imdb__names') }}

),

exploded as (

    select
        c.tconst,
        {{ imdb_elt.array_element('c', 'director_nconsts', 'd') }} as nconst,
        {{ imdb_elt.array_position('c', 'director_nconsts', 'd_pos') }} as director_position

    from crew as c
    {{ imdb_elt.unnest_array('c', 'director_nconsts', 'd', 'd_pos') }}

),

deduped as (

    select
        tconst,
        nconst,
        min(director_position) as director_position

    from exploded
    where nconst is not null
    group by tconst, nconst

)

select
    deduped.tconst,
    deduped.nconst,
    deduped.director_position,
    names.primary_name as director_name

from deduped
left join names on deduped.nconst = names.nconst
