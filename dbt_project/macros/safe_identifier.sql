{#
    Identifiers that come from configuration (schema and role names in environment variables)
    reach SQL text; quoting alone is not enough against a value holding a quote. Only plain
    identifiers pass, the same rule as imdb_elt/warehouse/identifiers.py.
#}
{% macro safe_identifier(value, setting) -%}
    {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]{0,62}$', value) -%}
        {{ exceptions.raise_compiler_error(setting ~ " must be a plain identifier (letters, digits, underscore; at most 63 characters)") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
