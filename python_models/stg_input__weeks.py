from prism_mmm.config import load_config
from prism_mmm.sources import build_input


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    cfg = load_config(overrides=dbt.config.meta_get("config_overrides"))
    # Both refs always, so dbt orders the warehouse staging first whatever the source. The
    # same validation `prism build` runs first: bad input fails this node with its message.
    return build_input(cfg, dbt.ref("int_warehouse_spend_weekly"),
                       dbt.ref("int_warehouse_kpi_weekly")).weeks
