from prism_mmm.dbt import project_dir
from prism_mmm.knowledge.local import load_table


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer", "knowledge"])
    knowledge_dir = dbt.config.meta_get("knowledge_dir")
    return load_table(project_dir() / knowledge_dir, "knowledge_business_context")
