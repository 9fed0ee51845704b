{#
    Write-audit-publish, the publish step.

    `dbt build` builds every mart into the audit schema (IMDB_AUDIT_SCHEMA, default marts_audit)
    and tests it there. Only if the build passed does the runner call

        dbt run-operation publish_marts

    which copies every mart into the published schema (IMDB_MARTS_SCHEMA, default marts) in ONE
    transaction: readers see either all the old marts or all the new ones, and a failed build
    (which never reaches this step) leaves the published marts exactly as they were.

    The copy is a full replace per table, inside the transaction:
    - PostgreSQL: a mart with the same columns is refreshed in place (delete + insert): readers
      never wait, and a query that started before the commit reads the old rows to its end.
      A new or changed mart is copied under another name and swapped in by rename (see
      postgres__publish_statements).
    - DuckDB: the audited table itself is published, without a copy (duckdb__publish_statements):
      it is renamed in the audit schema and both schemas get a view of it.
    - Redshift: drop + create (LIKE keeps the audit table's dist and sort keys) + insert; DDL
      runs in the transaction block too.
    When IMDB_ANALYST_ROLE is set (PostgreSQL/Redshift), select is granted to it in the same
    transaction, so the new tables carry the grants the old ones had.

    Only production publishes (IMDB_ENV=prod, set by the pipeline and the DAG): a development
    build lives in the person's own schemas and is never published.

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
    {%- set pairs = [] -%}
    {%- for name in names -%}
        {%- set source_relation = adapter.get_relation(database=target.database, schema=audit_schema, identifier=name) -%}
        {%- if source_relation is none -%}
            {{ exceptions.raise_compiler_error("publish_marts: " ~ audit_schema ~ "." ~ name ~ " does not exist; run dbt build first") }}
        {%- endif -%}
        {%- set target_relation = api.Relation.create(database=target.database, schema=publish_schema, identifier=name, type='table') -%}
        {%- do pairs.append((source_relation, target_relation)) -%}
    {%- endfor -%}
    {%- set statements = imdb_elt.publish_statements(pairs) -%}
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
{% macro published_mart_names(materializations=('table', 'incremental')) %}
    {%- set names = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name
              and node.fqn[1] == 'marts' and node.config.materialized in materializations -%}
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


{#- The statements that replace every (audit, published) pair, in order. -#}
{% macro publish_statements(pairs) %}
    {{ return(adapter.dispatch('publish_statements', 'imdb_elt')(pairs)) }}
{% endmacro %}

{% macro default__publish_statements(pairs) %}
    {%- set statements = [] -%}
    {%- for source_relation, target_relation in pairs -%}
        {%- do statements.extend(imdb_elt.copy_table_statements(source_relation, target_relation)) -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}

{#- DuckDB. Copying a mart costs as much as building it (fct_title_principals' 98M rows: 42 s to
    build, 42 s to copy), and DuckDB cannot move a table to another schema (no ALTER TABLE ... SET
    SCHEMA in 2.0). So the audited table itself is published: marts_audit.<name> is renamed to
    marts_audit.<name>__published (the one it replaces is dropped), and both marts.<name> and
    marts_audit.<name> become views of it. The next build replaces the view marts_audit.<name> with
    a new table and never touches <name>__published, so readers of marts.<name> see what was
    published until the next publish, whatever that build does. One writer per file: no reader is
    in the middle of the transaction.
    An incremental mart is copied instead: its next run adds to its table in the audit schema. -#}
{% macro duckdb__publish_statements(pairs) %}
    {%- set incremental = imdb_elt.published_mart_names(['incremental']) -%}
    {%- set statements = [] -%}
    {%- for source_relation, target_relation in pairs -%}
        {%- set name = target_relation.identifier -%}
        {%- set existing = adapter.get_relation(target_relation.database, target_relation.schema, name) -%}
        {%- if name in incremental -%}
            {%- if existing is not none and existing.type == 'view' -%}
                {%- do statements.append('drop view ' ~ target_relation) -%}
            {%- endif -%}
            {%- do statements.append('create or replace table ' ~ target_relation ~ ' as select * from ' ~ source_relation) -%}
        {%- else -%}
            {%- set published = source_relation.incorporate(path={'identifier': name ~ '__published'}) -%}
            {#- A view in the audit schema: this build did not rebuild the mart, it is published already. -#}
            {%- if source_relation.type != 'view' -%}
                {%- do statements.extend([
                    'drop table if exists ' ~ published,
                    'alter table ' ~ source_relation ~ ' rename to ' ~ adapter.quote(name ~ '__published'),
                    'create view ' ~ source_relation ~ ' as select * from ' ~ published,
                ]) -%}
            {%- endif -%}
            {%- if existing is not none and existing.type != 'view' -%}
                {%- do statements.append('drop table ' ~ target_relation) -%}
            {%- endif -%}
            {%- do statements.append('create or replace view ' ~ target_relation ~ ' as select * from ' ~ published) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements) }}
{% endmacro %}

{#- Redshift (which dispatch would otherwise send to postgres__): no DO blocks, no NOWAIT. -#}
{% macro redshift__publish_statements(pairs) %}
    {{ return(imdb_elt.default__publish_statements(pairs)) }}
{% endmacro %}

{#- PostgreSQL. A mart whose columns did not change is refreshed in place: delete every row,
    insert the new ones. That is MVCC at its plainest: no lock a reader waits for, no deadlock,
    a query or a repeatable-read transaction that started before the commit reads the old rows to
    its end, anything after reads the new ones, and the table keeps its grants and the analysts'
    views over it. (Dropping or renaming a live table instead shows an empty table to a
    repeatable-read transaction that began earlier, and makes readers queue behind the publish.)
    A new mart, or one whose columns changed, is copied under another name and swapped in by
    rename, after every such live mart is locked (postgres_lock_marts); the old table is dropped
    with cascade, so analysts' views over it must not block the publish. -#}
{% macro postgres__publish_statements(pairs) %}
    {%- set copies, refreshes, swaps, live = [], [], [], [] -%}
    {%- for source_relation, target_relation in pairs -%}
        {%- set name = target_relation.identifier -%}
        {%- set existing = adapter.get_relation(target_relation.database, target_relation.schema, name) -%}
        {%- set columns = adapter.get_columns_in_relation(source_relation) -%}
        {%- set same = existing is not none and imdb_elt.column_signature(columns)
                       == imdb_elt.column_signature(adapter.get_columns_in_relation(existing)) -%}
        {%- if same -%}
            {%- set names = [] -%}
            {%- for column in columns -%}{%- do names.append(adapter.quote(column.name)) -%}{%- endfor -%}
            {%- do refreshes.extend([
                'delete from ' ~ target_relation,
                'insert into ' ~ target_relation ~ ' (' ~ names | join(', ') ~ ') select '
                    ~ names | join(', ') ~ ' from ' ~ source_relation,
            ]) -%}
        {%- else -%}
            {%- set staged = target_relation.incorporate(path={'identifier': name ~ '__publishing'}) -%}
            {%- do copies.extend([
                'drop table if exists ' ~ staged,
                'create table ' ~ staged ~ ' (like ' ~ source_relation ~ ' including all)',
                'insert into ' ~ staged ~ ' select * from ' ~ source_relation,
            ]) -%}
            {%- if existing is not none -%}
                {%- do live.append(target_relation) -%}
                {%- do swaps.extend([
                    'alter table ' ~ target_relation ~ ' rename to ' ~ adapter.quote(name ~ '__retired'),
                    'alter table ' ~ staged ~ ' rename to ' ~ adapter.quote(name),
                    'drop table ' ~ target_relation.incorporate(path={'identifier': name ~ '__retired'}) ~ ' cascade',
                ]) -%}
            {%- else -%}
                {%- do swaps.append('alter table ' ~ staged ~ ' rename to ' ~ adapter.quote(name)) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set locks = [imdb_elt.postgres_lock_marts(live)] if live else [] -%}
    {{ return(copies + refreshes + locks + swaps) }}
{% endmacro %}

{% macro column_signature(columns) %}
    {%- set signature = [] -%}
    {%- for column in columns -%}{%- do signature.append(column.name ~ ' ' ~ column.data_type) -%}{%- endfor -%}
    {{ return(signature) }}
{% endmacro %}

{#- Take an access exclusive lock on every live mart without ever waiting for one while holding
    another. A lock queue wait while holding some marts deadlocks with an analyst's transaction
    that holds one of the others and then reads one of ours, and PostgreSQL cancels one of the
    two. Here each attempt takes the locks with NOWAIT; when a reader holds one, the attempt is
    rolled back (releasing what it took) and the next one first waits, holding nothing, for that
    mart: the publish queues like any other session and new readers of that mart queue behind it. -#}
{% macro postgres_lock_marts(relations) %}
    {%- set names = [] -%}
    {%- for relation in relations -%}
        {%- do names.append("'" ~ relation ~ "'") -%}
    {%- endfor -%}
    {%- set block -%}
do $imdb_elt_publish$
declare
    marts text[] := array[{{ names | join(', ') }}];
    mart text;
    busy text;
begin
    loop
        begin
            if busy is not null then
                execute 'lock table ' || busy || ' in access exclusive mode';
            end if;
            foreach mart in array marts loop
                busy := mart;
                execute 'lock table ' || mart || ' in access exclusive mode nowait';
            end loop;
            exit;
        exception when lock_not_available then
            null;
        end;
    end loop;
end
$imdb_elt_publish$
    {%- endset -%}
    {{ return(block) }}
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

{% macro redshift__copy_table_statements(source_relation, target_relation) %}
    {#- Drop with cascade: analysts' views over a mart must not block the publish. Redshift's
        LIKE takes only INCLUDING/EXCLUDING DEFAULTS (it rejects INCLUDING ALL) and copies the
        dist and sort keys by itself. -#}
    {{ return([
        'drop table if exists ' ~ target_relation ~ ' cascade',
        'create table ' ~ target_relation ~ ' (like ' ~ source_relation ~ ')',
        'insert into ' ~ target_relation ~ ' select * from ' ~ source_relation,
    ]) }}
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
