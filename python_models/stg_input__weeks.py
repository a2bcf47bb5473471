from prism_mmm.config import load_config
from prism_mmm.ingest import input_weeks
from prism_mmm.series import as_one_series
from prism_mmm.sources import warehouse_weeks


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    cfg = load_config(overrides=dbt.config.meta_get("config_overrides"))
    # Both refs always, so dbt orders the warehouse staging first whatever the source.
    spend_weekly = dbt.ref("int_warehouse_spend_weekly")
    kpi_weekly = dbt.ref("int_warehouse_kpi_weekly")
    if cfg.data.source == "warehouse":
        weeks = warehouse_weeks(cfg, spend_weekly.df(), kpi_weekly.df())
    else:
        # The same validation `prism build` runs first: bad input fails this node with its message.
        weeks = input_weeks(cfg)
    # One input is one series, named by its dataset key.
    return as_one_series(weeks, cfg.data.dataset)
