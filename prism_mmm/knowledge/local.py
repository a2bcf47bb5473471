"""Local YAML knowledge (the default source, and the offline snapshot of Notion).

Knowledge describes one dataset, so it is filed by dataset: ``knowledge/<dataset>/`` under the
``knowledge.directory`` root, and :func:`knowledge_directory` is the one place that resolves
the folder for a configuration. ``load_table`` validates the rows so a bad edit of a YAML file
fails the build with a message naming the file and the row.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from prism_mmm.config import KnowledgeConfig, PrismConfig
from prism_mmm.knowledge.schema import (
    CONTEXT_COLUMNS,
    EXPECTED_ROI,
    FIELD_COLUMNS,
    ISSUE_COLUMNS,
    KnowledgeError,
    validate_rows,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "FIELD_COLUMNS",
    "FILES",
    "ISSUE_COLUMNS",
    "dataset_directory",
    "expected_roi_ranges",
    "knowledge_directory",
    "knowledge_root",
    "load_dataset_table",
    "load_table",
    "read_rows",
    "read_rows_with_origins",
    "validate_directory",
    "write_snapshot",
]

FILES = {
    "knowledge_field_definitions": ("field_definitions.yml", "fields", FIELD_COLUMNS),
    "knowledge_business_context": ("business_context.yml", "context", CONTEXT_COLUMNS),
    "knowledge_known_issues": ("known_issues.yml", "issues", ISSUE_COLUMNS),
}


def knowledge_root(cfg: KnowledgeConfig) -> Path:
    """The root of the knowledge folders; a relative ``knowledge.directory`` is relative to the
    project (:func:`prism_mmm.project.project_dir`)."""
    from prism_mmm.project import project_dir

    directory = Path(cfg.directory)
    if directory.is_absolute():
        return directory
    return project_dir() / directory


def knowledge_directory(cfg: PrismConfig) -> Path:
    """The YAML folder of the configured dataset: ``<knowledge.directory>/<data.dataset>``.

    Every reader and writer of local knowledge (the dbt models, the CLI, the loop's Notion
    sync, the benchmark) resolves it here, so no dataset reads another's files.
    """
    return dataset_directory(cfg.knowledge, cfg.data.dataset)


def dataset_directory(cfg: KnowledgeConfig, dataset: str) -> Path:
    """The folder of ``dataset`` under the knowledge root (for ``prism init``, which needs it
    before the configuration it writes exists)."""
    return knowledge_root(cfg) / dataset


def read_rows(directory: str | Path, table: str) -> list[dict[str, Any]]:
    """Validated rows of one collection from its YAML file (missing file -> no rows).

    Raises
    ------
    KnowledgeError
        If the file is not valid YAML, lacks its top-level list, or has an invalid row.
    """
    return read_rows_with_origins(directory, table)[0]


def read_rows_with_origins(
    directory: str | Path, table: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`read_rows` and where each row is (``<file>: issues[3]``), for later messages."""
    filename, key, _ = FILES[table]
    path = Path(directory) / filename
    if not path.exists():
        return [], []
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from None
    rows = document.get(key, []) if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise KnowledgeError(f"{path}: expected a top-level '{key}:' list of rows")
    origins = [f"{path}: {key}[{i}]" for i in range(len(rows))]
    # validate_rows raises on any bad row, so the rows it returns align with the origins.
    return validate_rows(table, rows, origins), origins


def load_table(directory: str | Path, table: str) -> pd.DataFrame:
    """One ``knowledge_*`` table from its YAML file (missing file -> empty table)."""
    _, _, columns = FILES[table]
    frame = pd.DataFrame(read_rows(directory, table), columns=columns)
    for col in ("start_date", "end_date"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col]).dt.date
    for col in ("roi_low", "roi_high"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col])
    return frame


def load_dataset_table(table: str) -> pd.DataFrame:
    """What a dbt model ``knowledge_*`` returns: its table for the configured dataset, after
    :func:`~prism_mmm.knowledge.check.check_knowledge`, so a direct ``dbt build`` refuses
    knowledge that does not fit the data just as ``prism build`` does."""
    from prism_mmm.config import load_config
    from prism_mmm.knowledge.check import check_knowledge

    cfg = load_config()
    check_knowledge(cfg, [table])
    return load_table(knowledge_directory(cfg), table)


def expected_roi_ranges(directory: str | Path) -> dict[str, tuple[float, float]]:
    """channel -> (roi_low, roi_high) from Business Context."""
    context = load_table(directory, "knowledge_business_context")
    rows = context[(context["key"] == EXPECTED_ROI) & context["channel"].notna()]
    return {r.channel: (float(r.roi_low), float(r.roi_high)) for r in rows.itertuples()}


def validate_directory(directory: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Validate all three YAML files; the error lists the problems of every file at once."""
    tables: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    for table in FILES:
        try:
            tables[table] = read_rows(directory, table)
        except KnowledgeError as exc:
            problems.append(str(exc))
    if problems:
        raise KnowledgeError("\n".join(problems))
    return tables


def write_snapshot(
    directory: str | Path, tables: dict[str, list[dict[str, Any]]], headers: dict[str, str]
) -> None:
    """Write validated rows as YAML files (``headers``: table -> comment text), atomically.

    Every file is first written in full to a temporary file next to its target, and only
    when all of them are written are they renamed into place, so a failure (disk full,
    unserialisable value) leaves the previous snapshot untouched.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for table, rows in tables.items():
            filename, key, _ = FILES[table]
            comment = "".join(f"# {line}\n" for line in headers.get(table, "").splitlines())
            body = yaml.safe_dump({key: rows}, sort_keys=False, allow_unicode=True, width=100)
            with tempfile.NamedTemporaryFile(
                "w", dir=directory, prefix=f".{filename}.", suffix=".tmp", delete=False
            ) as handle:
                staged.append((handle.name, directory / filename))
                handle.write(comment + body)
        for temp, target in staged:
            os.replace(temp, target)
    finally:
        for temp, _ in staged:
            Path(temp).unlink(missing_ok=True)
