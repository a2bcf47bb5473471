"""The runner end to end: rounds, keep/revert, report + proofreading, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from agents.reporter import APPENDIX
from agents.runner import DbtBuilder, LoopRunner
from prism_mmm.build import data_layer_identity
from prism_mmm.config import deep_merge, load_config
from prism_mmm.knowledge.local import knowledge_directory
from tests.agents import fixture_warehouse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return path


def _runner(path: Path, rounds: int, lines: list[str] | None = None) -> LoopRunner:
    return LoopRunner(run_id="t1", rounds=rounds, duckdb_path=path,
                      reports_dir=path.parent / "reports", config_path=path.parent / "none.yml",
                      builder=fixture_warehouse.build,
                      echo=(lines.append if lines is not None else lambda _: None))


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_loop_keeps_improvements_reverts_the_rest_and_stops(warehouse):
    lines: list[str] = []
    result = _runner(warehouse, rounds=8, lines=lines).run()
    rounds = _query(warehouse, 'select "round", status, score, best_score, verdict, config_json, '
                               "cv_smape from agent_rounds order by 1")
    # 1 baseline; 2 piecewise trend kept (CV sMAPE 12% -> 10%); 3 logistic saturation
    # reverted (no gain); 4 display decay kept (the models agree); 5 and 6 reverted -> stop.
    assert [r[1] for r in rounds] == ["completed"] * 6
    assert [round(r[6], 6) for r in rounds] == [0.12, 0.10, 0.10, 0.10, 0.10, 0.10]
    assert rounds[1][2] > rounds[0][2] and rounds[1][3] == rounds[1][2]
    assert rounds[3][2] > rounds[1][2] and rounds[4][3] == rounds[5][3] == rounds[3][2]
    assert json.loads(rounds[1][5]) == {"bayes": {"trend": "piecewise"}}
    assert json.loads(rounds[3][5]) == {"bayes": {"trend": "piecewise"}, "transforms": {
        "channels": {"display": {"decay": 0.31}}}}
    finals = _query(warehouse, "select \"round\", action, kept, why from agent_decisions where "
                               "action in ('baseline', 'keep', 'revert') order by 1")
    assert [f[:3] for f in finals] == [
        (1, "baseline", True), (2, "keep", True), (3, "revert", False), (4, "keep", True),
        (5, "revert", False), (6, "revert", False)]
    assert finals[1][3].startswith("mean cv sMAPE 10.0%")  # judged on CV, not the holdout
    proposals = _query(warehouse, "select what, why from agent_decisions where action = 'propose'")
    assert len(proposals) == len(set(proposals)) == 5
    assert "piecewise trend with 3 changepoints" in proposals[0][1]  # its hypothesis
    assert "stopping: 2 rounds without improvement" in lines
    assert any(line.startswith("round 2/8 · tuner · ") for line in lines)
    assert any(line.startswith("round 2/8 · build · ") for line in lines)
    assert result.best_round == 4 and result.proof_ok, result.proof_summary
    assert _query(warehouse, "select count(*) from critic_checks where \"round\" = 1")[0][0] >= 10

    markdown = result.report_path.read_text()
    assert markdown.index("## Executive summary") < markdown.index("## Diagnostics")
    assert "associations under model assumptions, not causal proof" in markdown
    path = markdown[markdown.index("score path of the loop"):]
    assert "| CV sMAPE |" in path and 'set bayes.trend = "piecewise"' in path
    assert "steady-state weekly response to a spend sustained" in markdown
    assert (result.report_path.parent / "figures" / "roi_intervals.png").stat().st_size > 0

    deck = Presentation(str(result.pptx_path))
    titles = [s.shapes.title.text for s in deck.slides]
    # Slide titles state each slide's message (tests/agents/test_report.py checks them).
    assert titles[1] == "Executive summary" and titles[-1].startswith(APPENDIX)
    pictures = {s.shapes.title.text: [sh for sh in s.shapes
                                      if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
                for s in deck.slides}
    # Return on spend, budget, contributions, response curves: one chart each.
    for title in titles[2:6]:
        assert len(pictures[title]) == 1, title


@pytest.mark.slow
def test_rerun_of_a_finished_loop_redoes_nothing(warehouse, tmp_path, monkeypatch):
    log = tmp_path / "builds.log"
    monkeypatch.setenv("PRISM_FAKE_BUILD_LOG", str(log))
    _runner(warehouse, rounds=2).run()
    counts = _query(warehouse, "select count(*) from agent_decisions")
    builds = log.read_text().count("\n")
    result = _runner(warehouse, rounds=2).run()
    assert log.read_text().count("\n") == builds
    assert _query(warehouse, "select count(*) from agent_decisions") == counts
    assert result.proof_ok


def test_report_says_not_available_without_curves_and_budget(warehouse):
    _runner(warehouse, rounds=1).run()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from response_curves")
        con.execute("delete from budget_scenarios")
    result = _runner(warehouse, rounds=1).run()
    markdown = result.report_path.read_text()
    assert "Response curves: not available" in markdown
    assert "Budget scenario: not available" in markdown
    assert result.proof_ok


@pytest.mark.slow
def test_sigkill_mid_round_resumes_without_redoing_or_duplicating(copy_built_warehouse):
    """A real `prism loop` (real dbt builds of the three models) is SIGKILLed inside round 2's
    build; the same command then resumes: round 1 is not refitted, round 2 is redone cleanly,
    no row is duplicated and the previous warehouse was never damaged."""
    project = copy_built_warehouse
    # Smallest real fits: this test is about the runner surviving a kill, not about the numbers.
    config_path = project.project_dir / "prism.yml"
    config = deep_merge(yaml.safe_load(config_path.read_text()), {
        "bayes": {"sampling": {"chains": 2, "draws": 100, "tune": 100}}, "ridge": {"n_boot": 10},
        "nls": {"n_boot": 5, "n_starts": 1}})
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, **project.env(), "PRISM_CONFIG": str(config_path),
           "PYTHONPATH": str(REPO)}
    env.pop("ANTHROPIC_API_KEY", None)
    path = project.duckdb_path
    command = [sys.executable, "-m", "prism_mmm.cli", "loop", "--rounds", "2", "--run-id", "k1"]
    proc = subprocess.Popen(command, env=env, cwd=project.project_dir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.monotonic() + 600
    for line in proc.stdout:  # kill inside round 2's dbt build (its tuner step came first)
        seen.append(line)
        if line.startswith("round 2/2 · tuner"):
            time.sleep(8.0)
            os.kill(proc.pid, signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(seen[-20:])
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert _query(path, "select \"round\", status from agent_rounds where run_id = 'k1' "
                        "order by 1") == [(1, "completed"), (2, "running")]
    # The reporter and proofreader record into the best round when the run ends, which may be
    # round 1: compare round 1's loop decisions only.
    round_1_decisions = ("select count(*) from agent_decisions where run_id = 'k1' and "
                         "\"round\" = 1 and agent not in ('reporter', 'proofreader')")
    round_1_rows = _query(path, round_1_decisions)
    round_1_fits = _query(path, "select model, finished_at from mmm_runs where run_id = 'k1' "
                                "and \"round\" = 1 order by model")
    assert len(round_1_fits) == 3

    done = subprocess.run(command, env=env, cwd=project.project_dir, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "report: " in done.stdout and "prism app" in done.stdout
    statuses = _query(path, "select \"round\", status from agent_rounds where run_id = 'k1' "
                            "order by 1")
    assert statuses[0] == (1, "completed") and statuses[1][0] == 2
    assert statuses[1][1] in ("completed", "stopped")
    assert _query(path, round_1_decisions) == round_1_rows
    # round 1's fits were not redone: same rows, same finish times
    assert _query(path, "select model, finished_at from mmm_runs where run_id = 'k1' "
                        "and \"round\" = 1 order by model") == round_1_fits
    assert _query(path, "select count(*) from (select run_id, \"round\", step, count(*) n "
                        "from agent_decisions group by all having n > 1)")[0][0] == 0
    assert _query(path, "select count(*) from (select run_id, \"round\", attempt, check_name, "
                        "count(*) n from critic_checks group by all having n > 1)")[0][0] == 0
    assert _query(path, "select count(*) from (select run_key, model, split, count(*) n "
                        "from model_fit_metrics group by all having n > 1)")[0][0] == 0
    assert not list(path.parent.glob(".*building*")), "a staging copy was left behind"
    assert (project.project_dir / "reports" / "k1" / "report.pptx").exists()


@pytest.mark.slow
def test_loop_on_the_real_pipeline(copy_built_warehouse, monkeypatch):
    """Two rounds with real dbt builds of the three models (several minutes on two cores)."""
    project = copy_built_warehouse
    project.activate(monkeypatch)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = LoopRunner(run_id="real", rounds=2, duckdb_path=project.duckdb_path,
                        reports_dir=project.project_dir / "reports",
                        config_path=project.project_dir / "prism.yml").run()
    assert result.proof_ok, result.proof_summary
    statuses = _query(project.duckdb_path, "select status from agent_rounds where run_id = 'real'")
    assert statuses in ([("completed",), ("completed",)], [("completed",), ("stopped",)])
    assert Presentation(str(result.pptx_path)).slides[1].shapes.title.text == "Executive summary"


def _built_models(project) -> set[str]:
    """The models dbt's last invocation in ``project`` built."""
    results = json.loads((project.project_dir / "target" / "run_results.json").read_text())
    return {r["unique_id"].split(".")[-1] for r in results["results"]
            if r["unique_id"].startswith("model.")}


