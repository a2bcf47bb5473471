-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('model_parameters', ['parameter', 'channel', 'mean', 'sd', 'hdi_low', 'hdi_high', 'r_hat', 'ess_bulk', 'ess_tail'], models=['bayes']) }}
