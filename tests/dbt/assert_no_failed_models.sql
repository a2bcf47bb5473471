-- Every model of the run this build wrote fitted. A failed model is listed with its reason as
-- a warning, so a direct `dbt build` never passes a missing model in silence. Under
-- diagnostics_gating strict the fit node itself has failed the build already.
{{ config(severity='warn') }}
select run_id, round, model, series_id, status, message
from {{ ref('mmm_runs') }}
where {{ prism_current_run_filter() }} and status = 'failed'
