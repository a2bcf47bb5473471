-- Daily ad spend in weeks starting on data.warehouse.week_start, per series and channel (long:
-- one row per series, week and channel; the wide table is built from it by stg_input__weeks).
-- Rows no channel rule matched keep their platform and campaign (unmapped) so the refusal can
-- name them; negative spend keeps its days; spend of no series has a null series_id.
with daily as (

    select * from {{ ref('stg_warehouse__ad_spend_daily') }}

),

weekly as (

    select
        series_id,
        {{ prism_week_start('date_day') }} as week_start_date,
        channel,
        case when channel is null then platform || coalesce(' / ' || campaign_name, '') end
            as unmapped,
        sum(spend) as spend,
        string_agg(distinct strftime(date_day, '%Y-%m-%d'), ', ') filter (where spend < 0)
            as negative_days
    from daily
    group by all

)

select * from weekly