@pytest.mark.slow
def test_a_round_that_changes_only_model_settings_keeps_the_data_layer(copy_built_warehouse,
                                                                      monkeypatch):
    """The loop's builder rebuilds (and retests) the data layer only when a setting it reads
    changed: a model-only change refits on the data already built, a data setting rebuilds."""
    project = copy_built_warehouse
    project.activate(monkeypatch)
    config = project.project_dir / "prism.yml"
    builder = DbtBuilder(data_layer=data_layer_identity(load_config(config)))

    def round_(number: int, overrides: dict) -> set[str]:
        builder(load_config(config, overrides), "test-run", number, overrides)
        return _built_models(project)

    models_only = round_(2, {"optimizer": {"horizon_weeks": 8}})
    assert {"fit_bayes", "fit_nls", "fit_ridge", "budget_scenarios"} <= models_only
    assert not models_only & {"mmm_input", "stg_input__weeks", "prism_settings"}
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        assert con.execute("select count(*) from budget_scenarios where round = 2").fetchone()[0]
    data_change = round_(3, {"anomaly_z": 2.5})
    assert {"mmm_input", "prism_settings", "int_marketing_weeks_flagged", "fit_bayes"} <= data_change
    assert round_(4, {"anomaly_z": 2.5, "optimizer": {"horizon_weeks": 6}}) & {"mmm_input"} == set()
    # A knowledge file rewritten between rounds (as a Notion sync does) rebuilds it too.
    knowledge = knowledge_directory(load_config(config)) / "business_context.yml"
    knowledge.write_text(knowledge.read_text() + "\n")
    assert {"knowledge_business_context", "mmm_input"} <= round_(5, {"anomaly_z": 2.5})


