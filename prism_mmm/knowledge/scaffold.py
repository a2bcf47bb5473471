"""Neutral starting knowledge for a new dataset, written by ``prism init``.

Field definitions describe what ``prism init`` profiled (date, KPI, channels, controls, columns
left out, label columns) with their roles; business context holds only the brand and the KPI,
with no expected ROI range, so the Bayesian model keeps its data-scaled default priors; there
are no known issues. Nothing is taken from any other dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prism_mmm.ingest import Profile
from prism_mmm.knowledge.local import FILES, write_snapshot
from prism_mmm.knowledge.schema import validate_rows

FIELDS = "knowledge_field_definitions"
CONTEXT = "knowledge_business_context"
ISSUES = "knowledge_known_issues"


def _field(column: str, meaning: str, unit: str | None = None, role: str | None = None,
           raw: str | None = None) -> dict[str, Any]:
    if raw is not None and raw != column:
        meaning += f" (header {raw!r} in the file)"
    return {
        "column_name": column,
        "meaning": meaning,
        "unit": unit,
        "channel_group": None,
        "is_spend": role == "spend",
        "is_kpi": role == "kpi",
        "is_control": role == "control",
    }


def scaffold_tables(
    found: Profile,
    brand: str,
    currency: str,
    existing_fields: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The three collections for a newly profiled dataset (rows validated).

    ``existing_fields`` are the dataset's own field definitions, if it had any: a column they
    define keeps its row (the profile took its role from it), so re-scaffolding loses no text.
    """
    raw = {safe: header for header, safe in found.rename.items()}
    rows = [_field(found.date_column, "Week start of the weekly row", "date",
                   raw=raw.get(found.date_column)),
            _field(found.kpi, "The KPI the models explain", role="kpi", raw=raw.get(found.kpi))]
    rows += [_field(c, "Media spend per week", currency, "spend", raw.get(c))
             for c in found.channels]
    rows += [_field(c, "Control variable (a driver that is not media)", role="control",
                    raw=raw.get(c)) for c in found.controls]
    rows += [_field(c, "Left out of the models: an outcome, not a driver", raw=raw.get(c))
             for c in found.left_out]
    rows += [_field(c, f"Constant label ({value})", raw=raw.get(c))
             for c, value in found.label_columns.items()]
    kept = {r["column_name"]: r for r in existing_fields or []}
    rows = [dict(kept.get(r["column_name"], r)) for r in rows]
    context = [
        {"key": "brand", "value": brand},
        {"key": "kpi", "value": f"Column {found.kpi}, per week"},
    ]
    return {
        FIELDS: validate_rows(FIELDS, rows),
        CONTEXT: validate_rows(CONTEXT, context),
        ISSUES: [],
    }


def scaffold_headers(dataset: str, found: Profile) -> dict[str, str]:
    """Comments at the top of each scaffolded file: what it is and how to extend it."""
    channel = found.channels[0]
    return {
        FIELDS: f"What each column of dataset {dataset} means, scaffolded by `prism init` from "
        "what it profiled.\nThe roles (is_spend, is_kpi, is_control) win over name heuristics "
        "when `prism init`\nprofiles this dataset again; say what each column measures in "
        "meaning.",
        CONTEXT: f"Business context of dataset {dataset}, scaffolded by `prism init`: no "
        "expected ROI ranges,\nso the Bayesian model uses its data-scaled default priors. "
        "Add a range only for a channel you\nhave evidence for (a lift test, an earlier "
        "model), e.g.\n"
        f"  - {{key: expected_roi, channel: {channel}, roi_low: 0.5, roi_high: 5.0, value: "
        "Lift test 2024}",
        ISSUES: f"Known data issues of dataset {dataset} (none yet). action: flag (event "
        "dummy), exclude\n(week left out of fitting) or cap; column_name: a channel, the "
        f"KPI ({found.kpi}) or \"*\" for the\nwhole week, e.g.\n"
        "  - {issue_id: promo_week, start_date: 2024-05-27, end_date: 2024-05-27, "
        "column_name: \"*\", action: flag}",
    }


def write_scaffold(
    directory: str | Path, dataset: str, found: Profile, brand: str, currency: str,
    existing_fields: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Write the scaffold into ``directory``; files it replaces are kept as ``*.yml.bak``.

    Returns the backups made (empty for a new dataset).
    """
    directory = Path(directory)
    tables = scaffold_tables(found, brand, currency, existing_fields)
    backups = []
    for filename, _, _ in FILES.values():
        path = directory / filename
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            backup.write_bytes(path.read_bytes())
            backups.append(backup)
    write_snapshot(directory, tables, scaffold_headers(dataset, found))
    return backups
