-- Long list of anomalous values (|z| > anomaly_z) per week and column, with known-issue context.
{%- set channels = prism_channels() %}

with flagged as (

    select * from {{ ref('int_marketing_weeks_flagged') }}

),

unpivoted as (

    select week_start_date, '{{ var('kpi_column') }}' as column_name, kpi as value, z_kpi as z_score,
        is_known_issue, known_issue_id
    from flagged
    {%- for channel in channels %}
    union all
    select week_start_date, '{{ channel }}', spend_{{ channel }}, z_spend_{{ channel }},
        is_known_issue, known_issue_id
    from flagged
    {%- endfor %}

),

final as (

    select *
    from unpivoted
    where abs(z_score) > {{ var('anomaly_z') }}

)

select * from final
