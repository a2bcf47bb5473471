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
               'series_columns': [], 'dataset': 'dataset', 'warehouse_series': []}) }}
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
