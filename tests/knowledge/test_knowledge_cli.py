"""``prism knowledge sync|push`` through prism_mmm.cli.main, against the fake Notion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from prism_mmm.cli import main
from prism_mmm.knowledge.local import load_table
from tests.knowledge.fake_notion import FakeNotion

ID_ENV = [f"PRISM_NOTION_{n}_ID" for n in ("FIELD_DEFINITIONS", "BUSINESS_CONTEXT", "KNOWN_ISSUES")]


@pytest.fixture
def project(tmp_path: Path, snapshot: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a prism.yml whose knowledge section is given; no token or id env by default."""
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    for name in ID_ENV:
        monkeypatch.delenv(name, raising=False)

    def write(notion: dict[str, Any] | None = None) -> Path:
        config = tmp_path / "prism.yml"
        # The knowledge root; the bundled dataset (the default config's) is the snapshot.
        knowledge = {"directory": str(snapshot.parent), "notion": notion or {}}
        config.write_text(yaml.safe_dump({"knowledge": knowledge}))
        monkeypatch.setenv("PRISM_CONFIG", str(config))
        return config

    write()
    return write


def test_without_token_validates_the_local_yaml(project, snapshot: Path, capsys) -> None:
    assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert f"NOTION_TOKEN is not set: using the local YAML knowledge in {snapshot}." in out
    assert "Field Definitions: 13 rows" in out and "Known Issues: 1 rows" in out
    assert "prism build" in out


def test_without_token_invalid_yaml_exits_2(project, snapshot: Path, capsys) -> None:
    project({"known_issues_id": "0123456789abcdef0123456789abcdef"})
    (snapshot / "known_issues.yml").write_text(
        "issues: [{issue_id: x, start_date: 2023-01-09, end_date: 2023-01-02, column_name: '*', "
        "action: flag}]"
    )
    assert main(["knowledge", "sync"]) == 2
    captured = capsys.readouterr()
    assert "database ids are configured, but the token is missing" in captured.out
    assert "prism knowledge: error: the local knowledge is invalid" in captured.err
    assert "end_date 2023-01-02 is before start_date 2023-01-09" in captured.err


