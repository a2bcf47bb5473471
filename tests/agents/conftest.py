"""Fixtures shared by the agent tests."""

from __future__ import annotations

import pytest

from tests.agents.fake_anthropic import TIMEOUT_S, FakeAnthropic


@pytest.fixture
def fake_api(monkeypatch):
    """The fake Messages API, with the key and base URL that make the agents call it."""
    with FakeAnthropic(delay=TIMEOUT_S * 4) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        yield fake.server
