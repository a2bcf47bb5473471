"""Knowledge must describe the data it is applied to.

A ROI range or an experiment for a channel the data does not have, a known issue on a column
it does not have, a field definition of a column that is not in the input: each would be
ignored silently or crash a model later. :func:`check_knowledge` turns them into one clear error naming the file
(or Notion page) and row. It runs in ``prism build`` before dbt touches the warehouse and in
the dbt models ``knowledge_*``, so a direct ``dbt build`` fails the same way; ``prism
knowledge sync`` applies :func:`dataset_problems` to Notion rows before writing anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from prism_mmm.config import PrismConfig
from prism_mmm.knowledge.local import FILES, knowledge_directory, read_rows_with_origins
from prism_mmm.knowledge.schema import (
    WHOLE_WEEK,
    KnowledgeError,
    describe_row,
    invalid_rows,
)

__all__ = ["check_knowledge", "dataset_problems", "input_columns"]


def input_columns(cfg: PrismConfig) -> list[str] | None:
    """The input's column names after ``data.rename``, from the header of the CSV or seed.

    ``None`` when the file cannot be read (or, for the seed, there is no project to read it
    from): input validation reports that, not this check.
    """
    from prism_mmm.project import ProjectNotFoundError

    if cfg.data.source == "warehouse":  # the staging models name exactly these columns
        return [cfg.data.date_column, cfg.data.kpi, *cfg.channels]
    try:
        path = cfg.data.input_path()
        # Read as ingest.read_raw does, so the raw headers match the keys of data.rename.
        header = pd.read_csv(path, nrows=0, dtype=str, skipinitialspace=True).columns
    except (OSError, ValueError, pd.errors.ParserError, ProjectNotFoundError):
        return None
    return [cfg.data.rename.get(name, name) for name in header]


def _names(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"


def dataset_problems(
    cfg: PrismConfig, table: str, rows: Sequence[dict[str, Any]], origins: Sequence[str]
) -> list[str]:
    """A line per row of ``table`` naming something the configured data does not have.

    Rows are validated rows; ``origins`` says where each came from (file and index, or Notion
    page), and leads its line.
    """
    dataset, channels = cfg.data.dataset, cfg.channels
    problems: list[str] = []
    if table == "knowledge_business_context":
        for row, origin in zip(rows, origins, strict=True):
            channel = row.get("channel")
            if channel is not None and channel not in channels:
                problems.append(
                    f"{origin}: {row['key']} for {channel}: no such channel in dataset {dataset} "
                    f"(channels: {_names(channels)})"
                )
    elif table == "knowledge_known_issues":
        allowed = {*channels, cfg.data.kpi, WHOLE_WEEK}
        for row, origin in zip(rows, origins, strict=True):
            if row["column_name"] not in allowed:
                problems.append(
                    f"{describe_row(table, row, origin)}: column {row['column_name']!r} is not a "
                    f"channel, the KPI ({cfg.data.kpi}) or '{WHOLE_WEEK}' (the whole week) in "
                    f"dataset {dataset} (channels: {_names(channels)})"
                )
    elif table == "knowledge_experiments":
        for row, origin in zip(rows, origins, strict=True):
            if row["channel"] not in channels:
                problems.append(
                    f"{describe_row(table, row, origin)}: experiment on {row['channel']}: no such "
                    f"channel in dataset {dataset} (channels: {_names(channels)})"
                )
    elif table == "knowledge_field_definitions":
        columns = input_columns(cfg)
        for row, origin in zip(rows, origins, strict=True):
            if columns is not None and row["column_name"] not in columns:
                problems.append(
                    f"{origin}: field definition of {row['column_name']}: no such column in the "
                    f"input of dataset {dataset} (columns: {_names(columns)})"
                )
    return problems


def check_knowledge(cfg: PrismConfig, tables: Iterable[str] = tuple(FILES)) -> None:
    """Validate the configured dataset's knowledge files and check them against its data.

    Parameters
    ----------
    cfg : PrismConfig
        The configuration in force: dataset, channels, KPI, input file.
    tables : iterable of str, default every collection
        ``knowledge_*`` collections to check (a dbt model checks its own).

    Raises
    ------
    KnowledgeError
        Listing every invalid row and every row naming a channel or column the data does not
        have, each with its file and index.
    """
    directory = knowledge_directory(cfg)
    messages: list[str] = []
    for table in tables:
        try:
            rows, origins = read_rows_with_origins(directory, table)
        except KnowledgeError as exc:
            messages.append(str(exc))
            continue
        problems = dataset_problems(cfg, table, rows, origins)
        if problems:
            messages.append(str(invalid_rows(table, problems)))
    if messages:
        raise KnowledgeError(
            f"the knowledge of dataset {cfg.data.dataset} in {directory} cannot be used; fix or "
            "remove these rows (knowledge about another dataset belongs in that dataset's "
            "folder):\n" + "\n".join(messages)
        )
