-- One row per person and profession, exploded from primaryProfession.
with

names as (

    select * from {{ ref('int_names__deduped') }}

),

exploded as (

    select
        n.nconst,
        {{ imdb_elt.array_element('p') }} as profession,
        {{ imdb_elt.array_position('p_pos') }} as profession_position

    from names as n
    {{ imdb_elt.unnest_array('n', 'primary_professions', 'p', 'p_pos') }}

)

select
    nconst,
    profession,
    min(profession_position) as profession_position

from exploded
where profession is not null
group by nconst, profession
