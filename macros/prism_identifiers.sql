{#- Every name from configuration passes here before it is rendered into SQL.
    Mirrors prism_mmm/identifiers.py: lowercase snake_case, not a reserved word. -#}
{% macro prism_safe_identifier(name, what='column', fix='Fix prism.yml (data.channels / data.controls / data.rename).') %}
  {%- set reserved = ['select', 'from', 'where', 'table', 'drop', 'insert', 'delete', 'update',
      'order', 'group', 'by', 'union', 'join', 'and', 'or', 'not', 'null', 'true', 'false',
      'week_start_date', 'kpi', 'split', 'trend', 'is_anomaly', 'is_known_issue', 'series_id'] -%}
  {%- if name is not string or not modules.re.match('^[a-z_][a-z0-9_]{0,62}$', name) or name in reserved -%}
    {{ exceptions.raise_compiler_error("unsafe " ~ what ~ " name " ~ (name | string | tojson) ~ ": names must be lowercase snake_case (letters, digits, underscores; not starting with a digit) and not a reserved word. " ~ fix) }}
  {%- endif -%}
  {{ return(name) }}
{% endmacro %}

{#- A SQL string literal with embedded quotes escaped. -#}
{% macro prism_sql_string(value) %}
  {{- return("'" ~ (value | string | replace("'", "''")) ~ "'") -}}
{% endmacro %}
