{#
    How many rows of each fact point at a title or person IMDb did not publish, for every
    reference of macros/dangling_references.sql. The `resolves_to` tests on the same columns
    warn with these counts (IMDb's dumps really dangle); this table keeps them queryable after
    every run. It describes the current state: the rating history counts each title's latest
    rating once, so the figures do not grow with every snapshot and a backfill or a long series
    of deliveries gives the same counts as one fresh load.
    Each child model's references are counted by int_dangling_references__<child>; this mart
    unions those counts.
#}
{%- set children = imdb_elt.dangling_reference_children() -%}

with
{% for child in children %}
counts_of_{{ child }} as (

    select * from {{ ref('int_dangling_references__' ~ child) }}

){{ ',' if not loop.last }}
{% endfor %}
{% for child in children %}
select
    reference,
    referenced,
    checked_rows,
    dangling_rows

from counts_of_{{ child }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
