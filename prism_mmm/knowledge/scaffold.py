"""Neutral starting knowledge for a new dataset, written by ``prism init``.

Field definitions describe what ``prism init`` profiled (date, KPI, channels, controls, columns
left out, label columns) with their roles; business context holds only the brand and the KPI,
with no expected ROI range, so the Bayesian model keeps its data-scaled default priors; there
are no known issues, events or experiments (their files carry a commented example row).
Nothing is taken from any other dataset.
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
EVENTS = "knowledge_events"
EXPERIMENTS = "knowledge_experiments"


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
    """The collections for a newly profiled dataset (rows validated).

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
        EVENTS: [],
        EXPERIMENTS: [],
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
        EVENTS: f"Events of dataset {dataset} (none yet): campaigns and promotions with dates, "
        "and holidays the\nbuilt-in calendar lacks. One row per occurrence; rows sharing an "
        "event_id are one recurring\nevent. event_id: snake_case; start_date and end_date are "
        "inclusive (no end_date: a single day);\nkind: campaign, promotion, holiday or other. "
        "E.g.\n"
        "  - {event_id: spring_sale, start_date: 2024-03-18, end_date: 2024-03-31, kind: "
        "promotion, description: 20 % off sitewide}",
        EXPERIMENTS: f"Lift tests of dataset {dataset} (none yet). Enter only measured results.\n"
        "type: geo_lift, conversion_lift or go_dark; start_date and end_date: the test window "
        "(inclusive).\nfigures (required): total = every figure below is a total over the "
        "window; per_week = every\nfigure is the average weekly value over the window.\n"
        "spend: spend on the channel during the test, in the test's scope (regions, audience).\n"
        "spend_change: the extra spend of a lift test, or minus the usual spend of a go_dark "
        "test.\nlift: the incremental KPI that spend change caused (negative when going dark "
        "lost sales), with\nits error: lift_se (standard error) or lift_low and lift_high (a "
        "90 % interval).\ncalibrate (default true): whether the models use the test. E.g.\n"
        f"  - {{experiment_id: geo_test_2024_04, channel: {channel}, type: geo_lift, "
        "start_date: 2024-04-01, end_date: 2024-04-28, spend: 40000, spend_change: 20000, "
        "lift: 60000, lift_low: 35000, lift_high: 85000, figures: total}",
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
