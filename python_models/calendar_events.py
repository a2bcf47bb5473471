from prism_mmm.calendar import calendar_for_weeks
from prism_mmm.config import load_config


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    # The configured events (prism.yml events.*, with the loop's overrides) over the data's years.
    cfg = load_config(overrides=dbt.config.meta_get("config_overrides"))
    weeks = dbt.ref("int_marketing_weeks_gridded").df()["week_start_date"]
    return calendar_for_weeks(cfg.events, weeks)
