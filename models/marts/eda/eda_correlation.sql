-- Pairwise Pearson correlations between channels' spend and the KPI within each series (long
-- format, both orders and the diagonal, so a heatmap needs no reshaping).
with spend as (

    select series_id, week_start_date, channel as variable, spend as value
    from {{ ref('int_media_spend_unpivoted') }}

),

kpi as (

    select series_id, week_start_date, 'kpi' as variable, kpi as value
    from {{ ref('int_weekly_features_added') }}

),

variables as (

    select * from spend
    union all
    select * from kpi

),

final as (

    select
        a.series_id,
        a.variable as variable_a,
        b.variable as variable_b,
        corr(a.value, b.value) as correlation
    from variables as a
    inner join variables as b using (series_id, week_start_date)
    group by a.series_id, a.variable, b.variable

)

select * from final
