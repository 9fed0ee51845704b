-- One row per title and genre, exploded from the genres array (IMDb lists up to three).
-- A table: dim_titles, bridge_title_genres and int_movies__imdb all read it.
{{ config(materialized='table') }}

with

titles as (

    select * from {{ ref('stg_imdb__titles') }}

),

exploded as (

    select
        t.tconst,
        {{ imdb_elt.array_element('t', 'genres', 'g') }} as genre,
        {{ imdb_elt.array_position('t', 'genres', 'g_pos') }} as genre_position

    from titles as t
    {{ imdb_elt.unnest_array('t', 'genres', 'g', 'g_pos') }}

)

-- A genre repeated within one title is kept once, at its first position.
select
    tconst,
    genre,
    min(genre_position) as genre_position

from exploded
where genre is not null
group by tconst, genre
