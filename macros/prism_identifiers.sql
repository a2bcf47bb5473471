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

{#- The settings from prism.yml (model prism_settings, written by prism_mmm.config): every SQL
    model reads its configuration here, never from a var, so `dbt build` run directly builds
    what `prism build` builds. Read when the model runs; while dbt parses (before any table
    exists) it returns stand-ins of the right types, and SQL rendered from them is never run. -#}
{% macro prism_settings() %}
  {#- ref before the execute check, so dbt records the dependency while parsing -#}
  {%- set settings_table = ref('prism_settings') -%}
  {%- if not execute -%}
    {{ return({'date_column': 'date', 'kpi_column': 'kpi', 'channels': [], 'controls': [],
               'holdout_weeks': 0, 'fourier_order': 0, 'anomaly_z': 0,
               'diagnostics_gating': 'warn', 'source': 'seed', 'warehouse': none,
               'series_columns': []}) }}
  {%- endif -%}
  {%- set rows = run_query("select setting, value_json from " ~ settings_table) -%}
  {%- set settings = {} -%}
  {%- for row in rows -%}{%- do settings.update({row[0]: fromjson(row[1])}) -%}{%- endfor -%}
  {{ return(settings) }}
{% endmacro %}

{% macro prism_setting(name) %}
  {%- set settings = prism_settings() -%}
  {%- if name not in settings -%}
    {{ exceptions.raise_compiler_error("unknown PrismMMM setting " ~ (name | tojson) ~ "; known: " ~ (settings.keys() | list | sort | join(', '))) }}
  {%- endif -%}
  {{ return(settings[name]) }}
{% endmacro %}

{% macro prism_channels() %}
  {%- set names = prism_setting('channels') -%}
  {%- for name in names %}{% do prism_safe_identifier(name, 'channel') %}{% endfor -%}
  {{ return(names) }}
{% endmacro %}

{#- The id columns that name a series (brand, market, geo): kept in mmm_input and results. -#}
{% macro prism_series_columns() %}
  {%- set names = prism_setting('series_columns') -%}
  {%- for name in names %}{% do prism_safe_identifier(name, 'series column', 'Fix prism.yml (data.series_columns).') %}{% endfor -%}
  {{ return(names) }}
{% endmacro %}

{% macro prism_controls() %}
  {%- set names = prism_setting('controls') -%}
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

{#- The event ids that int_week_events found in the data's weeks, in order; each becomes the
    0/1 column event_<id>. Read when the model runs (empty while dbt parses). -#}
{% macro prism_event_ids() %}
  {#- ref before the execute check, so dbt records the dependency while parsing -#}
  {%- set week_events = ref('int_week_events') -%}
  {%- if not execute -%}{{ return([]) }}{%- endif -%}
  {%- set rows = run_query("select distinct event_id from " ~ week_events ~ " order by 1") -%}
  {%- set ids = rows.columns[0].values() | list -%}
  {%- for name in ids %}{% do prism_safe_identifier(name, 'event', 'Fix the event or issue id in the knowledge layer.') %}{% endfor -%}
  {{ return(ids) }}
{% endmacro %}

{#- A SQL string literal with embedded quotes escaped. -#}
{% macro prism_sql_string(value) %}
  {{- return("'" ~ (value | string | replace("'", "''")) ~ "'") -}}
{% endmacro %}

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
