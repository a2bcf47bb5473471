{{ config(severity="warn") }}
-- Media shares per model and run should be a sensible part of the KPI (0–100 %). A warning,
-- not an error: an implausible model is recorded and the Critic fails it; it must not block
-- the other models' results from landing.
select run_key, model, sum(share) as media_share
from {{ ref('channel_roi') }}
group by run_key, model
having sum(share) < -0.001 or sum(share) > 1.0
