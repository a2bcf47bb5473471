from prism_mmm.knowledge.local import load_dataset_table


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer", "knowledge"])
    # The configured dataset's folder (knowledge/<data.dataset>/), checked against its data.
    return load_dataset_table("knowledge_business_context")
