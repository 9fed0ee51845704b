{#
    clean_text: trim a text value including U+00A0 (no-break space), which ends 4,935 of the
    Kaggle titles, and turn the empty string into null.
#}
{% macro clean_text(expression) -%}
    nullif(trim(replace({{ expression }}, {{ imdb_elt.nbsp() }}, ' ')), '')
{%- endmacro %}

{% macro nbsp() -%}
    {{ return(adapter.dispatch('nbsp', 'imdb_elt')()) }}
{%- endmacro %}

{% macro default__nbsp() -%}
    chr(160)
{%- endmacro %}

{% macro redshift__nbsp() -%}
    {#- Redshift's chr() is ASCII only; a literal U+00A0 is portable UTF-8. -#}
    '{{ "\u00a0" }}'
{%- endmacro %}
