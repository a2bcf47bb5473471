-- Cross-model agreement per series and channel for the (run_id, round) being built: mean ROI, coefficient
-- of variation of ROI across the models that fitted, sign agreement. Confirmed = every model in
-- var models fitted (status not failed), signs agree and CV < 0.5: one model alone, or models
-- that disagree in sign or size, are not evidence enough to move budget.
with roi as (

    {{ prism_current_fitted_roi() }}

),

per_channel as (

    select
        roi.run_id,
        roi.round,
        roi.series_id,
        roi.channel,
        avg(roi.roi) as roi_mean,
        stddev_pop(roi.roi) / nullif(abs(avg(roi.roi)), 0) as roi_cv,
        count(distinct sign(roi.roi)) = 1 and min(sign(roi.roi)) <> 0 as sign_agreement,
        count(*) as n_models,
        string_agg(roi.model, ',' order by roi.model) as models
    from roi
    group by roi.run_id, roi.round, roi.series_id, roi.channel

),

final as (

    select
        run_id || '/' || cast(round as varchar) as run_key,
        run_id,
        round,
        series_id,
        channel,
        roi_mean,
        roi_cv,
        sign_agreement,
        n_models,
        models,
        coalesce(n_models = {{ prism_models() | length }} and sign_agreement and roi_cv < 0.5, false) as confirmed
    from per_channel

)

select * from final
