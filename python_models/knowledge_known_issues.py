from prism_mmm.knowledge.local import dataset_relation


def model(dbt, session):
    dbt.config(materialized="table", tags=["data_layer", "knowledge"])
    # The configured dataset's folder (knowledge/<data.dataset>/), checked against its data.
    return dataset_relation("knowledge_known_issues", session)
