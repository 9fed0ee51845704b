-- One row per person and title they are known for, exploded from knownForTitles.
with

names as (

    select * from {{ ref('int_names__deduped') }}

),

exploded as (

    select
        n.nconst,
        {{ imdb_elt.array_element('k') }} as tconst,
        {{ imdb_elt.array_position('k_pos') }} as known_for_position

    from names as n
    {{ imdb_elt.unnest_array('n', 'known_for_tconsts', 'k', 'k_pos') }}

)

select
    nconst,
    tconst,
    min(known_for_position) as known_for_position

from exploded
where tconst is not null
group by nconst, tconst
