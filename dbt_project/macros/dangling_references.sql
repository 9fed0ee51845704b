{#
    The references of the marts that may dangle (IMDb's dumps are not referentially closed), as
    (child CTE, child model, column, parent model, column). `dangling_references` counts each
    once; the `resolves_to` test on each column reads that count, and refuses a column this list
    does not hold.
#}
{% macro dangling_reference_checks() %}
    {{ return([
        ('current_ratings', 'fct_title_ratings', 'tconst', 'dim_titles', 'tconst'),
        ('principals', 'fct_title_principals', 'tconst', 'dim_titles', 'tconst'),
        ('principals', 'fct_title_principals', 'nconst', 'dim_people', 'nconst'),
        ('episodes', 'fct_episodes', 'tconst', 'dim_titles', 'tconst'),
        ('episodes', 'fct_episodes', 'parent_tconst', 'dim_titles', 'tconst'),
        ('akas', 'dim_title_akas', 'tconst', 'dim_titles', 'tconst'),
        ('title_genres', 'bridge_title_genres', 'tconst', 'dim_titles', 'tconst'),
    ]) }}
{% endmacro %}
