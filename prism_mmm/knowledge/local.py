"""Local YAML knowledge (the default source, and the offline snapshot of Notion).

``load_table`` is what the dbt python models ``knowledge_*`` call; it validates the rows so a
bad edit of a YAML file fails the build with a message naming the file and the row.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from prism_mmm.config import PROJECT_ROOT, KnowledgeConfig
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
    "expected_roi_ranges",
    "knowledge_directory",
    "load_table",
    "read_rows",
    "validate_directory",
    "write_snapshot",
]

FILES = {
    "knowledge_field_definitions": ("field_definitions.yml", "fields", FIELD_COLUMNS),
    "knowledge_business_context": ("business_context.yml", "context", CONTEXT_COLUMNS),
    "knowledge_known_issues": ("known_issues.yml", "issues", ISSUE_COLUMNS),
}


def knowledge_directory(cfg: KnowledgeConfig) -> Path:
    """The YAML directory; a relative ``knowledge.directory`` is relative to the project dir.

    The project dir is ``PRISM_PROJECT_DIR`` when set (as for dbt runs), else the repository.
    """
    directory = Path(cfg.directory)
    if directory.is_absolute():
        return directory
    return Path(os.environ.get("PRISM_PROJECT_DIR", PROJECT_ROOT)) / directory


def read_rows(directory: str | Path, table: str) -> list[dict[str, Any]]:
    """Validated rows of one collection from its YAML file (missing file -> no rows).

    Raises
    ------
    KnowledgeError
        If the file is not valid YAML, lacks its top-level list, or has an invalid row.
    """
    filename, key, _ = FILES[table]
    path = Path(directory) / filename
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML: {exc}") from None
    rows = document.get(key, []) if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise KnowledgeError(f"{path}: expected a top-level '{key}:' list of rows")
    return validate_rows(table, rows, [f"{path}: {key}[{i}]" for i in range(len(rows))])


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
