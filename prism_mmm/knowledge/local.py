"""Local YAML knowledge (the default source, and the offline snapshot of Notion)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

FIELD_COLUMNS = ["column_name", "meaning", "unit", "channel_group", "is_spend", "is_kpi", "is_control"]
CONTEXT_COLUMNS = ["key", "value", "channel", "roi_low", "roi_high"]
ISSUE_COLUMNS = ["issue_id", "start_date", "end_date", "column_name", "description", "action"]

FILES = {
    "knowledge_field_definitions": ("field_definitions.yml", "fields", FIELD_COLUMNS),
    "knowledge_business_context": ("business_context.yml", "context", CONTEXT_COLUMNS),
    "knowledge_known_issues": ("known_issues.yml", "issues", ISSUE_COLUMNS),
}


def load_table(directory: str | Path, table: str) -> pd.DataFrame:
    """One ``knowledge_*`` table from its YAML file (missing file -> empty table)."""
    filename, key, columns = FILES[table]
    path = Path(directory) / filename
    rows = (yaml.safe_load(path.read_text()) or {}).get(key, []) if path.exists() else []
    frame = pd.DataFrame(rows, columns=columns)
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
    rows = context[(context["key"] == "expected_roi") & context["channel"].notna()]
    return {r.channel: (float(r.roi_low), float(r.roi_high)) for r in rows.itertuples()}
