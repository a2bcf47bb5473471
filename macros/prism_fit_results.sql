{#- Rows of one result mart from the fits' long frames (prism_mmm/pipeline.py): the models in
    var models unless a mart names its own (bayes_parameter_summary reads the Bayesian fit only). -#}
{% macro prism_fit_results(result_table, columns, models=none) %}
with fits as (

    {%- for name in (models if models is not none else prism_models()) %}
    select * from {{ ref('fit_' ~ name) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

-- the series' key columns, named apart from the fits' own columns
series as (

    select
        series_id as input_series_id
        {%- for column in prism_series_columns() %},
        {{ column }}
        {%- endfor %}
    from {{ ref('stg_input__series') }}

),

final as (

    select
        run_id || '/' || cast(round as varchar) as run_key,
        run_id,
        cast(round as integer) as round,
        model,
        fits.series_id,
        {%- for column in prism_series_columns() %}
        series.{{ column }},
        {%- endfor %}
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from fits
    left join series on series.input_series_id = fits.series_id
    where result_table = {{ prism_sql_string(result_table) }}

)

select * from final
{% endmacro %}

{#- The (run_id, round) this build writes, as SQL literals. -#}
{% macro prism_current_run_filter() %}
run_id = {{ prism_sql_string(env_var('PRISM_RUN_ID', var('run_id'))) }} and round = {{ env_var('PRISM_ROUND', var('round')) | int }}
{% endmacro %}

{#- channel_roi rows of the (run_id, round) being built, from the fits that did not fail (a
    failed fit writes no ROI worth comparing). -#}
{% macro prism_current_fitted_roi() %}
    select roi.*
    from {{ ref('channel_roi') }} as roi
    inner join (
        select distinct run_id, round, model, series_id
        from {{ ref('model_fit_metrics') }}
        where {{ prism_current_run_filter() }} and status <> 'failed'
    ) as fitted using (run_id, round, model, series_id)
    where {{ prism_current_run_filter() }}
{% endmacro %}
