{#- Every name from configuration passes here before it is rendered into SQL.
    Mirrors prism_mmm/identifiers.py: lowercase snake_case, not a reserved word. -#}
{% macro prism_safe_identifier(name, what='column', fix='Fix prism.yml (data.channels / data.controls / data.rename).') %}
  {%- set reserved = ['select', 'from', 'where', 'table', 'drop', 'insert', 'delete', 'update',
      'order', 'group', 'by', 'union', 'join', 'and', 'or', 'not', 'null', 'true', 'false',
      'week_start_date', 'kpi', 'split', 'trend', 'is_anomaly', 'is_known_issue'] -%}
  {%- if name is not string or not modules.re.match('^[a-z_][a-z0-9_]{0,62}$', name) or name in reserved -%}
    {{ exceptions.raise_compiler_error("unsafe " ~ what ~ " name " ~ (name | string | tojson) ~ ": names must be lowercase snake_case (letters, digits, underscores; not starting with a digit) and not a reserved word. " ~ fix) }}
  {%- endif -%}
  {{ return(name) }}
{% endmacro %}

{% macro prism_channels() %}
  {%- set names = var('channels') -%}
  {%- for name in names %}{% do prism_safe_identifier(name, 'channel') %}{% endfor -%}
  {{ return(names) }}
{% endmacro %}

{% macro prism_controls() %}
  {%- set names = var('controls') -%}
  {%- for name in names %}{% do prism_safe_identifier(name, 'control') %}{% endfor -%}
  {{ return(names) }}
{% endmacro %}

{#- The fitted models, from the model registry via var models (PrismConfig.dbt_vars). -#}
{% macro prism_models() %}
  {%- set names = var('models') -%}
  {%- set fix = 'Model names come from the registry in prism_mmm/models/__init__.py (var models).' -%}
  {%- for name in names %}{% do prism_safe_identifier(name, 'model', fix) %}{% endfor -%}
  {{ return(names) }}
{% endmacro %}

{#- The raw (source) column for a safe name: the inverse of the rename map, quoted. -#}
{% macro prism_raw_column(safe_name) %}
  {%- set ns = namespace(raw=safe_name) -%}
  {%- for raw, renamed in var('rename').items() -%}
    {%- if renamed == safe_name %}{% set ns.raw = raw %}{% endif -%}
  {%- endfor -%}
  {{ return(adapter.quote(ns.raw | replace('"', '""'))) }}
{% endmacro %}

{#- A SQL string literal with embedded quotes escaped. -#}
{% macro prism_sql_string(value) %}
  {{- return("'" ~ (value | string | replace("'", "''")) ~ "'") -}}
{% endmacro %}

{#- The input relation: the bundled seed, or a user CSV that `prism build` validated first. -#}
{% macro prism_input_relation() %}
  {%- if var('input_source') == 'csv' -%}
    {%- if not var('input_csv') -%}
      {{ exceptions.raise_compiler_error("input_source is 'csv' but var input_csv is empty") }}
    {%- endif -%}
    {{ return("read_csv(" ~ prism_sql_string(var('input_csv')) ~ ", header = true, all_varchar = true)") }}
  {%- else -%}
    {{ return(ref('conjura_apparel_weekly')) }}
  {%- endif -%}
{% endmacro %}
