-- One row per title and genre, exploded from the genres array (IMDb lists up to three).
-- A view: bridge_title_genres writes these rows once, and int_movies__imdb's filter on its
-- movies reaches the explode (a table here cost 8.5 s at SF=1, and its copy into the bridge 5 s).
{{ config(materialized='view') }}

with

titles as (

    select * from {{ ref('stg_imdb__titles') }}

),

exploded as (

    select
        t.tconst,
        t.genres,
        {{ imdb_elt.array_element('t', 'genres', 'g') }} as genre,
        {{ imdb_elt.array_position('t', 'genres', 'g_pos') }} as genre_position

    from titles as t
    {{ imdb_elt.unnest_array('t', 'genres', 'g', 'g_pos') }}

),

-- A genre repeated within one title is kept once, at its first position.
deduped as (

    {{ imdb_elt.first_occurrences('exploded', ['tconst'], 'genres', 'genre', 'genre_position') }}

)

select * from deduped
