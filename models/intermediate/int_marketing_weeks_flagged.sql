-- Anomaly flags (|z| > anomaly_z on the KPI or any spend channel, against the series' own
-- mean and sd), known-issue flags from the knowledge layer, and the "cap" action applied
-- (value capped at the series' 99th percentile of the weeks without a known issue).
{%- set channels = prism_channels() %}
{%- set measures = ['kpi'] + ('spend_' ~ (channels | join(',spend_'))).split(',') %}

with gridded as (

    select * from {{ ref('int_marketing_weeks_gridded') }}

),

known_issues as (

    select * from {{ ref('int_known_issue_weeks_joined') }}

),

joined as (

    select gridded.*, known_issues.* exclude (week_start_date)
    from gridded
    left join known_issues using (week_start_date)

),

stats as (

    select
        series_id,
        {%- for m in measures %}
        avg({{ m }}) as mean_{{ m }},
        stddev_samp({{ m }}) as sd_{{ m }},
        quantile_cont({{ m }}, 0.99) filter (where known_issue_id is null) as p99_{{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    from joined
    group by series_id

),

scored as (

    select
        joined.*,
        {%- for m in measures %}
        ({{ m }} - stats.mean_{{ m }}) / nullif(stats.sd_{{ m }}, 0) as z_{{ m }},
        {%- endfor %}
        stats.* exclude (series_id)
    from joined
    inner join stats using (series_id)

),

final as (

    select
        series_id,
        {%- for column in prism_series_columns() %}
        {{ column }},
        {%- endfor %}
        week_start_date,
        {%- for m in measures %}
        {%- set column_label = prism_setting('kpi_column') if m == 'kpi' else m[6:] %}
        case
            when known_issue_action = 'cap' and known_issue_column in ('*', '{{ column_label }}')
                then least({{ m }}, p99_{{ m }})
            else {{ m }}
        end as {{ m }},
        {%- endfor %}
        {%- for control in prism_controls() %}
        ctrl_{{ control }},
        {%- endfor %}
        {%- for m in measures %}
        z_{{ m }},
        {%- endfor %}
        greatest({% for m in measures %}coalesce(abs(z_{{ m }}), 0){{ ', ' if not loop.last }}{% endfor %})
            > {{ prism_setting('anomaly_z') }} as is_anomaly,
        known_issue_id,
        known_issue_ids,
        known_issue_action,
        known_issue_column,
        known_issue_id is not null as is_known_issue,
        is_observed
    from scored

)

select * from final
