{#
    Array handling, one home for every adapter.

    The raw tables hold IMDb's multi-valued fields as native arrays: DuckDB lists (over
    Parquet), PostgreSQL text[] (COPY) and Redshift SUPER (COPY ... FORMAT AS PARQUET).
    Models explode them with these three macros so no model carries adapter-specific SQL:

        select t.tconst,
               {{ array_element('g') }} as genre,
               {{ array_position('g_pos') }} as genre_position
        from source_rel as t
        {{ unnest_array('t', 'genres', 'g', 'g_pos') }}

    A null or empty array yields no rows (inner lateral join), positions are 1-based.
#}

{% macro unnest_array(relation_alias, column, element_alias, position_alias) -%}
    {{ return(adapter.dispatch('unnest_array', 'imdb_elt')(relation_alias, column, element_alias, position_alias)) }}
{%- endmacro %}

{% macro default__unnest_array(relation_alias, column, element_alias, position_alias) -%}
    cross join lateral unnest({{ relation_alias }}.{{ column }}) with ordinality
        as {{ element_alias }}__u({{ element_alias }}, {{ position_alias }})
{%- endmacro %}

{% macro redshift__unnest_array(relation_alias, column, element_alias, position_alias) -%}
    {#- PartiQL navigation: the comma join over a SUPER array unnests it; AT gives the 0-based index. -#}
    , {{ relation_alias }}.{{ column }} as {{ element_alias }} at {{ position_alias }}
{%- endmacro %}


{% macro array_element(element_alias) -%}
    {{ return(adapter.dispatch('array_element', 'imdb_elt')(element_alias)) }}
{%- endmacro %}

{% macro default__array_element(element_alias) -%}
    {{ element_alias }}
{%- endmacro %}

{% macro redshift__array_element(element_alias) -%}
    {#- SUPER scalars must be cast before comparison or joins with varchar columns. -#}
    cast({{ element_alias }} as varchar(65535))
{%- endmacro %}


{% macro array_position(position_alias) -%}
    {{ return(adapter.dispatch('array_position', 'imdb_elt')(position_alias)) }}
{%- endmacro %}

{% macro default__array_position(position_alias) -%}
    cast({{ position_alias }} as integer)
{%- endmacro %}

{% macro redshift__array_position(position_alias) -%}
    cast({{ position_alias }} as integer) + 1
{%- endmacro %}


{#
    array_column: a raw array column as staging selects it. With REDSHIFT_STAGING=spectrum the
    raw tables are Spectrum external tables, whose nested columns a query cannot return; the
    staging pre-hook (spectrum_session) serialises them to JSON text, parsed back into SUPER
    here, so everything downstream sees the same SUPER arrays as after COPY.
#}
{% macro array_column(column) -%}
    {{ return(adapter.dispatch('array_column', 'imdb_elt')(column)) }}
{%- endmacro %}

{% macro default__array_column(column) -%}
    {{ column }}
{%- endmacro %}

{% macro redshift__array_column(column) -%}
    {%- if env_var('REDSHIFT_STAGING', 'copy') == 'spectrum' -%}
        json_parse({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{% macro spectrum_session() -%}
    {%- if target.type == 'redshift' and env_var('REDSHIFT_STAGING', 'copy') == 'spectrum' -%}
        set json_serialization_enable to true
    {%- endif -%}
{%- endmacro %}