def test_sync_with_env_ids_writes_the_snapshot(
    project, fake: FakeNotion, snapshot: Path, monkeypatch, capsys
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(
        ids["known_issues_id"],
        {
            "issue_id": "tracking_outage",
            "start_date": "2023-03-06",
            "column_name": "meta_facebook",
            "action": "exclude",
        },
    )
    project({"base_url": fake.base_url})  # ids come from the environment
    names = ("field_definitions_id", "business_context_id", "known_issues_id")
    for name, env in zip(names, ID_ENV, strict=True):
        monkeypatch.setenv(env, ids[name])
    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    assert main(["knowledge", "sync", "--dry-run"]) == 0
    assert "Dry run: nothing written" in capsys.readouterr().out
    assert "tracking_outage" not in set(load_table(snapshot, "knowledge_known_issues").issue_id)

    assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert "Known Issues: 2 rows (+1 -0 ~0)" in out and "added   tracking_outage" in out
    assert "Run `prism build`" in out
    assert "tracking_outage" in set(load_table(snapshot, "knowledge_known_issues").issue_id)

    assert main(["knowledge", "sync"]) == 0
    assert "already agree; nothing written" in capsys.readouterr().out


def test_sync_errors_exit_2_and_keep_the_snapshot(
    project, fake: FakeNotion, snapshot: Path, monkeypatch, capsys
) -> None:
    ids = fake.seed(snapshot)
    project(fake.notion_config(ids))
    before = {p.name: p.read_bytes() for p in snapshot.iterdir()}
    monkeypatch.setenv("NOTION_TOKEN", "secret_revoked")
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert "401 unauthorized" in err and f"The snapshot in {snapshot} was left unchanged." in err

    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    page = fake.add_row(
        ids["business_context_id"],
        {"key": "expected_roi", "channel": "tv", "roi_low": 3.0, "roi_high": 1.0},
    )
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert "the Notion knowledge is invalid" in err and page in err
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == before


def test_token_without_ids_explains_push(project, monkeypatch, capsys) -> None:
    monkeypatch.setenv("NOTION_TOKEN", "secret_x")
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert "database ids are missing" in err and "prism knowledge push --parent PAGE_ID" in err


def test_push_prints_the_ids_for_prism_yml(project, fake: FakeNotion, monkeypatch, capsys) -> None:
    project({"base_url": fake.base_url})
    assert main(["knowledge", "push", "--parent", fake.add_parent_page()]) == 2  # no token
    assert "NOTION_TOKEN is not set" in capsys.readouterr().err

    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    assert main(["knowledge", "push", "--parent", fake.add_parent_page()]) == 0
    out = capsys.readouterr().out
    snippet = out.split("Add these ids to prism.yml:\n", 1)[1].split("\nThen run", 1)[0]
    ids = yaml.safe_load(snippet)["knowledge"]["notion"]
    assert set(ids) == {"field_definitions_id", "business_context_id", "known_issues_id",
                        "events_id", "experiments_id"}
    assert all(i in fake.databases for i in ids.values())
    assert "(13 rows)" in out

    assert main(["knowledge", "push", "--parent", "not a page"]) == 2
    assert "is not a Notion page id or URL" in capsys.readouterr().err


def test_knowledge_needs_an_action(project) -> None:
    with pytest.raises(SystemExit) as info:
        main(["knowledge"])
    assert info.value.code == 2


def test_sync_keeps_the_configured_dataset_and_checks_it_against_the_data(
    project, fake: FakeNotion, snapshot: Path, monkeypatch, capsys
) -> None:
    ids = fake.seed(snapshot)
    fake.add_row(ids["known_issues_id"], {  # another brand's row in the same database
        "issue_id": "strike", "start_date": "2024-03-04", "column_name": "*",
        "action": "exclude", "dataset": "acme"})
    project(fake.notion_config(ids))
    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert "Known Issues: 1 rows (+0 -0 ~0); 1 rows of other datasets ignored (acme: 1)" in out
    assert "already agree; nothing written" in out

    # A channel the configured data (the bundled seed) does not have: refused, page named.
    before = {p.name: p.read_bytes() for p in snapshot.iterdir()}
    page = fake.add_row(ids["business_context_id"], {
        "key": "expected_roi", "channel": "tv", "roi_low": 1.0, "roi_high": 3.0})
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert f"Business Context page {page}" in err
    assert "expected_roi for tv: no such channel in dataset conjura_apparel" in err
    assert {p.name: p.read_bytes() for p in snapshot.iterdir()} == before


def test_without_token_the_local_yaml_is_checked_against_the_data(
    project, snapshot: Path, capsys
) -> None:
    with (snapshot / "known_issues.yml").open("a") as handle:
        handle.write("  - {issue_id: outage, start_date: 2023-03-06, column_name: tv, "
                     "action: exclude}\n")
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert "the local knowledge is invalid" in err
    assert "known_issues.yml: issues[1] (issue_id 'outage'): column 'tv' is not a channel" in err


def test_push_only_the_new_collections_then_sync_them(
    project, fake: FakeNotion, snapshot: Path, monkeypatch, capsys
) -> None:
    # A workspace set up before Events and Experiments existed.
    ids = fake.seed(snapshot)
    older = {k: v for k, v in ids.items() if k not in ("events_id", "experiments_id")}
    project(fake.notion_config(older))
    monkeypatch.setenv("NOTION_TOKEN", fake.token)
    assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert "warning: Events is not read from Notion" in out and "--only events" in out

    databases = len(fake.databases)
    assert main(["knowledge", "push", "--parent", fake.add_parent_page(),
                 "--only", "events", "experiments"]) == 0
    out = capsys.readouterr().out
    assert len(fake.databases) == databases + 2
    snippet = out.split("Add these ids to prism.yml:\n", 1)[1].split("\nThen run", 1)[0]
    new = yaml.safe_load(snippet)["knowledge"]["notion"]
    assert set(new) == {"events_id", "experiments_id"} and "(2 rows)" in out

    project(fake.notion_config({**older, **new}))
    assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert "Events: 2 rows (+0 -0 ~0)" in out and "Experiments: 0 rows" in out
    assert "is not read from Notion" not in out

    with pytest.raises(SystemExit) as info:
        main(["knowledge", "push", "--parent", "x", "--only", "holidays"])
    assert info.value.code == 2 and "invalid choice: 'holidays'" in capsys.readouterr().err


def test_without_token_the_new_collections_are_validated(project, snapshot: Path, capsys) -> None:
    assert main(["knowledge", "sync"]) == 0
    assert "Events: 2 rows" in capsys.readouterr().out
    (snapshot / "experiments.yml").write_text(
        "experiments:\n  - {experiment_id: geo_1, channel: tv, type: geo_lift, start_date: "
        "2024-04-01, end_date: 2024-04-28, spend: 10, spend_change: 5, lift: 20, lift_se: 4, "
        "figures: total}\n")
    assert main(["knowledge", "sync"]) == 2
    err = capsys.readouterr().err
    assert "experiments.yml: experiments[0] (experiment_id 'geo_1', channel 'tv'): experiment " in (
        err)
    assert "no such channel in dataset conjura_apparel" in err
