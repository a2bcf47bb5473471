"""Validation of knowledge rows and the local YAML loader / snapshot writer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from prism_mmm.knowledge.local import (
    CONTEXT_COLUMNS,
    FIELD_COLUMNS,
    ISSUE_COLUMNS,
    expected_roi_ranges,
    load_table,
    read_rows,
    validate_directory,
    write_snapshot,
)
from prism_mmm.knowledge.schema import KnowledgeError, validate_rows

ISSUES = "knowledge_known_issues"
CONTEXT = "knowledge_business_context"
FIELDS = "knowledge_field_definitions"


def issue(**overrides: object) -> dict:
    row = {
        "issue_id": "outage",
        "start_date": "2023-03-06",
        "end_date": "2023-03-13",
        "column_name": "meta_facebook",
        "description": "pixel outage",
        "action": "exclude",
    }
    return {**row, **overrides}


def roi(**overrides: object) -> dict:
    return {
        "key": "expected_roi",
        "channel": "google_search",
        "roi_low": 0.5,
        "roi_high": 9.0,
        "value": None,
        **overrides,
    }


def test_bundled_knowledge_loads_with_the_documented_columns(snapshot: Path) -> None:
    tables = validate_directory(snapshot)
    assert {t: len(r) for t, r in tables.items()} == {
        FIELDS: 13, CONTEXT: 13, ISSUES: 1, "knowledge_events": 2, "knowledge_experiments": 0}
    assert list(load_table(snapshot, FIELDS).columns) == FIELD_COLUMNS
    assert list(load_table(snapshot, CONTEXT).columns) == CONTEXT_COLUMNS
    issues = load_table(snapshot, ISSUES)
    assert list(issues.columns) == ISSUE_COLUMNS
    assert issues.loc[0, "start_date"] == dt.date(2022, 5, 30) == issues.loc[0, "end_date"]
    assert issues.loc[0, "column_name"] == "*"
    assert expected_roi_ranges(snapshot)["google_display"] == (0.1, 8.0)


def test_missing_file_is_an_empty_table(tmp_path: Path) -> None:
    frame = load_table(tmp_path, ISSUES)
    assert frame.empty and list(frame.columns) == ISSUE_COLUMNS


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (roi(roi_low=9.0, roi_high=0.5), "roi_low 9.0 is greater than roi_high 0.5"),
        (roi(roi_low=0.0), "must be > 0"),
        (roi(roi_high=None), "needs both roi_low and roi_high"),
        (roi(channel=None), "expected_roi needs a channel"),
        (roi(channel="Google Search"), "'google_search'"),  # suggests a safe name
        (roi(roi_low="abc"), "roi_low"),
    ],
)
def test_business_context_rules(row: dict, message: str) -> None:
    with pytest.raises(KnowledgeError, match="Business Context") as info:
        validate_rows(CONTEXT, [row], ["business_context.yml: context[4]"])
    assert message in str(info.value)
    assert "business_context.yml: context[4] (key 'expected_roi'" in str(info.value)


def test_other_context_keys_need_no_roi_and_may_repeat() -> None:
    rows = validate_rows(
        CONTEXT,
        [{"key": "campaign", "value": "Spring sale"}, {"key": "campaign", "value": "Black Friday"}],
    )
    assert [r["roi_low"] for r in rows] == [None, None]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (issue(end_date="2023-03-01"), "end_date 2023-03-01 is before start_date 2023-03-06"),
        (issue(action="delete"), "action: Input should be 'flag', 'exclude' or 'cap'"),
        (issue(column_name="Meta Facebook"), "unsafe column name 'Meta Facebook'"),
        (issue(column_name="*", action="cap"), "cannot be capped"),
        (issue(issue_id="Pixel outage"), "unsafe issue_id name"),
        (issue(start_date=None), "start_date"),
        (issue(start_date="30/05/2022"), "start_date"),
    ],
)
def test_known_issue_rules(row: dict, message: str) -> None:
    with pytest.raises(KnowledgeError, match="Known Issues") as info:
        validate_rows(ISSUES, [row], ["Known Issues page abc (https://www.notion.so/abc)"])
    assert message in str(info.value)
    assert "Known Issues page abc (https://www.notion.so/abc)" in str(info.value)


def test_known_issue_normalisation() -> None:
    (row,) = validate_rows(ISSUES, [issue(end_date="", column_name="*", action=" Flag ")])
    assert row["end_date"] == row["start_date"] == dt.date(2023, 3, 6)
    assert row["action"] == "flag" and list(row) == ISSUE_COLUMNS


def test_field_definition_rules() -> None:
    rows = [
        {"column_name": "tv", "is_spend": True, "is_kpi": True},
        {"column_name": "price", "is_control": True, "meaning": "  "},
        {"column_name": "price", "is_control": True},
        {"column_name": "bad name"},
        {"column_name": "revenue", "surprise": 1},
    ]
    with pytest.raises(KnowledgeError) as info:
        validate_rows(FIELDS, rows)
    message = str(info.value)
    assert "4 invalid row(s)" in message  # every problem reported at once
    assert (
        "row 1 (column_name 'tv'): a column has at most one role, got is_spend and is_kpi"
        in message
    )
    assert "row 3 (column_name 'price'): duplicate of row 2" in message
    assert "row 4 (column_name 'bad name')" in message
    assert "row 5 (column_name 'revenue'): surprise: Extra inputs are not permitted" in message


def test_invalid_yaml_names_the_file_and_row(snapshot: Path) -> None:
    path = snapshot / "known_issues.yml"
    path.write_text(yaml.safe_dump({"issues": [issue(), issue(issue_id="x2", action="drop")]}))
    with pytest.raises(KnowledgeError) as info:
        load_table(snapshot, ISSUES)
    assert f"{path}: issues[1] (issue_id 'x2')" in str(info.value)
    path.write_text("issues: {not: a list}")
    with pytest.raises(KnowledgeError, match="expected a top-level 'issues:' list"):
        read_rows(snapshot, ISSUES)
    path.write_text("issues: [unclosed")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        validate_directory(snapshot)


def test_write_snapshot_round_trips_and_is_all_or_nothing(snapshot: Path) -> None:
    rows = validate_rows(ISSUES, [issue(), issue(issue_id="promo", column_name="*", action="flag")])
    write_snapshot(snapshot, {ISSUES: rows}, {ISSUES: "Snapshot header\nsecond line"})
    text = (snapshot / "known_issues.yml").read_text()
    assert text.startswith("# Snapshot header\n# second line\nissues:\n")
    assert read_rows(snapshot, ISSUES) == rows

    before = {p.name: p.read_bytes() for p in snapshot.iterdir()}
    broken = {FIELDS: [{"column_name": object()}], ISSUES: rows[:1]}  # not serialisable
    with pytest.raises(yaml.YAMLError):
        write_snapshot(snapshot, broken, {})
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == before  # no temp files left
