{#
    Fails once per row where `expression` is false (rows where it is null pass: a missing value
    is not a contradiction). Used with severity warn for plausibility checks, e.g.
    `death_year >= birth_year`.
#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
