"""Events and Experiments: validation, the totals of an experiment, the check against the data,
the scaffold and the bundled demo's rows."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
import yaml

from prism_mmm.config import PrismConfig
from prism_mmm.ingest import Profile
from prism_mmm.knowledge.check import check_knowledge, dataset_problems
from prism_mmm.knowledge.local import (
    EVENT_COLUMNS,
    EXPERIMENT_COLUMNS,
    EXPERIMENT_TABLE_COLUMNS,
    knowledge_directory,
    load_table,
    read_rows,
    write_snapshot,
)
from prism_mmm.knowledge.scaffold import scaffold_headers, scaffold_tables
from prism_mmm.knowledge.schema import KnowledgeError, experiment_totals, validate_rows

EVENTS = "knowledge_events"
EXPERIMENTS = "knowledge_experiments"
Z_90 = 1.6449


def event(**overrides: object) -> dict:
    row = {"event_id": "spring_sale", "start_date": "2024-03-18", "end_date": "2024-03-31",
           "description": "20 % off", "kind": "promotion"}
    return {**row, **overrides}


def experiment(**overrides: object) -> dict:
    row = {"experiment_id": "geo_2024_04", "channel": "meta_facebook", "type": "geo_lift",
           "start_date": "2024-04-01", "end_date": "2024-04-28", "spend": 40000.0,
           "spend_change": 20000.0, "lift": 60000.0, "lift_se": 15000.0, "figures": "total"}
    return {**row, **overrides}


# ---------------------------------------------------------------------------------- Events
@pytest.mark.parametrize(
    ("row", "message"),
    [
        (event(end_date="2024-03-01"), "end_date 2024-03-01 is before start_date 2024-03-18"),
        (event(event_id="Spring Sale"), "unsafe event_id name 'Spring Sale'"),
        (event(kind="sale"), "kind: Input should be 'campaign', 'promotion', 'holiday' or 'other'"),
        (event(kind=None), "kind"),
        (event(start_date="18/03/2024"), "start_date"),
    ],
)
def test_event_rules(row: dict, message: str) -> None:
    origin = "knowledge/acme/events.yml: events[2]"
    with pytest.raises(KnowledgeError, match="Events: 1 invalid row") as info:
        validate_rows(EVENTS, [row], [origin])
    assert message in str(info.value)
    assert origin in str(info.value)


def test_events_recur_under_one_id_and_default_to_a_single_day() -> None:
    rows = validate_rows(EVENTS, [
        event(event_id="black_friday", start_date="2023-11-24", end_date="", kind=" Holiday "),
        event(event_id="black_friday", start_date="2024-11-29", end_date=None, kind="holiday"),
    ])
    assert [(r["start_date"], r["end_date"]) for r in rows] == [
        (dt.date(2023, 11, 24), dt.date(2023, 11, 24)),
        (dt.date(2024, 11, 29), dt.date(2024, 11, 29)),
    ]
    assert {r["kind"] for r in rows} == {"holiday"} and list(rows[0]) == EVENT_COLUMNS
    # The same occurrence twice is a duplicate; the message names both rows.
    with pytest.raises(KnowledgeError, match=r"row 2 \(event_id 'spring_sale'\): duplicate of "
                       r"row 1 \('spring_sale 2024-03-18' appears twice\)"):
        validate_rows(EVENTS, [event(), event(description="again")])


# ----------------------------------------------------------------------------- Experiments
@pytest.mark.parametrize(
    ("row", "message"),
    [
        (experiment(figures=None), "figures is required: 'total' if spend, spend_change, lift"),
        ({k: v for k, v in experiment().items() if k != "figures"}, "figures is required"),
        (experiment(figures="weekly"), "figures: Input should be 'total' or 'per_week'"),
        (experiment(type="holdout"), "type: Input should be 'geo_lift', 'conversion_lift' or"),
        (experiment(end_date="2024-03-01"), "end_date 2024-03-01 is before start_date"),
        (experiment(end_date=None), "end_date"),
        (experiment(experiment_id="Geo test"), "unsafe experiment_id name 'Geo test'"),
        (experiment(channel="Meta Facebook"), "unsafe channel name 'Meta Facebook'"),
        (experiment(spend=-1.0, spend_change=-2.0, type="go_dark"), "spend -1.0 is negative"),
        (experiment(spend_change=50000.0), "must be the extra spend: > 0 and at most spend"),
        (experiment(spend_change=-5.0), "must be the extra spend"),
        (experiment(type="go_dark"), "go_dark test must be minus the usual spend"),
        (experiment(lift_low=3e4, lift_high=9e4), "lift_se or lift_low and lift_high, not both"),
        (experiment(lift_se=None), "the lift needs its uncertainty"),
        (experiment(lift_se=None, lift_low=30000.0), "lift_low and lift_high go together"),
        (experiment(lift_se=None, lift_low=70000.0, lift_high=90000.0), "contain the lift"),
        (experiment(lift_se=None, lift_low=9e4, lift_high=3e4), "contain the lift"),
        (experiment(lift_se=0.0), "lift_se must be > 0"),
        (experiment(lift="nan"), "lift: Input should be a finite number"),
        (experiment(calibrate="maybe"), "calibrate: Input should be a valid boolean"),
        (experiment(series="brand_a"), "series: Extra inputs are not permitted"),
    ],
)
def test_experiment_rules(row: dict, message: str) -> None:
    origin = "Experiments page abc (https://www.notion.so/abc)"
    with pytest.raises(KnowledgeError, match="Experiments: 1 invalid row") as info:
        validate_rows(EXPERIMENTS, [row], [origin])
    assert message in str(info.value)
    assert f"{origin} (experiment_id " in str(info.value)


def test_experiment_normalisation_and_defaults() -> None:
    (row,) = validate_rows(EXPERIMENTS, [experiment(
        type="Geo lift", figures=" Per week ", lift_se="", lift_low=35000, lift_high=85000,
        calibrate="")])
    assert (row["type"], row["figures"], row["calibrate"]) == ("geo_lift", "per_week", True)
    assert row["lift_se"] is None and list(row) == EXPERIMENT_COLUMNS
    (dark,) = validate_rows(EXPERIMENTS, [experiment(
        type="go-dark", spend=0.0, spend_change=-30000.0, lift=-45000.0, calibrate=False)])
    assert dark["type"] == "go_dark" and dark["calibrate"] is False


def totals(**overrides: object) -> dict:
    (row,) = validate_rows(EXPERIMENTS, [experiment(**overrides)])
    return experiment_totals(row)


def test_totals_are_the_figures_as_entered() -> None:
    assert totals() == {"n_weeks": 4.0, "spend_total": 40000.0, "spend_change_total": 20000.0,
                        "lift_total": 60000.0, "lift_se_total": 15000.0}


def test_per_week_figures_are_averages_times_the_weeks() -> None:
    # 2024-04-01 .. 2024-04-28 inclusive: 28 days, 4 weeks. The SE of a total that is 4 times
    # a weekly average is 4 times the average's SE (not sqrt(4) times).
    got = totals(figures="per_week", spend=10000.0, spend_change=5000.0, lift=15000.0,
                 lift_se=3750.0)
    assert got == {"n_weeks": 4.0, "spend_total": 40000.0, "spend_change_total": 20000.0,
                   "lift_total": 60000.0, "lift_se_total": 15000.0}
    # A window that is not whole weeks: 30 days = 30/7 weeks.
    odd = totals(figures="per_week", end_date="2024-04-30", spend=7000.0, spend_change=700.0,
                 lift=1400.0, lift_se=70.0)
    assert odd["n_weeks"] == pytest.approx(30 / 7)
    assert odd["spend_total"] == pytest.approx(30000.0)
    assert odd["lift_se_total"] == pytest.approx(300.0)


def test_a_90_percent_interval_becomes_a_standard_error() -> None:
    got = totals(lift_se=None, lift_low=35000.0, lift_high=85000.0)
    assert got["lift_se_total"] == pytest.approx(50000.0 / (2 * Z_90), rel=1e-4)
    assert got["lift_total"] == 60000.0  # the point estimate, not the interval's midpoint
    weekly = totals(figures="per_week", spend=10000.0, spend_change=5000.0, lift=15000.0,
                    lift_se=None, lift_low=8750.0, lift_high=21250.0)
    assert weekly["lift_se_total"] == pytest.approx(4 * 12500.0 / (2 * Z_90), rel=1e-4)
    # An asymmetric interval around the estimate is allowed; only its width is used.
    skew = totals(lift_se=None, lift_low=55000.0, lift_high=95000.0)
    assert skew["lift_se_total"] == pytest.approx(40000.0 / (2 * Z_90), rel=1e-4)


def test_experiments_table_has_both_the_entered_figures_and_totals(tmp_path: Path) -> None:
    rows = validate_rows(EXPERIMENTS, [
        experiment(),
        experiment(experiment_id="lift_weekly", figures="per_week", spend=10000.0,
                   spend_change=5000.0, lift=15000.0, lift_se=None, lift_low=8750.0,
                   lift_high=21250.0, calibrate=False),
    ])
    write_snapshot(tmp_path, {EXPERIMENTS: rows}, {EXPERIMENTS: "header"})
    assert read_rows(tmp_path, EXPERIMENTS) == rows  # the snapshot keeps what was entered
    frame = load_table(tmp_path, EXPERIMENTS).set_index("experiment_id")
    assert list(frame.reset_index().columns) == EXPERIMENT_TABLE_COLUMNS
    weekly = frame.loc["lift_weekly"]
    assert (weekly["spend"], weekly["spend_total"], weekly["lift_total"]) == (
        10000.0, 40000.0, 60000.0)
    assert math.isnan(weekly["lift_se"]) and weekly["lift_low"] == 8750.0
    assert weekly["lift_se_total"] == pytest.approx(4 * 12500.0 / (2 * Z_90), rel=1e-4)
    assert not weekly["calibrate"] and frame.loc["geo_2024_04", "calibrate"]
    assert frame.loc["geo_2024_04", "start_date"] == dt.date(2024, 4, 1)

    empty = load_table(tmp_path / "none", EXPERIMENTS)
    assert empty.empty and list(empty.columns) == EXPERIMENT_TABLE_COLUMNS
    assert load_table(tmp_path / "none", EVENTS).empty  # a missing file is an empty table


def test_a_bad_yaml_row_names_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "experiments.yml"
    path.write_text(yaml.safe_dump({"experiments": [
        experiment(), experiment(experiment_id="bad", figures=None)]}))
    with pytest.raises(KnowledgeError) as info:
        load_table(tmp_path, EXPERIMENTS)
    assert (f"{path}: experiments[1] (experiment_id 'bad', channel 'meta_facebook'): "
            "figures is required") in str(info.value)
    (tmp_path / "events.yml").write_text("events: {not: a list}")
    with pytest.raises(KnowledgeError, match="expected a top-level 'events:' list"):
        read_rows(tmp_path, EVENTS)


# ------------------------------------------------------------------ against the data
def test_an_experiment_on_a_channel_the_data_lacks_is_refused(tmp_path: Path) -> None:
    cfg = PrismConfig.model_validate({
        "data": {"channels": ["tv", "search"], "dataset": "acme"},
        "knowledge": {"directory": str(tmp_path / "knowledge")}})
    rows = validate_rows(EXPERIMENTS, [experiment(channel="tv"), experiment(
        experiment_id="meta_test", channel="meta_facebook")])
    (problem,) = dataset_problems(cfg, EXPERIMENTS, rows, ["Notion page p1", "Notion page p2"])
    assert problem == ("Notion page p2 (experiment_id 'meta_test', channel 'meta_facebook'): "
                       "experiment on meta_facebook: no such channel in dataset acme (channels: "
                       "tv, search)")

    folder = knowledge_directory(cfg)
    folder.mkdir(parents=True)
    write_snapshot(folder, {EXPERIMENTS: rows, EVENTS: validate_rows(EVENTS, [event()])}, {})
    with pytest.raises(KnowledgeError) as info:
        check_knowledge(cfg)
    assert (f"{folder / 'experiments.yml'}: experiments[1] (experiment_id 'meta_test', channel "
            "'meta_facebook'): experiment on meta_facebook: no such channel") in str(info.value)
    assert "experiments[0]" not in str(info.value) and "Events" not in str(info.value)
    check_knowledge(cfg, [EVENTS])  # events name no channel: nothing to refuse


# -------------------------------------------------------------------- scaffold and demo
def test_scaffold_has_empty_events_and_experiments_with_valid_examples() -> None:
    found = Profile(date_column="week", frequency="weekly", kpi="sales",
                    channels=["tv", "search"], controls=[], rename={}, n_weeks=60)
    tables = scaffold_tables(found, "Acme", "EUR")
    assert tables[EVENTS] == [] and tables[EXPERIMENTS] == []
    headers = scaffold_headers("acme", found)
    for table, key in ((EVENTS, "events"), (EXPERIMENTS, "experiments")):
        examples = [line for line in headers[table].splitlines() if line.startswith("  - {")]
        assert len(examples) == 1, headers[table]
        (row,) = yaml.safe_load("\n".join(examples))  # valid once uncommented
        (valid,) = validate_rows(table, [row])
        assert valid[f"{key[:-1]}_id"]
    assert "channel: tv," in headers[EXPERIMENTS]  # the dataset's own channel
    assert "figures (required)" in headers[EXPERIMENTS]


def test_demo_events_are_the_documented_late_may_promotion(monkeypatch) -> None:
    monkeypatch.delenv("PRISM_PROJECT_DIR", raising=False)
    cfg = PrismConfig()
    check_knowledge(cfg)
    events = read_rows(knowledge_directory(cfg), EVENTS)
    assert {(r["event_id"], r["kind"]) for r in events} == {("late_may_promotion", "promotion")}
    assert [r["start_date"].year for r in events] == [2022, 2023]  # no 2024 dates are recorded
    for row in events:
        # The last two full weeks of May: the two Monday-start weeks whose Monday is 18-31 May.
        start = row["start_date"]
        assert start.weekday() == 0 and start.month == 5 and 18 <= start.day <= 24
        assert row["end_date"] == start + dt.timedelta(days=13)
        assert "18-31 May" in row["description"]
    assert read_rows(knowledge_directory(cfg), EXPERIMENTS) == []  # none measured, none made up
