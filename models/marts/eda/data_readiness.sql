-- Data readiness score 1–5 per series, with the reasons behind every deducted point. Starts at 5 and
-- loses one point per problem: short history (< 2 years of weeks), severe collinearity
-- (max VIF > 10), sparse channels (> 50 % zero weeks), many KPI anomalies (> 5 % of weeks)
-- and unexplained KPI anomalies (more than 2 anomalous KPI weeks not covered by a known issue
-- or an event: a holiday, a retail peak, a campaign).
-- Spend anomalies are listed in eda_anomalies but cost no point: heavy-tailed spend is normal.
with weeks as (

    select series_id, count(*) as n_weeks from {{ ref('mmm_input') }} group by series_id

),

channels as (

    select
        series_id,
        count(*) as n_channels,
        string_agg(channel || ' (' || round(100 * sparsity, 1) || '% zero weeks)', ', ' order by channel)
            filter (where sparsity > 0.5) as sparse_channels,
        count(*) filter (where sparsity > 0.5) as n_sparse
    from {{ ref('eda_channel_summary') }}
    group by series_id

),

vif as (

    select series_id, max(vif) as max_vif from {{ ref('eda_vif') }} group by series_id

),

anomalies as (

    select
        series_id,
        count(distinct week_start_date) as n_anomalies,
        count(*) filter (where column_name = {{ prism_sql_string(prism_setting('kpi_column')) }}) as n_kpi_anomalies,
        string_agg(strftime(week_start_date, '%Y-%m-%d'), ', ' order by week_start_date)
            filter (where column_name = {{ prism_sql_string(prism_setting('kpi_column')) }} and not is_known_issue
                    and not is_event_week)
            as unexplained_weeks,
        count(*) filter (where column_name = {{ prism_sql_string(prism_setting('kpi_column')) }} and not is_known_issue
                         and not is_event_week)
            as n_unexplained
    from {{ ref('eda_anomalies') }}
    group by series_id

),

checks as (

    select
        weeks.series_id,
        weeks.n_weeks,
        channels.n_channels,
        vif.max_vif,
        coalesce(anomalies.n_anomalies, 0) as n_anomalies,
        channels.sparse_channels,
        [
            case when weeks.n_weeks < 104
                then 'short history: ' || weeks.n_weeks || ' weeks (< 104)' end,
            case when vif.max_vif > 10
                then 'severe collinearity: max VIF ' || round(vif.max_vif, 2) || ' (> 10)' end,
            case when channels.n_sparse > 0
                then 'sparse channels: ' || channels.sparse_channels end,
            case when anomalies.n_kpi_anomalies > 0.05 * weeks.n_weeks
                then 'many anomalous KPI weeks: ' || anomalies.n_kpi_anomalies || ' of ' || weeks.n_weeks end,
            case when anomalies.n_unexplained > 2
                then anomalies.n_unexplained || ' anomalous KPI weeks not explained by a known issue or an event ('
                    || anomalies.unexplained_weeks || ')' end
        ] as problems
    from weeks
    inner join channels using (series_id)
    left join vif using (series_id)
    left join anomalies using (series_id)

),

final as (

    select
        series_id,
        greatest(1, 5 - len(list_filter(problems, lambda p: p is not null))) as score,
        n_weeks,
        n_channels,
        coalesce(
            nullif(array_to_string(list_filter(problems, lambda p: p is not null), '; '), ''),
            'no problems found: ' || n_weeks || ' weeks, ' || n_channels || ' channels, max VIF '
                || round(max_vif, 2)
        ) as reasons,
        max_vif,
        n_anomalies,
        sparse_channels
    from checks

)

select * from final
