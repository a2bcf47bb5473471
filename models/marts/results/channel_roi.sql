-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('channel_roi', ['channel', 'spend', 'contribution', 'roi', 'roi_low', 'roi_high', 'share']) }}
