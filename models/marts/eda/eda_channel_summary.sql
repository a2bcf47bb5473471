-- Per-series, per-channel EDA: share of spend, sparsity (share of zero-spend weeks), coefficient of
-- variation and correlation with the KPI.
with spend as (

    select * from {{ ref('int_media_spend_unpivoted') }}

),

per_channel as (

    select
        series_id,
        channel,
        sum(spend) as total_spend,
        avg(spend) as mean_weekly_spend,
        max(spend) as max_weekly_spend,
        count(*) filter (where spend = 0) as zero_weeks,
        count(*) as n_weeks,
        stddev_samp(spend) / nullif(avg(spend), 0) as cv,
        corr(spend, kpi) as corr_with_kpi
    from spend
    group by series_id, channel

),

final as (

    select
        series_id,
        channel,
        total_spend,
        total_spend / sum(total_spend) over (partition by series_id) as spend_share,
        mean_weekly_spend,
        max_weekly_spend,
        zero_weeks,
        zero_weeks / n_weeks as sparsity,
        cv,
        corr_with_kpi
    from per_channel

)

select * from final
