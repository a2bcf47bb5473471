-- Every model's media contributions make up a possible part of the KPI (0-100 %). More than
-- all of it, or less than nothing, is not an attribution but a broken fit (a negative
-- baseline or negative controls carrying media): the build stops and names the model.
-- (The plausible band, 5-80 %, is the Critic's check, not a build error.)
select run_key, model, series_id, sum(share) as media_share
from {{ ref('channel_roi') }}
group by run_key, model, series_id
having sum(share) < -0.001 or sum(share) > 1.0
