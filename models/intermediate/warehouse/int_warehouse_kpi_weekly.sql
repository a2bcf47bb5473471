-- The daily KPI in weeks starting on data.warehouse.week_start, over a complete grid of days
-- from the first to the last day of the data. n_days < 7 only at the two ends (is_partial_week):
-- stg_input__weeks drops those weeks. missing_days (a day without a row) and repeated_days (a
-- day with several rows) are what a daily shop table must not have; for orders a day without
-- a valid order is simply zero.
with daily as (

    select * from {{ ref('stg_warehouse__kpi_daily') }}

),

days as (

    select cast(unnest(generate_series(min(date_day), max(date_day), interval 1 day)) as date)
        as date_day
    from daily

),

by_day as (

    select
        days.date_day,
        sum(daily.kpi) as kpi,
        count(daily.date_day) as n_rows,
        string_agg(distinct daily.currency, ', ') as currencies
    from days
    left join daily using (date_day)
    group by days.date_day

),

weekly as (

    select
        {{ prism_week_start('date_day') }} as week_start_date,
        count(*) as n_days,
        coalesce(sum(kpi), 0) as kpi,
        string_agg(strftime(date_day, '%Y-%m-%d'), ', ' order by date_day)
            filter (where n_rows = 0) as missing_days,
        string_agg(strftime(date_day, '%Y-%m-%d'), ', ' order by date_day)
            filter (where n_rows > 1) as repeated_days,
        string_agg(distinct currencies, ', ') as currencies
    from by_day
    group by 1

)

select *, n_days < 7 as is_partial_week
from weekly
