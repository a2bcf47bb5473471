from prism_mmm.config import load_config
from prism_mmm.sources import build_input


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    cfg = load_config(overrides=dbt.config.meta_get("config_overrides"))
    # One row per series found, accepted or refused with its reason (stg_input__weeks holds
    # the accepted series' weeks): a refused series is reported, never dropped in silence.
    return build_input(cfg, dbt.ref("int_warehouse_spend_weekly"),
                       dbt.ref("int_warehouse_kpi_weekly")).series
