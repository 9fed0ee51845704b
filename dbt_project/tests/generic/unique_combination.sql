{#
    Composite key check: fails once per combination of `columns` that occurs more than once
    (nulls compare equal, as in a GROUP BY).
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
