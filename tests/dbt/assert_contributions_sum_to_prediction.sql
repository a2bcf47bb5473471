-- The weekly decomposition of every model adds up to its prediction (relative 0.1 %).
with summed as (
    select run_key, model, series_id, week_start_date, sum(value) as total
    from {{ ref('weekly_contributions') }}
    group by run_key, model, series_id, week_start_date
)
select summed.*, predictions.predicted
from summed
inner join {{ ref('model_predictions') }} as predictions using (run_key, model, series_id, week_start_date)
where abs(summed.total - predictions.predicted) > 1e-3 * greatest(abs(predictions.predicted), 1)
