-- One mart of the fits' long results (see prism_mmm/pipeline.py); history kept per run_key.
{{ prism_fit_results('mmm_runs', ['started_at', 'finished_at', 'git_commit', 'config_hash', 'data_hash', 'package_versions', 'cast(random_seed as bigint) as random_seed', 'status', 'message', 'config_json']) }}
