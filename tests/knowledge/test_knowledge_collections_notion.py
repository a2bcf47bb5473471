"""Events and Experiments through the real notion_client against the fake Notion server."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import pytest
import yaml

from prism_mmm.config import KnowledgeConfig, NotionConfig, PrismConfig
from prism_mmm.knowledge.check import dataset_problems
from prism_mmm.knowledge.local import load_table, read_rows
from prism_mmm.knowledge.notion import database_ids, push, sync
from prism_mmm.knowledge.schema import KnowledgeError
from tests.knowledge.fake_notion import FakeNotion

DATASET = "conjura_apparel"
EVENTS = "knowledge_events"
EXPERIMENTS = "knowledge_experiments"


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def lift_test(**overrides: object) -> dict:
    row = {"experiment_id": "geo_2024_04", "channel": "meta_facebook", "type": "geo_lift",
           "start_date": "2024-04-01", "end_date": "2024-04-28", "spend": 10000.0,
           "spend_change": 5000.0, "lift": 15000.0, "lift_low": 8750.0, "lift_high": 21250.0,
           "figures": "per_week", "calibrate": True}
    return {**row, **overrides}


def test_events_paginate_past_100_rows(snapshot: Path) -> None:
    # Notion returns at most 100 rows per query: 152 rows take two requests.
    with FakeNotion(page_size=100) as fake:
        ids = fake.seed(snapshot)  # with the demo's three late-May rows
        first = dt.date(2021, 1, 4)
        for week in range(150):
            fake.add_row(ids["events_id"], {
                "event_id": "weekly_flash_sale", "kind": "promotion",
                "start_date": (first + dt.timedelta(weeks=week)).isoformat()})
        report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
        source = fake.databases[ids["events_id"]]["source"]
        assert fake.count("POST", f"/v1/data_sources/{source}/query") == 2
    change = report.collections[EVENTS]
    assert change.rows == 152 and len(change.added) == 150
    assert "weekly_flash_sale 2021-01-04" in change.added  # an occurrence: id and start date
    events = load_table(snapshot, EVENTS)
    assert len(events) == 152 and (events["end_date"] == events["start_date"]).sum() == 150


def test_a_new_experiment_and_event_reach_the_snapshot(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["experiments_id"], lift_test())
    fake.add_row(ids["events_id"], {"event_id": "black_friday", "start_date": "2023-11-24",
                                    "kind": "holiday", "description": "Not in the calendar"})
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET,
                  check=partial(dataset_problems, PrismConfig()))
    assert report.collections[EXPERIMENTS].added == ("geo_2024_04",)
    assert report.collections[EVENTS].added == ("black_friday 2023-11-24",)
    assert "Experiments: 1 rows (+1 -0 ~0)" in report.summary()
    text = (snapshot / "experiments.yml").read_text()
    assert text.startswith("# Snapshot of the Notion Experiments database")
    (row,) = read_rows(snapshot, EXPERIMENTS)
    assert (row["figures"], row["lift_se"], row["lift_low"]) == ("per_week", None, 8750.0)
    table = load_table(snapshot, EXPERIMENTS).iloc[0]
    assert (table["n_weeks"], table["spend_total"], table["lift_total"]) == (4.0, 40000.0, 60000.0)
    assert table["lift_se_total"] == pytest.approx(4 * 12500 / (2 * 1.6449), rel=1e-4)

    # Edited in Notion: the change is reported column by column.
    page = fake.rows(ids["experiments_id"])[0]
    page["properties"]["Calibrate"]["checkbox"] = False
    again = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert again.collections[EXPERIMENTS].changed == {"geo_2024_04": {"calibrate": (True, False)}}


def test_malformed_rows_name_their_pages_and_nothing_is_written(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["experiments_id"], lift_test())  # valid
    no_figures = fake.add_row(ids["experiments_id"], lift_test(experiment_id="conv_q1",
                                                                figures=None))
    bad_kind = fake.add_row(ids["events_id"], {"event_id": "summer_sale", "kind": "sale",
                                               "start_date": "2023-07-03"})
    # A raw page as typed in Notion: no Type, no Lift, and a go-dark test with extra spend.
    raw = fake.add_page(ids["experiments_id"], {
        "Experiment ID": {"title": [{"text": {"content": "dark_2023"}}]},
        "Channel": {"select": {"name": "google_video"}},
        "Dates": {"date": {"start": "2023-09-04", "end": "2023-09-24"}},
        "Spend change": {"number": 100},
        "Figures": {"select": {"name": "total"}},
        "Dataset": {"select": {"name": DATASET}},
    })
    before = files(snapshot)
    with pytest.raises(KnowledgeError) as info:
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    message = str(info.value)
    url = f"https://www.notion.so/{no_figures.replace('-', '')}"
    assert (f"Experiments page {no_figures} ({url}) (experiment_id 'conv_q1', channel "
            "'meta_facebook'): figures is required") in message
    assert f"Events page {bad_kind} " in message and "kind: Input should be" in message
    assert f"Experiments page {raw} " in message
    assert "type: Input should be" in message and "lift: Input should be a valid number" in message
    assert "Experiments: 2 invalid row(s)" in message
    assert files(snapshot) == before  # the valid experiment was not written either


def test_rows_of_another_dataset_are_ignored(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    # Another brand's test on a channel this dataset lacks: not ours, so not checked either.
    fake.add_row(ids["experiments_id"], lift_test(channel="tv", dataset="acme"))
    fake.add_row(ids["events_id"], {"event_id": "strike", "start_date": "2024-03-04",
                                    "kind": "other", "dataset": "acme"})
    before = files(snapshot)
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET,
                  check=partial(dataset_problems, PrismConfig()))
    assert not report.changed and files(snapshot) == before
    assert report.collections[EXPERIMENTS].other_datasets == {"acme": 1}
    assert report.collections[EVENTS].other_datasets == {"acme": 1}
    assert "Experiments: 0 rows (+0 -0 ~0); 1 rows of other datasets ignored (acme: 1)" in (
        report.summary())


def test_an_experiment_on_a_channel_the_data_lacks_is_refused(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    page = fake.add_row(ids["experiments_id"], lift_test(channel="tv"))
    before = files(snapshot)
    with pytest.raises(KnowledgeError) as info:
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET,
             check=partial(dataset_problems, PrismConfig()))
    assert (f"Experiments page {page} (https://www.notion.so/{page.replace('-', '')}) "
            "(experiment_id 'geo_2024_04', channel 'tv'): experiment on tv: no such channel in "
            "dataset conjura_apparel") in str(info.value)
    assert files(snapshot) == before


def test_push_creates_events_and_experiments_that_sync_back(
    fake: FakeNotion, snapshot: Path, tmp_path: Path
) -> None:
    (snapshot / "experiments.yml").write_text(yaml.safe_dump({"experiments": [
        lift_test(),
        # A one-day test keeps its end date in Notion: an experiment's end is required.
        lift_test(experiment_id="dark_day", type="go_dark", spend=0.0, spend_change=-3000.0,
                  lift=-2500.0, lift_low=None, lift_high=None, lift_se=900.0, figures="total",
                  start_date="2024-02-05", end_date="2024-02-05", calibrate=False),
    ]}))
    result = push(KnowledgeConfig(notion={"base_url": fake.base_url}), fake.token,
                  fake.add_parent_page(), snapshot, DATASET)
    assert (result.rows["events_id"], result.rows["experiments_id"]) == (2, 2)
    experiments = result.database_ids["experiments_id"]
    schema = fake.schema(experiments)
    assert [o["name"] for o in schema["Type"]["select"]["options"]] == [
        "geo_lift", "conversion_lift", "go_dark"]
    assert [o["name"] for o in schema["Figures"]["select"]["options"]] == ["total", "per_week"]
    assert schema["Calibrate"]["type"] == "checkbox" and schema["Lift SE"]["type"] == "number"
    dates = {p["properties"]["Experiment ID"]["title"][0]["plain_text"]:
             p["properties"]["Dates"]["date"] for p in fake.rows(experiments)}
    assert dates["dark_day"] == {"start": "2024-02-05", "end": "2024-02-05", "time_zone": None}
    kinds = fake.schema(result.database_ids["events_id"])["Kind"]["select"]["options"]
    assert [o["name"] for o in kinds] == ["campaign", "promotion", "holiday", "other"]

    target = tmp_path / "round_trip"
    sync(fake.knowledge_config(result.database_ids), fake.token, target, dataset=DATASET)
    # Snapshots are sorted by row key.
    assert read_rows(target, EXPERIMENTS) == sorted(
        read_rows(snapshot, EXPERIMENTS), key=lambda r: r["experiment_id"])
    assert read_rows(target, EVENTS) == read_rows(snapshot, EVENTS)


def test_push_only_some_collections_and_an_empty_database_offers_the_dataset(
    fake: FakeNotion, snapshot: Path
) -> None:
    (snapshot / "events.yml").write_text("events: [{event_id: x, start_date: 2024-01-01, "
                                         "kind: sale}]")  # invalid, but not pushed
    result = push(KnowledgeConfig(notion={"base_url": fake.base_url}), fake.token,
                  fake.add_parent_page(), snapshot, DATASET, only=[EXPERIMENTS])
    assert list(result.database_ids) == ["experiments_id"] and len(fake.databases) == 1
    options = fake.schema(result.database_ids["experiments_id"])["Dataset"]["select"]["options"]
    assert [o["name"] for o in options] == [DATASET]  # no rows, yet the first can pick it


def test_a_workspace_without_the_new_databases_keeps_syncing(
    fake: FakeNotion, snapshot: Path, monkeypatch
) -> None:
    for name in ("EVENTS", "EXPERIMENTS"):
        monkeypatch.delenv(f"PRISM_NOTION_{name}_ID", raising=False)
    ids = fake.seed(snapshot)
    older = {k: v for k, v in ids.items() if k not in ("events_id", "experiments_id")}
    assert set(database_ids(NotionConfig(**older))) == {
        "knowledge_field_definitions", "knowledge_business_context", "knowledge_known_issues"}
    before = files(snapshot)
    report = sync(fake.knowledge_config(older), fake.token, snapshot, dataset=DATASET)
    assert set(report.collections) == {
        "knowledge_field_definitions", "knowledge_business_context", "knowledge_known_issues"}
    assert files(snapshot) == before  # events.yml and experiments.yml are the local ones
    (events, experiments) = [w for w in report.warnings if "is not read from Notion" in w]
    assert events.startswith("Events is not read from Notion (no knowledge.notion.events_id or "
                             "env PRISM_NOTION_EVENTS_ID): its local events.yml is kept")
    assert "`prism knowledge push --parent PAGE_ID --only experiments`" in experiments

    monkeypatch.setenv("PRISM_NOTION_EVENTS_ID", ids["events_id"])  # the env var is read too
    report = sync(fake.knowledge_config(older), fake.token, snapshot, dataset=DATASET)
    assert EVENTS in report.collections and EXPERIMENTS not in report.collections
