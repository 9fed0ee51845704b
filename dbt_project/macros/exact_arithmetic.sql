{#
    Exact arithmetic, the same on every adapter.

    Floating-point sums depend on the order rows arrive in, which varies between loads (threads,
    row groups), and DuckDB's decimal division returns a double. Marts that divide therefore
    work in integers scaled by a power of ten and round once, half up, with integer division,
    which DuckDB, PostgreSQL and Redshift compute identically.
#}

{#- a // b for integers: DuckDB's `/` is floating-point division, its `//` the integer one. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'imdb_elt')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__integer_divide(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) / cast({{ denominator }} as bigint))
{%- endmacro %}

{% macro duckdb__integer_divide(numerator, denominator) -%}
    (cast({{ numerator }} as bigint) // cast({{ denominator }} as bigint))
{%- endmacro %}


{#- numerator / denominator rounded half up to an integer; both non-negative, denominator > 0. -#}
{% macro divide_round_half_up(numerator, denominator) -%}
    {{ imdb_elt.integer_divide('2 * (' ~ numerator ~ ') + (' ~ denominator ~ ')', '2 * (' ~ denominator ~ ')') }}
{%- endmacro %}


{#- An integer count of 10^-scale units as numeric(precision, scale): a product, never a division. -#}
{% macro from_scaled_integer(expression, scale, precision) -%}
    cast(cast({{ expression }} as numeric(18, 0)) * {{ '%.*f' | format(scale, 10 ** -scale) }} as numeric({{ precision }}, {{ scale }}))
{%- endmacro %}
