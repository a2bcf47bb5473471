-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('model_predictions', ['cast(week_start_date as date) as week_start_date', 'split', 'actual', 'predicted', 'low', 'high']) }}
