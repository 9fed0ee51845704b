{{ config(dist='parent_tconst', sort=['parent_tconst', 'season_number', 'episode_number']) }}

select
    tconst,
    parent_tconst,
    season_number,
    episode_number,
    snapshot_id

from {{ ref('stg_imdb__episodes') }}
