"""Optional Claude prose through the real anthropic client against a fake Messages API."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agents.analyst import analyse
from agents.llm import write_prose
from agents.proofreader import build_trace_set, proofread
from prism_mmm.config import AgentsConfig
from tests.agents.fixture_warehouse import as_data_tables, as_round_tables, round_frames

TIMEOUT_S = 0.5


class FakeMessages(BaseHTTPRequestHandler):
    """POST /v1/messages; ``server.mode`` picks the answer."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.requests.append(body)
        mode = self.server.mode
        if mode == "overloaded":
            return self._send(529, {"type": "error", "error": {
                "type": "overloaded_error", "message": "Overloaded"}})
        if mode == "timeout":
            time.sleep(TIMEOUT_S * 4)
        text = {"normal": "Cross-model agreement: 1 of 3 channels confirmed: search, ROI 3.03. "
                          "Uncertain: social and display. Holdout sMAPE 12.0%. These are "
                          "associations under model assumptions, not causal proof.",
                "invented": "Search returns an ROI of 7.45 and display 0.31, with 68.5% "
                            "confidence."}.get(mode, "")
        return self._send(200, {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"],
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 20}})

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessages)
    server.mode, server.requests = "normal", []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    yield server
    server.shutdown()
    server.server_close()


def _prose():
    tables = as_round_tables(round_frames())
    trace = build_trace_set(tables, as_data_tables())
    fallback = analyse(tables).text

    def check(text):
        proof = proofread(text, trace, ["search", "social", "display"])
        return None if proof.ok else proof.summary()

    cfg = AgentsConfig(llm_model="claude-test", llm_timeout_seconds=TIMEOUT_S)
    return write_prose("an analysis", {"channel_roi": []}, fallback, check, cfg,
                       max_retries=0), fallback


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


def test_without_key_no_call_and_no_decision(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    outcome, fallback = _prose()
    assert outcome.text == fallback and outcome.decision("analyst") is None
