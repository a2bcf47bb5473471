"""A fake Anthropic Messages API on 127.0.0.1 for the real ``anthropic`` client.

``FakeAnthropic`` serves ``POST /v1/messages``; its ``mode`` picks the answer: ``normal``
(prose whose numbers trace to the fixture tables), ``invented`` (numbers that do not),
``overloaded`` (a 529), ``timeout`` (silence for ``delay`` seconds, then the answer),
``stall`` (the headers and half of the body, then silence for ``delay`` seconds) and
``drip`` (the answer one byte every ``delay`` seconds: no single read ever times out) and
``text`` (``server.text``). Every request body is kept in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

TIMEOUT_S = 0.5  # the agents' LLM deadline in the agent tests; ``fake_api`` waits 4x in "timeout"

NORMAL_TEXT = ("Cross-model agreement: 1 of 3 channels confirmed: search, ROI 3.03. "
               "Uncertain: social and display. Holdout sMAPE 12.0%. These are "
               "associations under model assumptions, not causal proof.")
INVENTED_TEXT = "Search returns an ROI of 7.45 and display 0.31, with 68.5% confidence."


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
            time.sleep(self.server.delay)
        text = (self.server.text if mode == "text"
                else {"normal": NORMAL_TEXT, "invented": INVENTED_TEXT}.get(mode, NORMAL_TEXT))
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
            if self.server.mode == "stall" and status == 200:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                time.sleep(self.server.delay)
            elif self.server.mode == "drip" and status == 200:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(self.server.delay)
            else:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def log_message(self, *args):
        pass


class FakeAnthropic:
    """The server in a daemon thread; ``base_url`` goes into ``ANTHROPIC_BASE_URL``."""

    def __init__(self, mode: str = "normal", delay: float = 2.0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessages)
        self.server.daemon_threads = True
        self.server.mode, self.server.delay, self.server.requests = mode, delay, []
        self.server.text = ""
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
