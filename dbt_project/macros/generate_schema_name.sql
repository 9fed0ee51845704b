{#
    Custom schema names are used as-is (staging, intermediate, marts_audit) instead of dbt's
    default "<target_schema>_<custom>", so the warehouse layout is the same on every target and
    the published tables are simply marts.<name>.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ imdb_elt.safe_identifier(custom_schema_name | trim, 'the schema name ' ~ (custom_schema_name | trim)) }}
    {%- endif -%}
{%- endmacro %}
