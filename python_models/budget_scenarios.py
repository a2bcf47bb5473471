from prism_mmm.pipeline import scenarios_table


def model(dbt, session):
    # append_new_columns: a warehouse built before a column was added gains it (old rows null).
    dbt.config(materialized="incremental", incremental_strategy="delete+insert",
               unique_key="run_key", tags=["mmm_results"], on_schema_change="append_new_columns")
    run_id = dbt.config.meta_get("run_id")
    round_ = dbt.config.meta_get("round")
    overrides = dbt.config.meta_get("config_overrides")
    mmm_input = dbt.ref("mmm_input").df()
    agreement = dbt.ref("model_agreement").df()
    fit_status = dbt.ref("model_fit_metrics").df()
    agreement = agreement[(agreement["run_id"] == run_id) & (agreement["round"] == int(round_))]
    fit_status = fit_status[(fit_status["run_id"] == run_id) & (fit_status["round"] == int(round_))]
    return scenarios_table(mmm_input, agreement, fit_status, run_id, round_, overrides)
