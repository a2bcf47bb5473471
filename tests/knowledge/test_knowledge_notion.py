"""Sync and push through the real notion_client against the fake Notion server."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest
import yaml

from prism_mmm.config import KnowledgeConfig
from prism_mmm.knowledge.local import load_table, read_rows, validate_directory
from prism_mmm.knowledge.notion import SCHEMAS, NotionSyncError, push, sync
from prism_mmm.knowledge.schema import KnowledgeError
from tests.knowledge.fake_notion import FakeNotion

DATASET = "conjura_apparel"  # the fake's default Dataset, and the bundled snapshot's
FIELDS = "knowledge_field_definitions"
CONTEXT = "knowledge_business_context"
ISSUES = "knowledge_known_issues"
EVENTS = "knowledge_events"
EXPERIMENTS = "knowledge_experiments"
ALL = (FIELDS, CONTEXT, ISSUES, EVENTS, EXPERIMENTS)


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def outage(**overrides: object) -> dict:
    row = {
        "issue_id": "tracking_outage",
        "start_date": "2023-03-06",
        "end_date": "2023-03-13",
        "column_name": "meta_facebook",
        "description": "Pixel outage",
        "action": "exclude",
    }
    return {**row, **overrides}


def test_sync_unchanged_knowledge_writes_nothing(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    before = files(snapshot)
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert not report.changed and report.written == ()
    assert {t: c.rows for t, c in report.collections.items()} == {
        FIELDS: 13,
        CONTEXT: 13,
        ISSUES: 1,
        EVENTS: 2,
        EXPERIMENTS: 0,
    }
    assert files(snapshot) == before  # comments of the bundled files survive a no-op sync
    # page_size 2: 13 rows take 7 query requests (cursor pagination was followed)
    source = fake.databases[ids["field_definitions_id"]]["source"]
    assert fake.count("POST", f"/v1/data_sources/{source}/query") == 7
    assert report.database_ids == ids


def test_sync_writes_the_new_snapshot_and_reports_changes(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage())
    fake.add_row(
        ids["field_definitions_id"],
        {"column_name": "tv", "meaning": "TV spend", "unit": "LCU", "is_spend": True},
    )
    # The previous snapshot differs the other way: an extra context row and an edited range.
    context = yaml.safe_load((snapshot / "business_context.yml").read_text())["context"]
    context[5]["roi_high"] = 99.0  # google_search
    context.append({"key": "campaign", "value": "Old campaign"})
    (snapshot / "business_context.yml").write_text(yaml.safe_dump({"context": context}))

    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)

    changes = report.collections
    assert changes[ISSUES].added == ("tracking_outage",)
    assert changes[FIELDS].added == ("tv",)
    assert changes[CONTEXT].removed == ("campaign: Old campaign",)
    assert changes[CONTEXT].changed == {"expected_roi:google_search": {"roi_high": (99.0, 15.0)}}
    assert sorted(Path(p).name for p in report.written) == [
        "business_context.yml",
        "field_definitions.yml",
        "known_issues.yml",
    ]
    issues = load_table(snapshot, ISSUES).set_index("issue_id")
    assert issues.loc["tracking_outage", "end_date"] == dt.date(2023, 3, 13)
    assert issues.loc["tracking_outage", "action"] == "exclude"
    assert issues.loc["promo_2022_05_30", "column_name"] == "*"
    assert load_table(snapshot, FIELDS).set_index("column_name").loc["tv", "is_spend"]
    assert (
        "# Snapshot of the Notion Known Issues database"
        in (snapshot / "known_issues.yml").read_text()
    )
    as_dict = report.to_dict()
    assert as_dict["collections"][CONTEXT]["changed"] == {
        "expected_roi:google_search": {"roi_high": [99.0, 15.0]}
    }
    assert "added   tracking_outage" in report.summary()

    again = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)  # idempotent
    assert not again.changed and again.written == ()


def test_dry_run_reports_but_writes_nothing(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage())
    before = files(snapshot)
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET, dry_run=True)
    assert report.collections[ISSUES].added == ("tracking_outage",)
    assert report.written == () and files(snapshot) == before


def test_sync_into_an_empty_directory(fake: FakeNotion, snapshot: Path, tmp_path: Path) -> None:
    ids = fake.seed(snapshot)
    target = tmp_path / "fresh"
    report = sync(fake.knowledge_config(ids), fake.token, target, dataset=DATASET)
    assert len(report.written) == 5  # an empty collection is written too: its file exists
    assert validate_directory(target) == {t: sorted_rows(snapshot, t) for t in ALL}


def sorted_rows(directory: Path, table: str) -> list[dict]:
    rows = read_rows(directory, table)
    key = {
        FIELDS: lambda r: r["column_name"],
        ISSUES: lambda r: r["issue_id"],
        EVENTS: lambda r: (r["event_id"], str(r["start_date"])),
        EXPERIMENTS: lambda r: r["experiment_id"],
        CONTEXT: lambda r: (
            r["key"],
            str(r["channel"] if r["key"] == "expected_roi" else r["value"]),
        ),
    }
    return sorted(rows, key=key[table])


def test_rate_limit_is_retried_after_retry_after(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage())
    fake.fail(429, path_contains="/query", retry_after=1)
    started = time.monotonic()
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert report.collections[ISSUES].added == ("tracking_outage",)
    source = fake.databases[ids["field_definitions_id"]]["source"]
    assert fake.count("POST", f"/v1/data_sources/{source}/query") == 8  # 7 pages + 1 retry


def test_persistent_rate_limit_gives_up_with_a_clear_error(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage())
    fake.fail(429, path_contains="/query", retry_after=0, times=100)
    before = files(snapshot)
    with pytest.raises(
        NotionSyncError, match=r"still rate limited by Notion \(429\) after 2 retries"
    ):
        sync(fake.knowledge_config(ids, max_retries=2), fake.token, snapshot, dataset=DATASET)
    assert fake.count("POST", "/query") == 3
    assert files(snapshot) == before


def test_malformed_row_names_the_page_and_keeps_the_snapshot(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["field_definitions_id"], {"column_name": "tv", "is_spend": True})  # valid
    bad = fake.add_row(ids["known_issues_id"], outage(end_date="2023-03-01", action="drop"))
    before = files(snapshot)
    with pytest.raises(KnowledgeError) as info:
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    message = str(info.value)
    assert f"Known Issues page {bad} (https://www.notion.so/{bad.replace('-', '')})" in message
    assert "(issue_id 'tracking_outage')" in message and "action: Input should be" in message
    assert files(snapshot) == before  # the valid new field definition was not written either


def test_raw_page_with_a_bad_date_and_a_blank_row(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_page(ids["known_issues_id"], {})  # blank row, as Notion's UI creates
    fake.add_page(
        ids["business_context_id"],
        {
            "Key": {"title": [{"text": {"content": "expected_roi"}}]},
            "Channel": {"select": {"name": "tv"}},
            "ROI low": {"number": 5},
            "ROI high": {"number": 2},
            "Dataset": {"select": {"name": DATASET}},
        },
    )
    with pytest.raises(KnowledgeError, match=r"\(key 'expected_roi', channel 'tv'\): roi_low 5.0"):
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)


def test_blank_rows_are_skipped_with_a_warning(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_page(ids["known_issues_id"], {})
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert not report.changed
    assert any("skipped 1 empty row" in w for w in report.warnings)


def test_known_issue_on_an_undefined_column_warns(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage(column_name="meta_facebok"))
    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert any(
        "'meta_facebok', which Field Definitions does not define" in w for w in report.warnings
    )


def test_wrong_token_is_a_clear_error_and_nothing_changes(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    before = files(snapshot)
    with pytest.raises(NotionSyncError, match=r"401 unauthorized.*NOTION_TOKEN"):
        sync(fake.knowledge_config(ids), "secret_wrong", snapshot, dataset=DATASET)
    assert files(snapshot) == before
    assert fake.count("POST", "/query") == 0


def test_unshared_database_and_unreachable_server(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    missing = {**ids, "known_issues_id": "0123456789abcdef0123456789abcdef"}
    with pytest.raises(NotionSyncError, match=r"Known Issues database 01234567-89ab.*404.*share"):
        sync(fake.knowledge_config(missing), fake.token, snapshot, dataset=DATASET)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = fake.knowledge_config(ids, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(NotionSyncError, match="could not reach Notion"):
        sync(offline, fake.token, snapshot, dataset=DATASET)


def test_missing_ids_and_bad_ids(fake: FakeNotion, snapshot: Path, monkeypatch) -> None:
    for name in ("FIELD_DEFINITIONS", "BUSINESS_CONTEXT", "KNOWN_ISSUES"):
        monkeypatch.delenv(f"PRISM_NOTION_{name}_ID", raising=False)
    with pytest.raises(
        NotionSyncError,
        match=r"knowledge.notion.known_issues_id \(or env "
        r"PRISM_NOTION_KNOWN_ISSUES_ID\).*prism knowledge push",
    ):
        sync(KnowledgeConfig(), "token", snapshot, dataset=DATASET)
    monkeypatch.setenv("PRISM_NOTION_KNOWN_ISSUES_ID", "not-an-id")
    with pytest.raises(NotionSyncError, match="PRISM_NOTION_KNOWN_ISSUES_ID = 'not-an-id' is not"):
        sync(KnowledgeConfig(), "token", snapshot, dataset=DATASET)


def test_renamed_or_retyped_properties(fake: FakeNotion, snapshot: Path) -> None:
    ids = fake.seed(snapshot)
    (promo,) = read_rows(snapshot, ISSUES)
    # Property names match loosely: snake_case column names work as well.
    loose = fake.add_database(
        "Known Issues",
        {
            "issue_id": {"title": {}},
            "DATES": {"date": {}},
            "column_name": {"rich_text": {}},
            "description": {"rich_text": {}},
            "action": {"select": {}},
            "dataset": {"rich_text": {}},
        },
    )
    fake.add_page(
        loose,
        {
            "dataset": {"rich_text": [{"text": {"content": DATASET}}]},
            "issue_id": {"title": [{"text": {"content": "promo_2022_05_30"}}]},
            "DATES": {"date": {"start": "2022-05-30T00:00:00.000+00:00", "end": None}},
            "column_name": {"rich_text": [{"text": {"content": "*"}}]},
            "action": {"select": {"name": "flag"}},
            "description": {"rich_text": [{"text": {"content": promo["description"]}}]},
        },
    )
    report = sync(fake.knowledge_config({**ids, "known_issues_id": loose}), fake.token, snapshot, dataset=DATASET)
    assert not report.changed

    broken = fake.add_database(
        "Known Issues",
        {
            "Issue ID": {"title": {}},
            "Dates": {"rich_text": {}},
            "Column": {"select": {}},
            "Description": {"rich_text": {}},
        },
    )
    with pytest.raises(NotionSyncError) as info:
        sync(fake.knowledge_config({**ids, "known_issues_id": broken}), fake.token, snapshot, dataset=DATASET)
    assert "property 'Dates' is rich_text, expected date" in str(info.value)
    assert "missing property 'Action' (select)" in str(info.value)


def test_push_creates_databases_that_sync_back(
    fake: FakeNotion, snapshot: Path, tmp_path: Path
) -> None:
    parent = fake.add_parent_page()
    result = push(
        KnowledgeConfig(notion={"base_url": fake.base_url}),
        fake.token,
        f"https://www.notion.so/Marketing-{parent.replace('-', '')}",
        snapshot,
        DATASET,
    )
    assert result.rows == {
        "field_definitions_id": 13,
        "business_context_id": 13,
        "known_issues_id": 1,
        "events_id": 2,
        "experiments_id": 0,
    }
    for name, database_id in result.database_ids.items():
        database = fake.databases[database_id]
        assert database["parent"] == parent
        table = fake.table_of(database_id)
        schema = fake.schema(database_id)
        assert {n: p["type"] for n, p in schema.items()} == {p.name: p.type for p in SCHEMAS[table]}
        assert len(fake.rows(database_id)) == result.rows[name]
        assert result.urls[name].endswith(database_id.replace("-", ""))
    issues_id = result.database_ids["known_issues_id"]
    actions = [o["name"] for o in fake.schema(issues_id)["Action"]["select"]["options"]]
    assert actions == ["flag", "exclude", "cap"]
    (page,) = fake.rows(issues_id)
    assert page["properties"]["Dates"]["date"] == {
        "start": "2022-05-30",
        "end": None,
        "time_zone": None,
    }
    assert page["properties"]["Column"]["select"]["name"] == "*"
    snippet = yaml.safe_load(result.config_snippet())
    assert snippet == {"knowledge": {"notion": result.database_ids}}

    target = tmp_path / "round_trip"
    sync(fake.knowledge_config(result.database_ids), fake.token, target, dataset=DATASET)
    assert validate_directory(target) == {t: sorted_rows(snapshot, t) for t in ALL}


def test_push_failures(fake: FakeNotion, snapshot: Path) -> None:
    cfg = KnowledgeConfig(notion={"base_url": fake.base_url})
    with pytest.raises(NotionSyncError, match=r"creating the Field Definitions database .*404"):
        push(cfg, fake.token, "0123456789abcdef0123456789abcdef", snapshot, DATASET)
    assert not fake.databases

    parent = fake.add_parent_page()
    fake.fail(400, method="POST", path_contains="/v1/databases", after=1, message="bad schema")
    with pytest.raises(NotionSyncError) as info:
        push(cfg, fake.token, parent, snapshot, DATASET)
    (created,) = fake.databases
    assert "creating the Business Context database" in str(info.value)
    assert "bad schema" in str(info.value)
    assert (
        f"Already created (delete them in Notion before retrying): field_definitions_id {created}"
        in str(info.value)
    )

    requests = len(fake.requests)
    (snapshot / "known_issues.yml").write_text("issues: [{issue_id: x, action: drop}]")
    with pytest.raises(KnowledgeError, match="Known Issues"):
        push(cfg, fake.token, parent, snapshot, DATASET)
    assert len(fake.requests) == requests  # validated before any request


def other_dataset(tmp_path: Path) -> Path:
    """Knowledge of another dataset (a TV brand), to share the Notion databases with."""
    directory = tmp_path / "acme"
    directory.mkdir()
    (directory / "field_definitions.yml").write_text(yaml.safe_dump({"fields": [
        {"column_name": "tv", "meaning": "TV spend", "is_spend": True},
        {"column_name": "sales", "is_kpi": True},
    ]}))
    (directory / "business_context.yml").write_text(yaml.safe_dump({"context": [
        {"key": "brand", "value": "Acme"},
        {"key": "expected_roi", "channel": "tv", "roi_low": 1.0, "roi_high": 3.0},
    ]}))
    (directory / "known_issues.yml").write_text(yaml.safe_dump({"issues": [
        {"issue_id": "strike", "start_date": dt.date(2024, 3, 4), "column_name": "*",
         "action": "exclude"},
    ]}))
    return directory


def test_sync_keeps_only_the_configured_datasets_rows(
    fake: FakeNotion, snapshot: Path, tmp_path: Path
) -> None:
    ids = fake.seed(snapshot)
    acme = other_dataset(tmp_path)
    fake.seed(acme, dataset="acme", ids=ids)  # the same databases hold both brands
    before = files(snapshot)

    report = sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    assert not report.changed and report.written == () and files(snapshot) == before
    assert {t: c.other_datasets for t, c in report.collections.items()} == {
        FIELDS: {"acme": 2}, CONTEXT: {"acme": 2}, ISSUES: {"acme": 1}, EVENTS: {},
        EXPERIMENTS: {}}
    assert "Known Issues: 1 rows (+0 -0 ~0); 1 rows of other datasets ignored (acme: 1)" in (
        report.summary())
    assert report.to_dict()["collections"][CONTEXT]["other_datasets"] == {"acme": 2}
    assert report.to_dict()["dataset"] == DATASET

    # The other brand's sync gets its rows and nothing of the bundled brand's.
    target = tmp_path / "knowledge" / "acme"
    report = sync(fake.knowledge_config(ids), fake.token, target, dataset="acme")
    assert {t: c.other_datasets for t, c in report.collections.items()} == {
        FIELDS: {DATASET: 13}, CONTEXT: {DATASET: 13}, ISSUES: {DATASET: 1},
        EVENTS: {DATASET: 2}, EXPERIMENTS: {}}
    assert validate_directory(target) == {t: sorted_rows(acme, t) for t in ALL}
    assert "dataset acme" in (target / "known_issues.yml").read_text().splitlines()[0]


def test_a_row_without_dataset_is_invalid_and_nothing_is_written(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], outage())  # valid, of this dataset
    orphan = fake.add_row(ids["business_context_id"], {
        "key": "expected_roi", "channel": "google_search", "roi_low": 1.0, "roi_high": 2.0,
        "dataset": None,
    })
    before = files(snapshot)
    with pytest.raises(KnowledgeError) as info:
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET)
    message = str(info.value)
    assert message.startswith("Business Context: 1 invalid row(s)")
    assert f"Business Context page {orphan} (https://www.notion.so/{orphan.replace('-', '')})" in (
        message)
    assert "(key 'expected_roi', channel 'google_search'): Dataset is empty" in message
    assert "'conjura_apparel'" in message
    assert files(snapshot) == before  # the valid new issue was not written either


def test_a_check_against_the_data_rejects_rows_before_writing(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    page = fake.add_row(ids["business_context_id"], {
        "key": "expected_roi", "channel": "tv", "roi_low": 1.0, "roi_high": 2.0})
    before = files(snapshot)
    seen = []

    def check(table, rows, origins):
        seen.append(table)
        return [f"{o}: no tv here" for r, o in zip(rows, origins, strict=True)
                if r.get("channel") == "tv"]

    with pytest.raises(KnowledgeError, match=rf"Business Context page {page} .*: no tv here"):
        sync(fake.knowledge_config(ids), fake.token, snapshot, dataset=DATASET, check=check)
    assert sorted(seen) == sorted(ALL)
    assert files(snapshot) == before


def test_push_sets_every_rows_dataset(fake: FakeNotion, snapshot: Path) -> None:
    cfg = KnowledgeConfig(notion={"base_url": fake.base_url})
    result = push(cfg, fake.token, fake.add_parent_page(), snapshot, "conjura_apparel")
    for database_id in result.database_ids.values():
        assert fake.schema(database_id)["Dataset"]["type"] == "select"
        options = fake.schema(database_id)["Dataset"]["select"]["options"]
        assert [o["name"] for o in options] == ["conjura_apparel"]
        datasets = {p["properties"]["Dataset"]["select"]["name"] for p in fake.rows(database_id)}
        assert datasets == ({"conjura_apparel"} if fake.rows(database_id) else set())


def test_a_database_without_the_dataset_property_says_how_to_fix_it(
    fake: FakeNotion, snapshot: Path
) -> None:
    ids = fake.seed(snapshot)
    legacy = fake.add_database("Known Issues", {
        "Issue ID": {"title": {}}, "Dates": {"date": {}}, "Column": {"select": {}},
        "Description": {"rich_text": {}}, "Action": {"select": {}}})
    with pytest.raises(NotionSyncError, match=r"missing property 'Dataset' \(select\) "
                       r"\(knowledge is scoped by dataset: add a select property"):
        sync(fake.knowledge_config({**ids, "known_issues_id": legacy}), fake.token, snapshot,
             dataset=DATASET)
