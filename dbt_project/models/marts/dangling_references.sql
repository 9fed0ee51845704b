{#
    How many rows of each fact point at a title or person IMDb did not publish. The
    relationships tests on the same columns warn (IMDb's dumps really dangle); this table keeps
    the counts queryable after every run.
#}
{%- set checks = [
    ('fct_title_ratings', 'tconst', 'dim_titles', 'tconst'),
    ('fct_title_principals', 'tconst', 'dim_titles', 'tconst'),
    ('fct_title_principals', 'nconst', 'dim_people', 'nconst'),
    ('fct_episodes', 'tconst', 'dim_titles', 'tconst'),
    ('fct_episodes', 'parent_tconst', 'dim_titles', 'tconst'),
    ('dim_title_akas', 'tconst', 'dim_titles', 'tconst'),
    ('bridge_title_genres', 'tconst', 'dim_titles', 'tconst'),
] -%}

{% for child, child_column, parent, parent_column in checks %}
select
    cast('{{ child }}.{{ child_column }}' as {{ imdb_elt.string_type() }}) as reference,
    cast('{{ parent }}.{{ parent_column }}' as {{ imdb_elt.string_type() }}) as referenced,
    cast(count(child.{{ child_column }}) as bigint) as checked_rows,
    cast(coalesce(sum(
        case when child.{{ child_column }} is not null and parent.{{ parent_column }} is null then 1 else 0 end
    ), 0) as bigint) as dangling_rows

from {{ ref(child) }} as child
left join {{ ref(parent) }} as parent
    on child.{{ child_column }} = parent.{{ parent_column }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