def test_each_round_refreshes_knowledge_from_notion(tmp_path, monkeypatch):
    """With Notion configured, every round syncs the knowledge layer before its build and
    records what changed (a fake Notion API on 127.0.0.1, the real notion-client)."""
    import shutil

    from tests.knowledge.fake_notion import FakeNotion

    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    knowledge = shutil.copytree(REPO / "knowledge", tmp_path / "knowledge")
    demo = knowledge / "conjura_apparel"  # the default config's dataset folder
    # A project the sync's dataset check can find: the marker and the seed it reads columns of.
    (tmp_path / "dbt_project.yml").write_text("name: loop_test\n")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    (tmp_path / "dbt_project.yml").touch()  # marks tmp_path as the project (PRISM_PROJECT_DIR)
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with FakeNotion(page_size=4) as fake:
        ids = fake.seed(demo)
        fake.add_row(ids["known_issues_id"], {
            "issue_id": "tracking_outage_2023_03_06", "start_date": "2023-03-06",
            "end_date": "2023-03-06", "column_name": "meta_facebook",
            "description": "Pixel outage", "action": "exclude"})
        config = tmp_path / "prism.yml"
        config.write_text(yaml.safe_dump({"knowledge": {"directory": str(knowledge),
                                                        "notion": fake.notion_config(ids)}}))
        monkeypatch.setenv("NOTION_TOKEN", fake.token)
        lines: list[str] = []
        LoopRunner(run_id="n1", rounds=2, duckdb_path=path, reports_dir=tmp_path / "reports",
                   config_path=config, builder=fixture_warehouse.build, echo=lines.append).run()
    synced = _query(path, "select \"round\", action, what, why from agent_decisions "
                          "where agent = 'knowledge' order by \"round\"")
    assert [(r[0], r[1]) for r in synced] == [(1, "knowledge_sync"), (2, "knowledge_sync")]
    assert "tracking_outage_2023_03_06" in synced[0][2]
    assert synced[1][3].endswith("(no change)")
    assert "tracking_outage_2023_03_06" in (demo / "known_issues.yml").read_text()
    assert "round 1/2 · knowledge synced from Notion (changed)" in lines


def test_a_failed_knowledge_sync_is_recorded_and_the_round_goes_on(tmp_path, monkeypatch):
    from tests.knowledge.fake_notion import FakeNotion

    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    knowledge = tmp_path / "knowledge"
    import shutil

    shutil.copytree(REPO / "knowledge", knowledge)
    demo = knowledge / "conjura_apparel"  # the default config's dataset folder
    before = (demo / "known_issues.yml").read_text()
    with FakeNotion() as fake:
        ids = fake.seed(demo)
        config = tmp_path / "prism.yml"
        config.write_text(yaml.safe_dump({"knowledge": {"directory": str(knowledge),
                                                        "notion": fake.notion_config(ids)}}))
        monkeypatch.setenv("NOTION_TOKEN", "wrong-token")
        LoopRunner(run_id="n2", rounds=1, duckdb_path=path, reports_dir=tmp_path / "reports",
                   config_path=config, builder=fixture_warehouse.build, echo=lambda _: None).run()
    failed = _query(path, "select action, what from agent_decisions where agent = 'knowledge'")
    assert failed == [("knowledge_sync_failed", "kept the previous knowledge snapshot")]
    assert (demo / "known_issues.yml").read_text() == before
