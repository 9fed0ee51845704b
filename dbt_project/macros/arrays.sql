{#
    Array handling, one home for every adapter.

    The raw tables hold IMDb's multi-valued fields as native arrays: DuckDB lists (over
    Parquet), PostgreSQL text[] (COPY) and Redshift SUPER (COPY ... FORMAT AS PARQUET).
    Models explode them with these three macros so no model carries adapter-specific SQL:

        select t.tconst,
               {{ array_element('t', 'genres', 'g') }} as genre,
               {{ array_position('t', 'genres', 'g_pos') }} as genre_position
        from source_rel as t
        {{ unnest_array('t', 'genres', 'g', 'g_pos') }}

    A null or empty array yields no rows, positions are 1-based. PostgreSQL joins a lateral
    unnest; Redshift navigates the SUPER array (PartiQL). DuckDB unnests in the select list: it
    plans a lateral unnest as a join against every outer row, which ran out of memory at SF=1
    (12.3M titles in 2 GB), where the select-list form needs no join. `first_occurrences`
    then keeps a repeated element once.
#}

{% macro unnest_array(relation_alias, column, element_alias, position_alias) -%}
    {{ return(adapter.dispatch('unnest_array', 'imdb_elt')(relation_alias, column, element_alias, position_alias)) }}
{%- endmacro %}

{% macro default__unnest_array(relation_alias, column, element_alias, position_alias) -%}
    cross join lateral unnest({{ relation_alias }}.{{ column }}) with ordinality
        as {{ element_alias }}__u({{ element_alias }}, {{ position_alias }})
{%- endmacro %}

