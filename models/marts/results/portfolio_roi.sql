-- ROI per model and channel across the series (brands, markets, geos) of the (run_id, round)
-- being built: each series' ROI with its 90 % interval beside the portfolio's median. A series
-- whose whole interval lies above or below that median is flagged: the channel works differently
-- there, or that series' data mislead, and either needs a look before budget moves between
-- series. The median is of point estimates, so it carries no interval of its own; a pooled
-- (hierarchical) model is what gives a brand-level ROI with one.
with roi as (

    {{ prism_current_fitted_roi() }}

),

agreement as (

    select run_id, round, series_id, channel, confirmed
    from {{ ref('model_agreement') }}
    where {{ prism_current_run_filter() }}

),

per_series as (

    select
        roi.*,
        coalesce(agreement.confirmed, false) as confirmed
    from roi
    left join agreement using (run_id, round, series_id, channel)

),

across_series as (

    select
        run_id,
        round,
        model,
        channel,
        count(*) as n_series,
        median(roi) as median_roi,
        min(roi) as min_roi,
        max(roi) as max_roi
    from per_series
    where roi is not null
    group by run_id, round, model, channel

),

final as (

    select
        per_series.run_key,
        per_series.run_id,
        per_series.round,
        per_series.model,
        per_series.series_id,
        {%- for column in prism_series_columns() %}
        per_series.{{ column }},
        {%- endfor %}
        per_series.channel,
        per_series.spend,
        per_series.roi,
        per_series.roi_low,
        per_series.roi_high,
        per_series.confirmed,
        across_series.n_series,
        across_series.median_roi,
        across_series.min_roi,
        across_series.max_roi,
        case
            when per_series.roi is null then 'no estimate'
            when across_series.n_series < 2 then 'single series'
            when per_series.roi_low is null or per_series.roi_high is null then 'no interval'
            when per_series.roi_low > across_series.median_roi then 'above'
            when per_series.roi_high < across_series.median_roi then 'below'
            else 'in line'
        end as versus_portfolio
    from per_series
    left join across_series using (run_id, round, model, channel)

)

select * from final
