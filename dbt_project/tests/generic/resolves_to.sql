{#
    A reference that may dangle: warns with the number of rows of `model` whose `column_name`
    matches no `field` of `to` (for the rating history, of its current ratings), like dbt's
    relationships test, but reads that number from `dangling_references` instead of joining
    again. Each reference is counted once, by its child's count model; relationships tests
    repeated the same joins (23.7 s of the 225 s dbt build at SF=1). A reference the mart does
    not count is a compile error, never a silent pass: add it to `dangling_reference_checks()`.
#}
{% test resolves_to(model, column_name, to, field) %}
{{ config(severity='warn', fail_calc='coalesce(sum(dangling_rows), 0)') }}

{%- set reference = model.identifier ~ '.' ~ column_name -%}
{%- set referenced = to.identifier ~ '.' ~ field -%}
{%- if execute -%}
    {%- set counted = [] -%}
    {%- for child, child_column, parent, parent_column in imdb_elt.dangling_reference_checks() -%}
        {%- do counted.append(child ~ '.' ~ child_column ~ ' -> ' ~ parent ~ '.' ~ parent_column) -%}
    {%- endfor -%}
    {%- if (reference ~ ' -> ' ~ referenced) not in counted -%}
        {{ exceptions.raise_compiler_error("resolves_to: dangling_references does not count " ~ reference ~ " -> " ~ referenced ~ "; add it to dangling_reference_checks() (macros/dangling_references.sql)") }}
    {%- endif -%}
{%- endif %}

select dangling_rows
from {{ ref('dangling_references') }}
where reference = '{{ reference }}'
  and referenced = '{{ referenced }}'
  and dangling_rows > 0

{% endtest %}