{% macro duckdb__unnest_array(relation_alias, column, element_alias, position_alias) -%}
    {#- array_element and array_position unnest in the select list. -#}
{%- endmacro %}

{% macro redshift__unnest_array(relation_alias, column, element_alias, position_alias) -%}
    {#- PartiQL navigation: the comma join over a SUPER array unnests it; AT gives the 0-based index. -#}
    , {{ relation_alias }}.{{ column }} as {{ element_alias }} at {{ position_alias }}
{%- endmacro %}


{% macro array_element(relation_alias, column, element_alias) -%}
    {{ return(adapter.dispatch('array_element', 'imdb_elt')(relation_alias, column, element_alias)) }}
{%- endmacro %}

{% macro default__array_element(relation_alias, column, element_alias) -%}
    {{ element_alias }}
{%- endmacro %}

{% macro duckdb__array_element(relation_alias, column, element_alias) -%}
    unnest({{ relation_alias }}.{{ column }})
{%- endmacro %}

{% macro redshift__array_element(relation_alias, column, element_alias) -%}
    {#- SUPER scalars must be cast before comparison or joins with varchar columns. -#}
    cast({{ element_alias }} as varchar(65535))
{%- endmacro %}


{% macro array_position(relation_alias, column, position_alias) -%}
    {{ return(adapter.dispatch('array_position', 'imdb_elt')(relation_alias, column, position_alias)) }}
{%- endmacro %}

{% macro default__array_position(relation_alias, column, position_alias) -%}
    cast({{ position_alias }} as integer)
{%- endmacro %}

{% macro duckdb__array_position(relation_alias, column, position_alias) -%}
    {#- Zipped with the unnest of the same list in the same select list: 1-based indexes. -#}
    cast(generate_subscripts({{ relation_alias }}.{{ column }}, 1) as integer)
{%- endmacro %}

{% macro redshift__array_position(relation_alias, column, position_alias) -%}
    cast({{ position_alias }} as integer) + 1
{%- endmacro %}



{#
    An exploded array's elements kept once each, at their first position, nulls dropped:

        exploded as (
            select t.tconst, t.genres,
                   {{ array_element('t', 'genres', 'g') }} as genre,
                   {{ array_position('t', 'genres', 'g_pos') }} as genre_position
            from titles as t
            {{ unnest_array('t', 'genres', 'g', 'g_pos') }}
        ),
        deduped as ({{ first_occurrences('exploded', ['tconst'], 'genres', 'genre', 'genre_position') }})

    `exploded` carries the array beside its elements. DuckDB and PostgreSQL keep the rows whose
    position is the element's first in the array (array_position): a filter in the row, no
    aggregate, so a reader's filter on the key still reaches the unnest. Redshift has no such
    function for SUPER: there the rows are grouped by key and element, keeping the lowest
    position. At SF=1 (23.4M genres) DuckDB wrote int_title_genres in 8.7 s grouped, 4.3 s
    filtered.
#}
{% macro first_occurrences(relation, key, array, element, position) -%}
    {{ return(adapter.dispatch('first_occurrences', 'imdb_elt')(relation, key, array, element, position)) }}
{%- endmacro %}

{% macro default__first_occurrences(relation, key, array, element, position) -%}
    select
        {%- for column in key %}
        {{ column }},
        {%- endfor %}
        {{ element }},
        {{ position }}
    from {{ relation }}
    where {{ element }} is not null
        and {{ position }} = array_position({{ array }}, {{ element }})
{%- endmacro %}

{% macro redshift__first_occurrences(relation, key, array, element, position) -%}
    select
        {%- for column in key %}
        {{ column }},
        {%- endfor %}
        {{ element }},
        min({{ position }}) as {{ position }}
    from {{ relation }}
    where {{ element }} is not null
    group by {% for column in key %}{{ column }}, {% endfor %}{{ element }}
{%- endmacro %}


{#
    array_column: a raw array column as staging selects it. With REDSHIFT_STAGING=spectrum the
    raw tables are Spectrum external tables, whose nested columns a query cannot return; the
    staging pre-hook (spectrum_session) serialises them to JSON text, parsed back into SUPER
    here, so everything downstream sees the same SUPER arrays as after COPY.
#}
{% macro array_column(column) -%}
    {{ return(adapter.dispatch('array_column', 'imdb_elt')(column)) }}
{%- endmacro %}

{% macro default__array_column(column) -%}
    {{ column }}
{%- endmacro %}

{% macro redshift__array_column(column) -%}
    {%- if env_var('REDSHIFT_STAGING', 'copy') == 'spectrum' -%}
        json_parse({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{% macro spectrum_session() -%}
    {%- if target.type == 'redshift' and env_var('REDSHIFT_STAGING', 'copy') == 'spectrum' -%}
        set json_serialization_enable to true
    {%- endif -%}
{%- endmacro %}


{#
    A relation's rows with some array columns joined into text, in array order:

        {{ imdb_elt.select_joining_arrays('akas', key=['tconst', 'ordering'],
                                          columns=['title', 'snapshot_id'],
                                          arrays={'types': ',', 'attributes': ','}) }}

    selects key + columns + one text column per array (same name). A null or empty array gives
    null. The processed arrays never hold null elements (Spark splits text or parses JSON
    strings), so "joined in order" is the whole contract. DuckDB and PostgreSQL join the array
    in the row (array_to_string); Redshift has no such function for SUPER, so there each array
    is unnested with its 0-based index and re-aggregated with an ordered listagg.
#}
{% macro select_joining_arrays(relation, key, columns, arrays) -%}
    {{ return(adapter.dispatch('select_joining_arrays', 'imdb_elt')(relation, key, columns, arrays)) }}
{%- endmacro %}

{% macro default__select_joining_arrays(relation, key, columns, arrays) -%}
    select
        {%- for column in key + columns %}
        {{ column }},
        {%- endfor %}
        {%- for array, separator in arrays.items() %}
        case
            when array_length({{ array }}, 1) > 0 then array_to_string({{ array }}, '{{ separator }}')
        end as {{ array }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}

{% macro redshift__select_joining_arrays(relation, key, columns, arrays) -%}
    select
        {%- for column in key + columns %}
        base.{{ column }},
        {%- endfor %}
        {%- for array in arrays %}
        {{ array }}__joined.{{ array }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }} as base
    {%- for array, separator in arrays.items() %}
    left join (
        select
            {%- for column in key %}
            r.{{ column }},
            {%- endfor %}
            listagg(cast(e as varchar(65535)), '{{ separator }}') within group (order by i) as {{ array }}
        from {{ relation }} as r, r.{{ array }} as e at i
        group by {% for column in key %}r.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    ) as {{ array }}__joined
        on {% for column in key %}base.{{ column }} = {{ array }}__joined.{{ column }}{{ ' and ' if not loop.last }}{% endfor %}
    {%- endfor %}
{%- endmacro %}


{#
    The titles with one more column, genres_text: each title's distinct genres joined with ','
    in alphabetical order, null for none:

        with_genres as ({{ imdb_elt.titles_with_genres_text('titles', ref('int_title_genres')) }})

    `title_genres` holds a title's distinct non-null genres one per row (int_title_genres), and
    an ordered listagg over it, joined back to the titles, is the portable form. DuckDB reads
    the same text from the array in the title's own row, with no aggregate and no join: at SF=1
    (12.3M titles) dim_titles took 28.5 s with the ordered aggregate, 20.3 s with the array
    sorted in a relation joined back on tconst, and 13.0 s with it sorted in the row.
#}
{% macro titles_with_genres_text(titles, title_genres) -%}
    {{ return(adapter.dispatch('titles_with_genres_text', 'imdb_elt')(titles, title_genres)) }}
{%- endmacro %}

{% macro default__titles_with_genres_text(titles, title_genres) -%}
    select
        {{ titles }}.*,
        genres_text.genres_text

    from {{ titles }}
    left join (
        select
            tconst,
            {{ dbt.listagg('genre', "','", 'order by genre') }} as genres_text

        from {{ title_genres }}
        group by tconst
    ) as genres_text
        on {{ titles }}.tconst = genres_text.tconst
{%- endmacro %}

{% macro duckdb__titles_with_genres_text(titles, title_genres) -%}
    select
        *,
        {#- list_distinct also drops nulls. -#}
        case
            when len(list_distinct(genres)) > 0 then array_to_string(list_sort(list_distinct(genres)), ',')
        end as genres_text

    from {{ titles }}
{%- endmacro %}
