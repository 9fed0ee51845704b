-- One row per Kaggle movie and genre (the CSV's pipe-separated list, parsed by Spark).
with

movies as (

    select * from {{ ref('stg_kaggle__movies') }}

),

exploded as (

    select
        m.tconst,
        {{ imdb_elt.array_element('m', 'genres', 'g') }} as genre,
        {{ imdb_elt.array_position('m', 'genres', 'g_pos') }} as genre_position

    from movies as m
    {{ imdb_elt.unnest_array('m', 'genres', 'g', 'g_pos') }}

)

select
    tconst,
    genre,
    min(genre_position) as genre_position

from exploded
where genre is not null
group by tconst, genre
