{#- Rows of one result mart from the three fits' long frames (prism_mmm/pipeline.py). -#}
{% macro prism_fit_results(result_table, columns, fits=['fit_ridge', 'fit_bayes', 'fit_nls']) %}
with fits as (

    {%- for fit in fits %}
    select * from {{ ref(fit) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        run_id || '/' || cast(round as varchar) as run_key,
        run_id,
        cast(round as integer) as round,
        model,
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from fits
    where result_table = {{ prism_sql_string(result_table) }}

)

select * from final
{% endmacro %}

{#- The (run_id, round) this build writes, as SQL literals. -#}
{% macro prism_current_run_filter() %}
run_id = {{ prism_sql_string(var('run_id')) }} and round = {{ var('round') | int }}
{% endmacro %}
