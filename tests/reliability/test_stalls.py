"""The Notion and LLM servers stalling mid-response during a loop: each call gives up at its
timeout, the loop records why and goes on, and its tables stay whole and resumable."""

from __future__ import annotations

import shutil
import time

import duckdb
import pytest
import yaml

from agents.runner import LoopRunner
from tests.agents import fixture_warehouse
from tests.agents.fake_anthropic import FakeAnthropic
from tests.knowledge.fake_notion import FakeNotion
from tests.project import REPO
from tests.reliability.checks import assert_loop_tables_consistent, staging_files

TIMEOUT_S = 1.0


@pytest.mark.slow
def test_stalled_notion_and_llm_servers_do_not_stall_the_loop(tmp_path, monkeypatch):
    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    knowledge = shutil.copytree(REPO / "knowledge", tmp_path / "knowledge")
    snapshot = {f: f.read_text() for f in knowledge.rglob("*.yml")}
    (tmp_path / "dbt_project.yml").write_text("name: stall_test\n")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))
    with FakeNotion(page_size=4) as notion, FakeAnthropic(mode="stall", delay=30) as llm:
        ids = notion.seed(knowledge / "conjura_apparel")  # the default config's dataset
        notion.stall(path_contains="/query", seconds=30, times=100)  # every round's sync
        config = tmp_path / "prism.yml"
        config.write_text(yaml.safe_dump({
            "knowledge": {"directory": str(knowledge), "notion": {
                **notion.notion_config(ids), "timeout_seconds": TIMEOUT_S, "max_retries": 0}},
            "agents": {"llm_timeout_seconds": TIMEOUT_S}}))
        monkeypatch.setenv("NOTION_TOKEN", notion.token)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", llm.base_url)

        def run():
            return LoopRunner(run_id="stall", rounds=2, duckdb_path=path,
                              reports_dir=tmp_path / "reports", config_path=config,
                              builder=fixture_warehouse.build, echo=lambda _: None,
                              llm_max_retries=0).run()

        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        # 2 syncs and 2 analyses + 1 summary, each bounded by its timeout (plus the work)
        assert elapsed < 120, elapsed
        with duckdb.connect(str(path), read_only=True) as con:
            decisions = con.execute('select "round", agent, action, why from agent_decisions '
                                    "order by 1, 2").fetchall()
        synced = [d for d in decisions if d[1] == "knowledge"]
        assert [(d[0], d[2]) for d in synced] == [(1, "knowledge_sync_failed"),
                                                  (2, "knowledge_sync_failed")]
        assert all("time" in d[3].lower() for d in synced), synced
        fallbacks = [d for d in decisions if d[2] == "llm_fallback"]
        assert fallbacks and all(d[3].startswith("timeout") for d in fallbacks), fallbacks
        assert result.report_path.exists()
        assert {f: f.read_text() for f in knowledge.rglob("*.yml")} == snapshot
        rows = assert_loop_tables_consistent(path)
        assert [r[2] for r in rows] == ["completed", "completed"]
        assert staging_files(path) == []
        before = decisions
        run()  # resuming a finished run redoes nothing and duplicates nothing
        with duckdb.connect(str(path), read_only=True) as con:
            after = con.execute('select "round", agent, action, why from agent_decisions '
                                "order by 1, 2").fetchall()
        assert len(after) == len(before)
        assert_loop_tables_consistent(path)
