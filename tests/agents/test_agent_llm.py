"""Optional Claude prose through the real anthropic client against a fake Messages API
(``fake_api``: tests/agents/fake_anthropic.py, fixture in conftest.py)."""

from __future__ import annotations

import time

from agents.analyst import analyse
from agents.llm import write_prose
from agents.proofreader import build_trace_set, proofread
from prism_mmm.config import AgentsConfig
from tests.agents.fake_anthropic import TIMEOUT_S
from tests.agents.fixture_warehouse import as_data_tables, as_round_tables, round_frames


def _prose_inputs():
    """The fallback text, its proofreading check and the agents' settings of a prose call."""
    tables = as_round_tables(round_frames())
    trace = build_trace_set(tables, as_data_tables())
    fallback = analyse(tables).text

    def check(text):
        proof = proofread(text, trace, ["search", "social", "display"])
        return None if proof.ok else proof.summary()

    return fallback, check, AgentsConfig(llm_model="claude-test", llm_timeout_seconds=TIMEOUT_S)


def _write(fallback, check, cfg):
    return write_prose("an analysis", {"channel_roi": []}, fallback, check, cfg, max_retries=0)


def _prose():
    fallback, check, cfg = _prose_inputs()
    return _write(fallback, check, cfg), fallback


def test_normal_answer_is_used_and_recorded(fake_api):
    outcome, _ = _prose()
    assert outcome.source == "llm" and outcome.text.startswith("Cross-model agreement")
    assert outcome.decision("analyst")["action"] == "llm_prose"
    request = fake_api.requests[0]
    assert request["model"] == "claude-test" and "not causal proof" in request["system"]


def test_invented_number_falls_back_and_is_recorded(fake_api):
    fake_api.mode = "invented"
    outcome, fallback = _prose()
    assert outcome.text == fallback and outcome.source == "rules"
    decision = outcome.decision("analyst")
    assert decision["action"] == "llm_fallback"
    assert "7.45" in decision["why"] and "68.5%" in decision["why"]


def test_overloaded_falls_back(fake_api):
    fake_api.mode = "overloaded"
    outcome, fallback = _prose()
    assert outcome.text == fallback
    assert outcome.decision("analyst")["why"].startswith("API error 529")
    assert len(fake_api.requests) == 1  # max_retries=0


def test_timeout_falls_back_quickly(fake_api):
    fake_api.mode = "timeout"
    started = time.perf_counter()
    outcome, fallback = _prose()
    assert time.perf_counter() - started < TIMEOUT_S * 3
    assert outcome.text == fallback
    assert outcome.decision("analyst")["why"].startswith("timeout after 0.5 s")


def test_a_server_stalling_mid_answer_falls_back_at_the_timeout(fake_api):
    fake_api.mode = "stall"
    started = time.perf_counter()
    outcome, fallback = _prose()
    assert time.perf_counter() - started < TIMEOUT_S * 3
    assert outcome.text == fallback
    assert outcome.decision("analyst")["why"].startswith("timeout after 0.5 s")


def test_a_server_dripping_its_answer_falls_back_at_the_deadline(fake_api):
    """One byte every 0.3 s never trips the client's 0.5 s read timeout; the deadline does."""
    from agents.llm import call_deadline

    fake_api.mode, fake_api.delay = "drip", 0.3
    fallback, check, cfg = _prose_inputs()  # built before the clock starts: it times the call
    started = time.perf_counter()
    outcome = _write(fallback, check, cfg)
    assert time.perf_counter() - started < call_deadline(TIMEOUT_S, 0) + 1.0
    assert outcome.text == fallback
    assert outcome.decision("analyst")["why"].startswith("timeout: no complete answer")


def test_without_key_no_call_and_no_decision(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    outcome, fallback = _prose()
    assert outcome.text == fallback and outcome.decision("analyst") is None
