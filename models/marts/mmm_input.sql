-- The modelling input: one row per series and week with KPI, spend per channel, controls, baseline
-- features, flags and the train/holdout split. Every fitted model reads exactly this table.
{%- set channels = prism_channels() %}
{%- set event_ids = prism_event_ids() %}

with features as (

    select * from {{ ref('int_weekly_features_added') }}

),

final as (

    select
        series_id,
        {%- for column in prism_series_columns() %}
        {{ column }},
        {%- endfor %}
        week_start_date,
        split,
        kpi,
        {%- for channel in channels %}
        spend_{{ channel }},
        {%- endfor %}
        {%- for control in prism_controls() %}
        ctrl_{{ control }},
        {%- endfor %}
        {%- for event_id in event_ids %}
        event_{{ event_id }},
        {%- endfor %}
        trend,
        {%- for k in range(1, prism_setting('fourier_order') + 1) %}
        season_sin_{{ k }},
        season_cos_{{ k }},
        {%- endfor %}
        is_anomaly,
        is_known_issue,
        known_issue_id,
        known_issue_action,
        is_observed
    from features

)

select * from final
