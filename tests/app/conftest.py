"""Fixtures for the app tests: the app against the real built warehouse, or an empty one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.project import REPO, Project

APP_DIR = REPO / "streamlit_app"
APP = APP_DIR / "app.py"
# AppTest runs the pages in this process; `streamlit run` puts the app folder on sys.path.
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

PAGES = {
    "overview": "pages/overview.py",
    "roi": "pages/roi.py",
    "portfolio": "pages/portfolio.py",
    "report": "pages/report.py",
    "response_curves": "pages/response_curves.py",
    "data_quality": "pages/data_quality.py",
    "models": "pages/models.py",
    "experiments": "pages/experiments.py",
    "loop_history": "pages/loop_history.py",
}


@pytest.fixture(autouse=True)
def _fresh_app_state(monkeypatch) -> Iterator[None]:
    """No cached reads or remembered lock carry over between tests."""
    import data

    monkeypatch.setattr(data, "_locked_until", 0.0)
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def app_on_built(built_warehouse: Project, monkeypatch) -> Project:
    """Point the app at the session's real warehouse (read-only)."""
    built_warehouse.activate(monkeypatch)
    return built_warehouse


@pytest.fixture
def empty_project(tmp_path: Path, monkeypatch) -> Project:
    """A project whose warehouse file exists but has no tables (nothing built yet)."""
    project = Project(project_dir=tmp_path, duckdb_path=tmp_path / "warehouse" / "prism.duckdb")
    project.duckdb_path.parent.mkdir(parents=True)
    duckdb.connect(str(project.duckdb_path)).close()
    (tmp_path / "prism.yml").write_text((REPO / "prism.yml").read_text())
    (tmp_path / "dbt_project.yml").write_text("name: empty\n")  # marks the project
    project.activate(monkeypatch)
    return project


def open_page(page: str) -> AppTest:
    """Run the app and switch to ``page`` (a key of ``PAGES``)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(PAGES[page]).run()
    return at


def read(project: Project, sql: str, params: list | None = None) -> pd.DataFrame:
    """Read the warehouse directly (read-only), to compare with what the page shows."""
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def latest_run(project: Project) -> tuple[str, int]:
    """The (run_id, round) the app selects by default: the latest finished run."""
    from prism_mmm.warehouse import latest_run as warehouse_latest_run

    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        ref = warehouse_latest_run(con)
    assert ref is not None, "no finished run in the warehouse"
    return ref.run_id, ref.round


def messages(at: AppTest) -> str:
    """Every info/warning/error text on the page, joined (for message assertions)."""
    return "\n".join(e.value for kind in (at.info, at.warning, at.error) for e in kind)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
