-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('model_fit_metrics', ['split', 'r2', 'mape', 'smape', 'nrmse', 'cast(n_weeks as integer) as n_weeks', 'fit_seconds', 'status', 'message']) }}
