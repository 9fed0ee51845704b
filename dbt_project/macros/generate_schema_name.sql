{#
    Production and development are two ways to run (see profiles.yml).

    Production (IMDB_ENV=prod: the pipeline and the DAG) uses the custom schema names as-is
    (staging, intermediate, IMDB_AUDIT_SCHEMA), so the warehouse layout is the same on every
    target and the published tables are simply marts.<name>.

    Every other invocation is a development build and follows dbt's convention,
    <target.schema>_<custom>: the profile's schema is the person's name (IMDB_DEV_SCHEMA, by
    default dbt_<user>), so an analyst's `dbt build` writes dbt_ann_staging, dbt_ann_intermediate
    and dbt_ann_marts, never a schema the hourly run builds, audits or publishes.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif imdb_elt.is_production() -%}
        {{ imdb_elt.safe_identifier(custom_schema_name | trim, 'the schema name ' ~ (custom_schema_name | trim)) }}
    {%- else -%}
        {%- set name = target.schema ~ '_' ~ (custom_schema_name | trim) -%}
        {{ imdb_elt.safe_identifier(name, 'the development schema ' ~ name ~ ' (IMDB_DEV_SCHEMA)') }}
    {%- endif -%}
{%- endmacro %}


{#- A production build: IMDB_ENV=prod, which imdb_elt/config.py::dbt_environment sets for the
    pipeline and the DAG (dbt_project.yml and profiles.yml test the same expression, as macros
    are not available there). -#}
{% macro is_production() %}
    {{ return(env_var('IMDB_ENV', '') | trim | lower == 'prod') }}
{% endmacro %}
