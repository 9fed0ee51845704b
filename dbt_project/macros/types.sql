{#
    String type for contracts and casts. Redshift's bare varchar/text means varchar(256), which
    some IMDb titles and joined lists exceed, so Redshift gets the maximum width.
#}
{% macro string_type() -%}
    {{ return(adapter.dispatch('string_type', 'imdb_elt')()) }}
{%- endmacro %}

{% macro default__string_type() -%}
    varchar
{%- endmacro %}

{% macro redshift__string_type() -%}
    varchar(65535)
{%- endmacro %}


{#
    dbt's unit-test fixtures cast every column with safe_cast(value, <type the warehouse
    reports>). PostgreSQL reports array columns as plain "ARRAY", which is not a castable type;
    every array in this project is text[], so cast to that.
#}
{% macro postgres__safe_cast(field, type) -%}
    {%- if type | lower == 'array' -%}
        cast({{ field }} as text[])
    {%- else -%}
        cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
