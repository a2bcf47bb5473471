-- Spend in long format (one row per series, week and channel): the shape for EDA whatever the
-- number of channels.
{%- set channels = prism_channels() %}

with features as (

    select * from {{ ref('int_weekly_features_added') }}

),

final as (

    {%- for channel in channels %}
    select series_id, week_start_date, '{{ channel }}' as channel, spend_{{ channel }} as spend, kpi
    from features
    {{ 'union all' if not loop.last }}
    {%- endfor %}

)

select * from final
