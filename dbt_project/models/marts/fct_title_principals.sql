{{ config(dist='tconst', sort=['tconst', 'ordering']) }}

with

principals as (

    select * from {{ ref('stg_imdb__principals') }}

),

characters as (

    select
        tconst,
        ordering,
        {{ dbt.listagg('character_name', "'|'", 'order by character_position') }} as characters

    from {{ ref('int_principal_characters') }}
    group by tconst, ordering

)

select
    principals.tconst,
    principals.ordering,
    principals.nconst,
    principals.category,
    principals.job,
    characters.characters,
    principals.snapshot_id

from principals
left join characters
    on principals.tconst = characters.tconst
    and principals.ordering = characters.ordering
