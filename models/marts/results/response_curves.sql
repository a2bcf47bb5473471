-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('response_curves', ['channel', 'spend', 'response', 'low', 'high', 'marginal_roi', 'is_current_spend']) }}
