-- Every model of the run this build wrote fitted. A failed model is listed with its reason:
-- an error under diagnostics_gating strict (the fit node has failed already), a warning
-- otherwise, so a direct `dbt build` never passes a missing model in silence.
{{ config(severity=('error' if var('diagnostics_gating') == 'strict' else 'warn')) }}
select run_id, round, model, status, message
from {{ ref('mmm_runs') }}
where {{ prism_current_run_filter() }} and status = 'failed'
