{#- The warehouse source ('spend' or 'kpi') named in prism.yml data.warehouse, checked: the
    relation exists and has the ``required`` columns. Returns {relation, columns}. -#}
{% macro prism_warehouse_relation(which, required) %}
  {%- set setting = 'data.warehouse.' ~ which ~ '_relation' -%}
  {%- set name = prism_setting('warehouse')[which ~ '_relation'] -%}
  {#- Mirrors prism_mmm/config.py RELATION_NAME: the parts are quoted, never pasted. -#}
  {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*([.][A-Za-z_][A-Za-z0-9_$]*){0,2}$', name) -%}
    {{ exceptions.raise_compiler_error("unsafe relation name " ~ (name | tojson) ~ " in " ~ setting) }}
  {%- endif -%}
  {%- set parts = name.split('.') -%}
  {%- set relation = adapter.get_relation(
      database=(parts[0] if parts | length == 3 else target.database),
      schema=(parts[-2] if parts | length >= 2 else target.schema),
      identifier=parts[-1]) -%}
  {%- if relation is none -%}
    {{ exceptions.raise_compiler_error("relation " ~ name ~ " (prism.yml " ~ setting ~ ") is not in the warehouse: load it (e.g. run Fivetran's package models) before building, or fix the name") }}
  {%- endif -%}
  {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
  {%- set missing = [] -%}
  {%- for column in required if column | lower not in columns %}{% do missing.append(column) %}{% endfor -%}
  {%- if missing -%}
    {{ exceptions.raise_compiler_error("relation " ~ name ~ " (prism.yml " ~ setting ~ ") lacks column(s) " ~ (missing | join(', ')) ~ "; it has: " ~ (columns | join(', '))) }}
  {%- endif -%}
  {{ return({'relation': relation, 'columns': columns}) }}
{% endmacro %}

{#- The first day of the week that ``day_expression`` (a date) falls in, for prism.yml
    data.warehouse.week_start. -#}
{% macro prism_week_start(day_expression) %}
  {%- set warehouse = prism_setting('warehouse') -%}
  {%- set weekdays = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] -%}
  {%- set first = weekdays.index(warehouse['week_start']) + 1 if warehouse else 1 -%}
  {{- return(day_expression ~ " - cast((isodow(" ~ day_expression ~ ") - " ~ first ~ " + 7) % 7 as integer)") -}}
{% endmacro %}

{#- The columns the series rules read in the warehouse source ('spend' or 'kpi'). -#}
{% macro prism_warehouse_series_columns(which) %}
  {%- set columns = [] -%}
  {%- for rule in prism_setting('warehouse_series') -%}
    {%- for column in rule[which ~ '_where'] if column not in columns %}{% do columns.append(column) %}{% endfor -%}
  {%- endfor -%}
  {{ return(columns) }}
{% endmacro %}

{#- The series_id of a row of the warehouse source ('spend' or 'kpi'): the first rule of
    data.warehouse.series_mapping whose columns all hold one of its values (null when none
    does), or the dataset when the source is one series. -#}
{% macro prism_warehouse_series_id(which) %}
  {%- set rules = prism_setting('warehouse_series') -%}
  {%- if not rules -%}
    {{- prism_sql_string(prism_setting('dataset')) -}}
  {%- else -%}
    case
    {%- for rule in rules %}
        when {% for column, values in rule[which ~ '_where'].items() -%}
            {{ 'and ' if not loop.first }}cast({{ prism_safe_identifier(column, 'series rule column') }} as varchar) in (
                {%- for value in values %}{{ prism_sql_string(value) }}{{ ', ' if not loop.last }}{% endfor %}) {% endfor -%}
            then {{ prism_sql_string(rule['series_id']) }}
    {%- endfor %}
    end
  {%- endif -%}
{% endmacro %}
