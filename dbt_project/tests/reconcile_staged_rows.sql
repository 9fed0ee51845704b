{#
    Reconciliation: rows staged in raw.<dataset> must equal the rows the Spark run report says
    were written, as {dataset: rows}: var expected_rows (the Airflow DAG, a manual run) or else
    the JSON in env var IMDB_EXPECTED_ROWS (the local runner). A var that changes every run
    makes dbt re-parse the whole project (~9 s); a changed env var re-parses only this file.

    Without figures the check has nothing to compare. A production build (IMDB_ENV=prod, set
    by the runner and the DAG) then fails: figures that stop arriving must not pass unseen.
    An analyst's own build gets a warning instead.

    The dataset -> source map below is checked against imdb_elt/catalog.py by
    tests/dbt/test_rules_match_catalog.py (every dataset, in catalogue order).
#}
{%- set expected = var('expected_rows', none) -%}
{%- if expected is none -%}
    {%- set expected = fromjson(env_var('IMDB_EXPECTED_ROWS', '{}')) -%}
{%- endif -%}
{%- set production = imdb_elt.is_production() -%}
{%- set no_figures = expected | length == 0 -%}
{{ config(severity=('warn' if no_figures and not production else 'error')) }}
{#- Every source is referenced unconditionally so dbt records the dependencies at parse time. -#}
{%- set relations = {
    'title_basics': source('imdb', 'title_basics'),
    'title_ratings': source('imdb', 'title_ratings'),
    'title_crew': source('imdb', 'title_crew'),
    'title_episode': source('imdb', 'title_episode'),
    'title_principals': source('imdb', 'title_principals'),
    'name_basics': source('imdb', 'name_basics'),
    'title_akas': source('imdb', 'title_akas'),
    'movie_metadata': source('kaggle', 'movie_metadata'),
} -%}

{% if no_figures %}
-- No figures were handed over: one row, so the build fails (prod) or warns (elsewhere).
select
    cast('no reconciliation figures: set var expected_rows or env IMDB_EXPECTED_ROWS'
        as {{ imdb_elt.string_type() }}) as dataset,
    cast(null as bigint) as expected_rows,
    cast(null as bigint) as staged_rows
{% else %}
with

counts as (
{% for dataset, rows in expected.items() %}
    {%- if dataset not in relations %}
        {{ exceptions.raise_compiler_error("expected_rows names an unknown dataset: " ~ dataset) }}
    {%- endif %}
    select
        cast('{{ dataset }}' as {{ imdb_elt.string_type() }}) as dataset,
        cast({{ rows | int }} as bigint) as expected_rows,
        (select count(*) from {{ relations[dataset] }}) as staged_rows
    {% if not loop.last %}union all{% endif %}
{% endfor %}
)

select * from counts
where expected_rows <> staged_rows
{% endif %}
