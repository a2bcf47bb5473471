"""Every page in a real browser: `streamlit run` + headless Debian Chromium, with screenshots.

Screenshots land in test-artifacts/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.app.chromium import CHROMIUM, Browser, free_port
from tests.app.conftest import APP
from tests.project import REPO, Project

# In CI the browser test must run: a missing Chromium is a failed install, not a skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="needs Debian Chromium at /usr/bin/chromium (apt-get install -y chromium)",
)
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
# url path (st.navigation derives it from the page file name) -> the page's title
PAGES = {
    "": "Conjura apparel brand",
    "roi": "ROI & contributions",
    "report": "Report",
    "response_curves": "Response curves & budget",
    "data_quality": "Data",
    "models": "Models",
    "experiments": "Experiments",
    "loop_history": "Loop history",
}


@pytest.fixture(scope="module")
def served_app(built_warehouse: Project) -> Iterator[str]:
    """`streamlit run` on 127.0.0.1 and a free port, on the built warehouse; yields its URL."""
    port = free_port()
    env = {**os.environ, **built_warehouse.env()}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start:\n{server.stdout.read()}")
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Browser]:
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.mark.slow
@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_in_chromium(served_app, browser, path):
    state = browser.open(f"{served_app}/{path}")
    assert not state["exceptions"], state["exceptions"]
    assert state["title"] == PAGES[path]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / f"{path or 'overview'}.png", state["height"])
