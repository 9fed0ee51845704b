select
    tconst,
    genre,
    genre_position

from {{ ref('int_title_genres') }}
