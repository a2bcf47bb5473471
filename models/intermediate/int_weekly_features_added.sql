-- Trend, yearly Fourier seasonality, event dummies and the train/holdout split (last
-- holdout_weeks weeks), each per series. prism_mmm/data.py seasonality_features() mirrors the trend and
-- Fourier formulas; a test keeps them equal.
{%- set event_ids = prism_event_ids() %}

with flagged as (

    select * from {{ ref('int_marketing_weeks_flagged') }}

),

week_events as (

    select * from {{ ref('int_week_events') }}

),

-- long -> one 0/1 column per event, event_<id>
event_flags as (

    select
        week_start_date
        {%- for event_id in event_ids %},
        max(case when event_id = {{ prism_sql_string(event_id) }} then 1.0 else 0.0 end)
            as event_{{ event_id }}
        {%- endfor %}
    from week_events
    group by week_start_date

),

indexed as (

    select
        flagged.*,
        {%- for event_id in event_ids %}
        coalesce(event_flags.event_{{ event_id }}, 0.0) as event_{{ event_id }},
        {%- endfor %}
        row_number() over (partition by flagged.series_id order by flagged.week_start_date) - 1
            as week_index,
        count(*) over (partition by flagged.series_id) as n_weeks,
        cast(dayofyear(flagged.week_start_date) as double) as day_of_year
    from flagged
    left join event_flags using (week_start_date)

),

final as (

    select
        * exclude (week_index, n_weeks, day_of_year),
        week_index / greatest(n_weeks - 1, 1) as trend,
        {%- for k in range(1, prism_setting('fourier_order') + 1) %}
        sin(2 * pi() * {{ k }} * day_of_year / 365.25) as season_sin_{{ k }},
        cos(2 * pi() * {{ k }} * day_of_year / 365.25) as season_cos_{{ k }},
        {%- endfor %}
        case when week_index >= n_weeks - {{ prism_setting('holdout_weeks') }} then 'holdout' else 'train' end
            as split
    from indexed

)

select * from final
