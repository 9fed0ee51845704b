-- One row per person; professions and known-for titles joined in IMDb's order.
with

names as (

    select * from {{ ref('stg_imdb__names') }}

),

joined as (

    {{ imdb_elt.select_joining_arrays(
        'names',
        key=['nconst'],
        columns=['primary_name', 'birth_year', 'death_year', 'snapshot_id'],
        arrays={'primary_professions': ',', 'known_for_tconsts': ','},
    ) }}

)

select
    nconst,
    primary_name,
    birth_year,
    death_year,
    primary_professions,
    known_for_tconsts,
    snapshot_id

from joined
