from prism_mmm.config import load_config, settings_frame


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    # prism.yml (with the loop's overrides), read here so `dbt build` needs no vars copied from it.
    return settings_frame(load_config(overrides=dbt.config.meta_get("config_overrides")))
