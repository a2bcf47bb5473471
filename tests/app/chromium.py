"""A minimal headless-Chromium driver over the DevTools protocol, for the browser test.

Chromium's one-shot ``--screenshot``/``--dump-dom`` flags cannot wait for Streamlit: the page
is filled over a websocket after load, which ``--virtual-time-budget`` does not wait for. So the
test starts Chromium with ``--remote-debugging-port`` and polls the DOM until the script run has
finished. The websocket client is ``websockets`` (a pinned dependency of streamlit).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1400,1000",
]  # fmt: skip

# True once Streamlit finished the run: a title is on the page and no "Running…" widget shows.
_DONE = """
(() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const running = status !== null && /running|stop/i.test(status.innerText);
  const skeleton = document.querySelector('[data-testid="stSkeleton"]');
  return main !== null && main.querySelector('h1') !== null && !running && skeleton === null;
})()
"""
_STATE = """
(() => ({
  title: (document.querySelector('[data-testid="stMain"] h1') || {}).innerText || '',
  exceptions: [...document.querySelectorAll('[data-testid="stException"]')]
      .map(e => e.innerText),
  alerts: [...document.querySelectorAll('[data-testid="stAlert"]')].map(e => e.innerText),
  height: (document.querySelector('[data-testid="stMainBlockContainer"]') || document.body)
      .scrollHeight,
}))()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium with one tab, driven through the DevTools websocket."""

    def __init__(self, user_data_dir: Path) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={user_data_dir}",
             f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.ids = itertools.count(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
                    targets = json.load(response)
                page = next(t for t in targets if t["type"] == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("Chromium did not open its DevTools port") from None
                time.sleep(0.2)
        self.exit_stack = contextlib.ExitStack()
        self.ws = self.exit_stack.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        )

    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and return its result (events in between are dropped)."""
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 90.0) -> dict:
        """Load ``url`` and wait until Streamlit has rendered it; return the page state."""
        self.call("Emulation.setDeviceMetricsOverride", width=1400, height=1000,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        done_since = None
        while time.monotonic() < deadline:
            if self.evaluate(_DONE):
                # Stable for a second: charts and late deltas have arrived.
                done_since = done_since or time.monotonic()
                if time.monotonic() - done_since > 1.5:
                    return self.evaluate(_STATE)
            else:
                done_since = None
            time.sleep(0.25)
        raise TimeoutError(f"{url} did not finish rendering in {timeout:.0f}s: "
                           f"{self.evaluate(_STATE)}")  # fmt: skip

    def screenshot(self, path: Path, height: int) -> None:
        """Save a PNG of the whole page (the window is grown to the content height first)."""
        self.call("Emulation.setDeviceMetricsOverride", width=1400,
                  height=max(1000, min(int(height) + 120, 8000)), deviceScaleFactor=1,
                  mobile=False)  # fmt: skip
        time.sleep(1.5)  # plotly re-lays out on resize
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        if hasattr(self, "exit_stack"):
            self.exit_stack.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
