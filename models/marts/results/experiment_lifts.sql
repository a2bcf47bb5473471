-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('experiment_lifts', ['experiment_id', 'channel', 'calibrated', 'measured_lift', 'measured_lift_se', 'implied_lift', 'z_score', 'status', 'message']) }}
