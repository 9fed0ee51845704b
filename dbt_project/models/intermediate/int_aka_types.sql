-- One row per localised title and attribute, exploded from both akas arrays; kind tells
-- whether the value came from `types` or `attributes`.
with

akas as (

    select * from {{ ref('stg_imdb__akas') }}

),

types as (

    select
        a.tconst,
        a.ordering,
        'type' as kind,
        {{ imdb_elt.array_element('ty') }} as value,
        {{ imdb_elt.array_position('ty_pos') }} as value_position

    from akas as a
    {{ imdb_elt.unnest_array('a', 'types', 'ty', 'ty_pos') }}

),

attributes as (

    select
        a.tconst,
        a.ordering,
        'attribute' as kind,
        {{ imdb_elt.array_element('att') }} as value,
        {{ imdb_elt.array_position('att_pos') }} as value_position

    from akas as a
    {{ imdb_elt.unnest_array('a', 'attributes', 'att', 'att_pos') }}

)

select * from types where value is not null
union all
select * from attributes where value is not null
