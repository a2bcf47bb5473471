"""Fixtures shared by the agent tests."""

from __future__ import annotations

import pytest

from tests.agents.fake_anthropic import serve


@pytest.fixture
def fake_api(monkeypatch):
    """The fake Messages API, with the key and base URL that make the agents call it."""
    with serve() as server:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{server.server_port}")
        yield server
