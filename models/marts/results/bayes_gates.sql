-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('bayes_gates', ['gate', 'metric', 'value', 'threshold', 'status']) }}
