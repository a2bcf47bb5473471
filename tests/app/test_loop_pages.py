"""Loop history, report and critic verdict after a real agent loop (slow: refits the models)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.runner import LoopRunner
from tests.app.conftest import assert_no_exception, latest_run, open_page, read


@pytest.fixture
def looped(copy_built_warehouse, monkeypatch):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    LoopRunner(run_id="app-loop", rounds=1, duckdb_path=project.duckdb_path,
               reports_dir=project.project_dir / "reports",
               config_path=project.project_dir / "prism.yml").run()  # fmt: skip
    return project


@pytest.mark.slow
def test_loop_history_report_and_verdict_show_the_loop(looped):
    run_id, round_ = latest_run(looped)
    assert run_id == "app-loop"
    rounds = read(looped, "select round, score, verdict from agent_rounds where run_id = ? "
                          "order by round", [run_id])  # fmt: skip

    at = open_page("loop_history")
    assert_no_exception(at)
    shown = at.dataframe[0].value
    assert list(shown["Round"]) == list(rounds["round"])
    assert np.allclose(shown["Score"], rounds["score"], equal_nan=True)

    at = open_page("overview")
    assert_no_exception(at)
    verdict = rounds.loc[rounds["round"] == round_, "verdict"].iloc[0]
    badges = " ".join(m.value for m in at.markdown)
    assert ("Approved" if verdict == "APPROVED" else "Revise") in badges

    at = open_page("report")
    assert_no_exception(at)
    labels = [b.proto.label for b in at.download_button]
    assert "Download report.md" in labels
    assert "Download report.pptx" in labels
