{#
    Fails once per non-null year later than the current year (UTC date of the run). A
    plausibility check: IMDb lists announced titles, so it is used with severity warn and its
    count goes into the run report.
#}
{% test not_after_current_year(model, column_name) %}

select {{ column_name }} as future_year
from {{ model }}
where {{ column_name }} > extract(year from current_date)

{% endtest %}
