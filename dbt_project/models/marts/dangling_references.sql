{#
    How many rows of each fact point at a title or person IMDb did not publish, for every
    reference of macros/dangling_references.sql. The `resolves_to` tests on the same columns
    warn with these counts (IMDb's dumps really dangle); this table keeps them queryable after
    every run. It describes the current state: the rating history counts each title's latest
    rating once, so the figures do not grow with every snapshot and a backfill or a long series
    of deliveries gives the same counts as one fresh load.
#}
{%- set checks = imdb_elt.dangling_reference_checks() -%}
{%- set parent_ctes = {'dim_titles': 'titles', 'dim_people': 'people'} -%}

with

rating_history as (

    select * from {{ ref('fct_title_ratings') }}

),

principals as (

    select * from {{ ref('fct_title_principals') }}

),

episodes as (

    select * from {{ ref('fct_episodes') }}

),

akas as (

    select * from {{ ref('dim_title_akas') }}

),

title_genres as (

    select * from {{ ref('bridge_title_genres') }}

),

titles as (

    select * from {{ ref('dim_titles') }}

),

people as (

    select * from {{ ref('dim_people') }}

),

latest_rating_snapshots as (

    select
        tconst,
        max(snapshot_id) as snapshot_id

    from rating_history
    group by tconst

),

current_ratings as (

    select rating_history.*

    from rating_history
    inner join latest_rating_snapshots
        on rating_history.tconst = latest_rating_snapshots.tconst
        and rating_history.snapshot_id = latest_rating_snapshots.snapshot_id

)

{% for child_cte, child, child_column, parent, parent_column in checks %}
select
    cast('{{ child }}.{{ child_column }}' as {{ imdb_elt.string_type() }}) as reference,
    cast('{{ parent }}.{{ parent_column }}' as {{ imdb_elt.string_type() }}) as referenced,
    cast(count(child.{{ child_column }}) as bigint) as checked_rows,
    cast(coalesce(sum(
        case when child.{{ child_column }} is not null and parent.{{ parent_column }} is null then 1 else 0 end
    ), 0) as bigint) as dangling_rows

from {{ child_cte }} as child
left join {{ parent_ctes[parent] }} as parent
    on child.{{ child_column }} = parent.{{ parent_column }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
