{#- Our own generic data tests (dbt packages cannot be installed offline). Each returns the
    failing rows, so a failure message shows the offending weeks/values. -#}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select {{ column_name }} as failing_value, *
from {{ model }}
where {{ column_name }} is not null and (
  false
  {%- if min_value is not none %} or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}{% endif %}
  {%- if max_value is not none %} or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}{% endif %}
)
{% endtest %}

{% test sequential_weeks(model, column_name, partition_by=none) %}
with ordered as (
  select
    {{ column_name }} as week_start_date,
    lag({{ column_name }}) over (
      {% if partition_by %}partition by {{ partition_by }}{% endif %} order by {{ column_name }}
    ) as previous_week
  from {{ model }}
)
select week_start_date, previous_week, datediff('day', previous_week, week_start_date) as gap_days
from ordered
where previous_week is not null and datediff('day', previous_week, week_start_date) <> 7
{% endtest %}

{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test not_constant(model, column_name, group_by=none) %}
select {% if group_by %}{{ group_by | join(', ') }}, {% endif %}count(distinct {{ column_name }}) as n_distinct
from {{ model }}
{% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
having count(distinct {{ column_name }}) < 2
{% endtest %}

{% test expression_is_true(model, expression, row_condition=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% if row_condition %}and ({{ row_condition }}){% endif %}
{% endtest %}
