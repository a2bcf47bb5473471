from prism_mmm.config import load_config
from prism_mmm.ingest import input_weeks


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    # The same validation `prism build` runs first: bad input fails this node with its message.
    return input_weeks(load_config(overrides=dbt.config.meta_get("config_overrides")))
