with

names as (

    select * from {{ ref('int_names__deduped') }}

),

professions as (

    select
        nconst,
        {{ dbt.listagg('profession', "','", 'order by profession_position') }} as primary_professions

    from {{ ref('int_people_professions') }}
    group by nconst

),

known_for as (

    select
        nconst,
        {{ dbt.listagg('tconst', "','", 'order by known_for_position') }} as known_for_tconsts

    from {{ ref('int_people_known_for') }}
    group by nconst

)

select
    names.nconst,
    names.primary_name,
    names.birth_year,
    names.death_year,
    professions.primary_professions,
    known_for.known_for_tconsts,
    names.snapshot_id

from names
left join professions on names.nconst = professions.nconst
left join known_for on names.nconst = known_for.nconst
