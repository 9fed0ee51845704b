{#
    Write-audit-publish, the publish step.

    `dbt build` builds every mart into the audit schema (IMDB_AUDIT_SCHEMA, default marts_audit)
    and tests it there. Only if the build passed does the runner call

        dbt run-operation publish_marts

    which copies every mart into the published schema (IMDB_MARTS_SCHEMA, default marts) in ONE
    transaction: readers see either all the old marts or all the new ones, and a failed build
    (which never reaches this step) leaves the published marts exactly as they were.

    The copy is a full replace per table (drop + create + insert inside the transaction):
    DuckDB and PostgreSQL have transactional DDL; Redshift runs DDL in a transaction block too,
    and CREATE TABLE ... (LIKE ...) keeps the audit table's dist and sort keys.
    When IMDB_ANALYST_ROLE is set (PostgreSQL/Redshift), select is granted to it in the same
    transaction.

    `only` (a list of model names) publishes just the marts among them: the runner passes the
    models a selective build rebuilt (imdb_elt/build_state.py); the other marts are already
    equal in both schemas.
#}
{% macro publish_marts(dry_run=false, only=none) %}
    {%- if not imdb_elt.is_production() -%}
        {{ exceptions.raise_compiler_error("publish_marts only runs in production (IMDB_ENV=prod, which the pipeline and the DAG set). This is a development build: its marts stay in " ~ target.schema ~ "_marts and are never published.") }}
    {%- endif -%}
    {%- set audit_schema = imdb_elt.safe_identifier(env_var('IMDB_AUDIT_SCHEMA', 'marts_audit'), 'IMDB_AUDIT_SCHEMA') -%}
    {%- set publish_schema = imdb_elt.safe_identifier(env_var('IMDB_MARTS_SCHEMA', 'marts'), 'IMDB_MARTS_SCHEMA') -%}
    {%- if audit_schema == publish_schema -%}
        {{ exceptions.raise_compiler_error("IMDB_AUDIT_SCHEMA and IMDB_MARTS_SCHEMA must differ") }}
    {%- endif -%}

    {%- set names = imdb_elt.published_mart_names() -%}
    {%- if only is not none -%}
        {%- set names = names | select('in', only) | list -%}
    {%- endif -%}
    {%- set statements = [] -%}
    {%- for name in names -%}
        {%- set source_relation = adapter.get_relation(database=target.database, schema=audit_schema, identifier=name) -%}
        {%- if source_relation is none -%}
            {{ exceptions.raise_compiler_error("publish_marts: " ~ audit_schema ~ "." ~ name ~ " does not exist; run dbt build first") }}
        {%- endif -%}
        {%- set target_relation = api.Relation.create(database=target.database, schema=publish_schema, identifier=name, type='table') -%}
        {%- do statements.extend(imdb_elt.copy_table_statements(source_relation, target_relation)) -%}
    {%- endfor -%}
    {%- do statements.extend(imdb_elt.grant_statements(publish_schema, names)) -%}

    {%- set explicit = imdb_elt.explicit_transaction() -%}
    {%- set sql -%}
        {% if explicit %}begin;{% endif %}
        create schema if not exists {{ adapter.quote(publish_schema) }};
        {% for statement in statements -%}
        {{ statement }};
        {% endfor -%}
        {% if explicit %}commit;{% endif %}
    {%- endset -%}

    {%- if dry_run -%}
        {{ log(sql, info=true) }}
    {%- else -%}
        {%- do run_query(sql) -%}
        {%- if not explicit -%}{%- do adapter.commit() -%}{%- endif -%}
        {{ log("publish_marts: published " ~ names | length ~ " marts from " ~ audit_schema ~ " to " ~ publish_schema, info=true) }}
    {%- endif -%}
{% endmacro %}


{#- The marts: every table or incremental model under models/marts. -#}
{% macro published_mart_names() %}
    {%- set names = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name
              and node.fqn[1] == 'marts' and node.config.materialized in ('table', 'incremental') -%}
            {%- do names.append(node.alias) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{% endmacro %}


{#- PostgreSQL/Redshift: an explicit begin ... commit around the statements (a warning at most if
    dbt already opened one). dbt-duckdb always has a transaction open on its connection (a
    nested begin is an error), so there the statements run in it and dbt commits once. -#}
{% macro explicit_transaction() %}
    {{ return(adapter.dispatch('explicit_transaction', 'imdb_elt')()) }}
{% endmacro %}

{% macro default__explicit_transaction() %}
    {{ return(true) }}
{% endmacro %}

{% macro duckdb__explicit_transaction() %}
    {{ return(false) }}
{% endmacro %}


{% macro copy_table_statements(source_relation, target_relation) %}
    {{ return(adapter.dispatch('copy_table_statements', 'imdb_elt')(source_relation, target_relation)) }}
{% endmacro %}

{% macro default__copy_table_statements(source_relation, target_relation) %}
    {{ return([
        'drop table if exists ' ~ target_relation,
        'create table ' ~ target_relation ~ ' (like ' ~ source_relation ~ ')',
        'insert into ' ~ target_relation ~ ' select * from ' ~ source_relation,
    ]) }}
{% endmacro %}

{% macro postgres__copy_table_statements(source_relation, target_relation) %}
    {#- Drop with cascade: analysts' views over a mart must not block the publish. -#}
    {{ return([
        'drop table if exists ' ~ target_relation ~ ' cascade',
        'create table ' ~ target_relation ~ ' (like ' ~ source_relation ~ ' including all)',
        'insert into ' ~ target_relation ~ ' select * from ' ~ source_relation,
    ]) }}
{% endmacro %}

{% macro redshift__copy_table_statements(source_relation, target_relation) %}
    {#- As PostgreSQL's, but Redshift's LIKE takes only INCLUDING/EXCLUDING DEFAULTS (it rejects
        INCLUDING ALL) and copies the dist and sort keys by itself. -#}
    {{ return([
        'drop table if exists ' ~ target_relation ~ ' cascade',
        'create table ' ~ target_relation ~ ' (like ' ~ source_relation ~ ')',
        'insert into ' ~ target_relation ~ ' select * from ' ~ source_relation,
    ]) }}
{% endmacro %}

{% macro duckdb__copy_table_statements(source_relation, target_relation) %}
    {{ return(['create or replace table ' ~ target_relation ~ ' as select * from ' ~ source_relation]) }}
{% endmacro %}


{% macro grant_statements(schema, names) %}
    {%- set role = env_var('IMDB_ANALYST_ROLE', '') | trim -%}
    {%- if role == '' or target.type not in ('postgres', 'redshift') -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set role = imdb_elt.safe_identifier(role, 'IMDB_ANALYST_ROLE') -%}
    {%- set grantee = ('role ' if target.type == 'redshift' else '') ~ adapter.quote(role) -%}
    {%- set statements = ['grant usage on schema ' ~ adapter.quote(schema) ~ ' to ' ~ grantee] -%}
    {%- for name in names -%}
        {%- do statements.append('grant select on ' ~ adapter.quote(schema) ~ '.' ~ adapter.quote(name) ~ ' to ' ~ grantee) -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}
