"""Fixtures for the knowledge-layer tests: a running fake Notion and a scratch snapshot dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.knowledge.fake_notion import FakeNotion

BUNDLED = Path(__file__).resolve().parents[2] / "knowledge" / "conjura_apparel"


@pytest.fixture
def fake() -> Iterator[FakeNotion]:
    """A started fake Notion with a small page size, so every database spans several pages."""
    with FakeNotion(page_size=2) as server:
        yield server


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """A copy of the bundled dataset's knowledge YAML, as the previous snapshot: the folder
    ``<root>/conjura_apparel`` of the knowledge root ``snapshot.parent``."""
    return Path(shutil.copytree(BUNDLED, tmp_path / "knowledge" / "conjura_apparel"))
