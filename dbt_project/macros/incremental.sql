{#
    is_incremental() asks the warehouse whether the model's table exists. An offline compile
    (`dbt compile --no-introspect --no-populate-cache`, used to check the Redshift SQL without
    a cluster) has no connection, so there this renders the incremental branch instead: the
    more complex SQL is the one worth checking.
#}
{% macro incremental_run() %}
    {%- if execute and not flags.INTROSPECT -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(is_incremental()) }}
{% endmacro %}
