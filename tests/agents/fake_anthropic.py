"""A fake Anthropic Messages API on 127.0.0.1 for the real ``anthropic`` client.

``server.mode`` picks the answer: 'normal', 'invented' (numbers no table holds), 'overloaded'
(HTTP 529), 'timeout' (answers after ``TIMEOUT_S * 4``), 'text' (``server.text``); any other
mode answers with empty text. Every request body is kept in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TIMEOUT_S = 0.5
ANSWERS = {
    "normal": "Cross-model agreement: 1 of 3 channels confirmed: search, ROI 3.03. "
              "Uncertain: social and display. Holdout sMAPE 12.0%. These are "
              "associations under model assumptions, not causal proof.",
    "invented": "Search returns an ROI of 7.45 and display 0.31, with 68.5% confidence.",
}


class FakeMessages(BaseHTTPRequestHandler):
    """POST /v1/messages."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.server.requests.append(body)
        mode = self.server.mode
        if mode == "overloaded":
            return self._send(529, {"type": "error", "error": {
                "type": "overloaded_error", "message": "Overloaded"}})
        if mode == "timeout":
            time.sleep(TIMEOUT_S * 4)
        text = self.server.text if mode == "text" else ANSWERS.get(mode, "")
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


@contextmanager
def serve() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeMessages)
    server.mode, server.text, server.requests = "normal", "", []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
