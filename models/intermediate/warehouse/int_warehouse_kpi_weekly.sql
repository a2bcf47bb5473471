-- The daily KPI of each series in weeks starting on data.warehouse.week_start, over a complete
-- grid of days from the series' first to its last day. n_days < 7 only at the two ends
-- (is_partial_week): stg_input__weeks drops those weeks. missing_days (a day without a row) and
-- repeated_days (a day with several rows) are what a daily shop table must not have; for
-- orders a day without a valid order is simply zero. Rows of no series are left out here.
with daily as (

    select * from {{ ref('stg_warehouse__kpi_daily') }}
    where series_id is not null

),

days as (

    select
        series_id,
        cast(unnest(generate_series(min(date_day), max(date_day), interval 1 day)) as date)
            as date_day
    from daily
    group by series_id

),

by_day as (

    select
        days.series_id,
        days.date_day,
        sum(daily.kpi) as kpi,
        count(daily.date_day) as n_rows,
        string_agg(distinct daily.currency, ', ') as currencies
    from days
    left join daily using (series_id, date_day)
    group by days.series_id, days.date_day

),

weekly as (

    select
        series_id,
        {{ prism_week_start('date_day') }} as week_start_date,
        count(*) as n_days,
        coalesce(sum(kpi), 0) as kpi,
        string_agg(strftime(date_day, '%Y-%m-%d'), ', ' order by date_day)
            filter (where n_rows = 0) as missing_days,
        string_agg(strftime(date_day, '%Y-%m-%d'), ', ' order by date_day)
            filter (where n_rows > 1) as repeated_days,
        string_agg(distinct currencies, ', ') as currencies
    from by_day
    group by 1, 2

)

select *, n_days < 7 as is_partial_week
from weekly
