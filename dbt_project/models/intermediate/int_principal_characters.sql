-- One row per credit and character played, exploded from the characters array.
with

principals as (

    select * from {{ ref('stg_imdb__principals') }}

),

exploded as (

    select
        p.tconst,
        p.ordering,
        {{ imdb_elt.array_element('ch') }} as character_name,
        {{ imdb_elt.array_position('ch_pos') }} as character_position

    from principals as p
    {{ imdb_elt.unnest_array('p', 'characters', 'ch', 'ch_pos') }}

)

select * from exploded
where character_name is not null
