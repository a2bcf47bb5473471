-- The KPI per day and currency from the warehouse relation named in prism.yml
-- data.warehouse.kpi_relation: Fivetran's shopify__daily_shop (a row per day) as it is, or
-- shopify__orders summed by the UTC day an order was created, test and cancelled orders
-- excluded; each row with its series_id (see stg_warehouse__ad_spend_daily). No rows unless
-- data.source is warehouse.
{%- set warehouse = prism_setting('warehouse') if prism_setting('source') == 'warehouse' else none %}
{%- if warehouse %}
{%- set kpi = prism_setting('kpi_column') %}
{%- set series_columns = prism_warehouse_series_columns('kpi') %}
{%- if warehouse['kpi_layout'] == 'shopify__orders' %}
{%- set orders_input = prism_warehouse_relation(
    'kpi', ['created_timestamp', 'cancelled_timestamp', 'is_test_order', 'currency', kpi]
    + series_columns) %}

with orders as (

    select * from {{ orders_input['relation'] }}

),

valid as (

    select
        {{ prism_warehouse_series_id('kpi') }} as series_id,
        cast(created_timestamp as date) as date_day,
        cast(currency as varchar) as currency,
        cast({{ adapter.quote(kpi) }} as double) as kpi
    from orders
    where not coalesce(cast(is_test_order as boolean), false)
        and cancelled_timestamp is null

),

final as (

    select series_id, date_day, currency, sum(kpi) as kpi
    from valid
    group by series_id, date_day, currency

)
{%- else %}
{%- set shop_input = prism_warehouse_relation('kpi', ['date_day', 'currency', kpi] + series_columns) %}

with daily_shop as (

    select * from {{ shop_input['relation'] }}

),

final as (

    select
        {{ prism_warehouse_series_id('kpi') }} as series_id,
        cast(date_day as date) as date_day,
        cast(currency as varchar) as currency,
        cast({{ adapter.quote(kpi) }} as double) as kpi
    from daily_shop

)
{%- endif %}

select * from final
{%- else %}

select cast(null as varchar) as series_id, cast(null as date) as date_day, cast(null as varchar) as currency, cast(null as double) as kpi
where false
{%- endif %}
