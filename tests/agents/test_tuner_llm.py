"""The Tuner may ask Claude which candidate change to try (real ``anthropic`` client against
the fake Messages API, ``fake_api`` in conftest.py). The answer must name a listed candidate
in the JSON the prompt asks for, with no number the candidate does not write; anything else,
an API error or a timeout, falls back to the deterministic Tuner's first candidate and says
why. Also one loop round end to end with Claude's choice recorded."""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from agents import tuner
from agents.runner import LoopRunner
from prism_mmm.config import AgentsConfig, load_config
from tests.agents import fixture_warehouse
from tests.agents.fake_anthropic import TIMEOUT_S
from tests.agents.fixture_warehouse import as_round_tables, round_frames

CFG = AgentsConfig(llm_model="claude-test", llm_timeout_seconds=TIMEOUT_S)


def _candidates() -> list[tuner.Change]:
    tables = as_round_tables(round_frames(gate_status={"g6": "warn"}))
    return tuner.eligible({}, lambda o: load_config("/nonexistent/prism.yml", o), tables)


def _choose(fake_api, answer) -> tuple[list[tuner.Change], tuner.Choice]:
    fake_api.mode = "text"
    fake_api.text = answer if isinstance(answer, str) else json.dumps(answer)
    candidates = _candidates()
    return candidates, tuner.choose(candidates, {"channel_roi": []}, CFG, max_retries=0)


def test_claude_picks_a_listed_change_and_writes_its_hypothesis(fake_api):
    candidates, choice = _choose(fake_api, {
        "choice": 1, "hypothesis": "A piecewise trend with 3 changepoints lets the baseline "
                                   "follow the growth that media absorb today."})
    assert candidates[0].path == "bayes.likelihood" and candidates[1].path == "bayes.trend"
    assert choice.change.identity == candidates[1].identity
    assert choice.change.hypothesis.startswith("A piecewise trend with 3 changepoints")
    assert choice.decision["action"] == "llm_choice" and "bayes.trend" in choice.decision["what"]
    request = fake_api.requests[0]
    assert request["model"] == "claude-test" and '"choice"' in request["system"]
    listed = json.loads(request["messages"][0]["content"].split("\n\n")[0].split("\n", 1)[1])
    assert [c["change"] for c in listed] == [c.describe() for c in candidates[:len(listed)]]


@pytest.mark.parametrize(("answer", "reason"), [
    ({"choice": 40, "hypothesis": "x"}, "choice 40 is not one of 0-"),
    ({"choice": "1", "hypothesis": "x"}, "choice '1' is not one of 0-"),
    ({"pick": 0}, 'not {"choice": <number>, "hypothesis": <text>}'),
    ("Let us try the trend.", "not a JSON object"),
    ({"choice": 0, "hypothesis": "This should cut the CV error by 35%."},
     "the hypothesis has numbers the candidate does not: 35%"),
])
def test_an_invalid_move_falls_back_to_the_deterministic_tuner(fake_api, answer, reason):
    candidates, choice = _choose(fake_api, answer)
    assert choice.change == candidates[0]  # the deterministic first candidate, unchanged
    assert choice.decision["action"] == "llm_fallback"
    assert choice.decision["why"].startswith("answer rejected: " + reason)


def test_a_timeout_falls_back_quickly(fake_api):
    fake_api.mode = "timeout"
    candidates = _candidates()
    started = time.perf_counter()
    choice = tuner.choose(candidates, {}, CFG, max_retries=0)
    assert time.perf_counter() - started < TIMEOUT_S * 3
    assert choice.change == candidates[0]
    assert choice.decision["why"].startswith("timeout after 0.5 s")


def test_without_a_key_no_call_and_no_decision(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    candidates = _candidates()
    assert tuner.choose(candidates, {}, CFG) == tuner.Choice(candidates[0], None)


def test_a_loop_round_records_claudes_choice(fake_api, tmp_path, monkeypatch):
    path = fixture_warehouse.create_warehouse(tmp_path / "w.duckdb")
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(path))
    # Claude's prose answers are rejected (not prose) and fall back; its Tuner answer counts.
    fake_api.mode = "text"
    fake_api.text = json.dumps({"choice": 1, "hypothesis": "Logistic curves may fit better."})
    result = LoopRunner(run_id="llm", rounds=2, duckdb_path=path,
                        reports_dir=tmp_path / "reports", config_path=tmp_path / "none.yml",
                        builder=fixture_warehouse.build, llm_max_retries=0).run()
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select action, what, why from agent_decisions where agent = 'tuner' "
                           "and \"round\" = 2 order by step").fetchall()
    assert rows[0][:2] == ("llm_choice", "Claude chose transforms.saturation from 8 candidates")
    assert rows[1][0] == "propose" and 'transforms.saturation = "logistic"' in rows[1][1]
    assert "Logistic curves may fit better." in rows[1][2]
    assert result.proof_ok
