from prism_mmm.pipeline import fit_model_table


def model(dbt, session):
    dbt.config(materialized="table", tags=["mmm_results"])
    run_id = dbt.config.meta_get("run_id")
    round_ = dbt.config.meta_get("round")
    overrides = dbt.config.meta_get("config_overrides")
    mmm_input = dbt.ref("mmm_input").df()
    # Series the input refused: each becomes a failed row, so the build names them.
    input_series = dbt.ref("stg_input__series").df()
    # Lift tests: each model's implied lift is compared with the measured one.
    experiments = dbt.ref("knowledge_experiments").df()
    return fit_model_table("ridge", mmm_input, run_id, round_, overrides,
                           experiments=experiments, input_series=input_series)
