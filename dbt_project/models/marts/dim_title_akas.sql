{{ config(dist='tconst', sort=['tconst', 'ordering']) }}

with

akas as (

    select * from {{ ref('stg_imdb__akas') }}

),

attributes as (

    select
        tconst,
        ordering,
        {{ dbt.listagg("case when kind = 'type' then value end", "','", 'order by value_position') }} as types,
        {{ dbt.listagg("case when kind = 'attribute' then value end", "','", 'order by value_position') }} as attributes

    from {{ ref('int_aka_types') }}
    group by tconst, ordering

)

select
    akas.tconst,
    akas.ordering,
    akas.title,
    akas.region,
    akas.language,
    attributes.types,
    attributes.attributes,
    akas.is_original_title,
    akas.snapshot_id

from akas
left join attributes
    on akas.tconst = attributes.tconst
    and akas.ordering = attributes.ordering
