{#- dbt-duckdb's incremental materialisation of a Python model writes its "temporary" relation
    (<model>__dbt_tmp<timestamp>) as an ordinary table, since a Python model cannot create a
    temporary one, and never drops it: every build would leave one in the warehouse for BI
    tools to find. A post-hook of such a model drops them. -#}
{% macro prism_drop_python_incremental_leftovers() %}
  {%- if execute -%}
    {%- set found = run_query(
          "select table_name from information_schema.tables where table_schema = "
          ~ prism_sql_string(this.schema) ~ " and starts_with(table_name, "
          ~ prism_sql_string(this.identifier ~ '__dbt_tmp') ~ ")") -%}
    {%- for name in found.columns[0].values() -%}
      {%- do run_query("drop table if exists " ~ this.incorporate(path={"identifier": name})) -%}
    {%- endfor -%}
  {%- endif -%}
{% endmacro %}
