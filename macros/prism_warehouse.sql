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
