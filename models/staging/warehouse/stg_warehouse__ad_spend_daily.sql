-- Daily ad spend from the warehouse relation in the layout of Fivetran's ad_reporting reports
-- (prism.yml data.warehouse.spend_relation: ad, campaign or account grain), each row given its
-- channel by the first matching rule of data.warehouse.channel_mapping; null when none matches
-- (stg_input__weeks then refuses the series, naming the platform and campaign), and its
-- series_id by data.warehouse.series_mapping (the dataset when the source is one series; null
-- when no rule matches: spend of no modelled series, reported by the build).
-- No rows unless data.source is warehouse.
{%- set warehouse = prism_setting('warehouse') if prism_setting('source') == 'warehouse' else none %}
{%- if warehouse %}
{%- set rules = warehouse['channel_mapping'] %}
{%- set campaign_rules = rules | selectattr('campaign_name_contains') | list %}
{%- set spend_input = prism_warehouse_relation(
    'spend', ['date_day', 'platform', 'spend'] + (['campaign_name'] if campaign_rules else [])
    + prism_warehouse_series_columns('spend')) %}
{%- set has_campaign = 'campaign_name' in spend_input['columns'] %}

with ad_report as (

    select * from {{ spend_input['relation'] }}

),

mapped as (

    select
        {{ prism_warehouse_series_id('spend') }} as series_id,
        cast(date_day as date) as date_day,
        cast(platform as varchar) as platform,
        {{ 'cast(campaign_name as varchar)' if has_campaign else 'cast(null as varchar)' }} as campaign_name,
        cast(spend as double) as spend,
        case
            {%- for rule in rules %}
            when platform = {{ prism_sql_string(rule['platform']) }}
                {%- if rule['campaign_name_contains'] %}
                and contains(campaign_name, {{ prism_sql_string(rule['campaign_name_contains']) }})
                {%- endif %}
                then {{ prism_sql_string(rule['channel']) }}
            {%- endfor %}
        end as channel
    from ad_report

)

select * from mapped
{%- else %}

select
    cast(null as varchar) as series_id,
    cast(null as date) as date_day,
    cast(null as varchar) as platform,
    cast(null as varchar) as campaign_name,
    cast(null as double) as spend,
    cast(null as varchar) as channel
where false
{%- endif %}
