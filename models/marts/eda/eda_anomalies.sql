-- Long list of anomalous values (|z| > anomaly_z) per week and column, with the known issues
-- and the events (calendar, campaigns) of the week that may explain them.
{%- set channels = prism_channels() %}

with flagged as (

    select * from {{ ref('int_marketing_weeks_flagged') }}

),

week_events as (

    select week_start_date, string_agg(event_id, ', ' order by event_id) as event_ids
    from {{ ref('int_week_events') }}
    group by week_start_date

),

unpivoted as (

    select series_id, week_start_date, {{ prism_sql_string(prism_setting('kpi_column')) }} as column_name, kpi as value, z_kpi as z_score,
        is_known_issue, known_issue_id
    from flagged
    {%- for channel in channels %}
    union all
    select series_id, week_start_date, '{{ channel }}', spend_{{ channel }}, z_spend_{{ channel }},
        is_known_issue, known_issue_id
    from flagged
    {%- endfor %}

),

final as (

    select
        unpivoted.*,
        week_events.event_ids,
        week_events.event_ids is not null as is_event_week
    from unpivoted
    left join week_events using (week_start_date)
    where abs(unpivoted.z_score) > {{ prism_setting('anomaly_z') }}

)

select * from final
