from prism_mmm.eda import variance_inflation


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer"])
    spend = dbt.ref("int_media_spend_unpivoted").df()
    return variance_inflation(spend)
