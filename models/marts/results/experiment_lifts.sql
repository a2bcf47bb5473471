-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
-- append_new_columns: a warehouse built before a column was added (calibrated) gains it, its
-- older rows null, instead of failing the next build.
{{ config(on_schema_change='append_new_columns') }}
{{ prism_fit_results('experiment_lifts', ['experiment_id', 'channel', 'calibrated', 'measured_lift', 'measured_lift_se', 'implied_lift', 'z_score', 'status', 'message']) }}
