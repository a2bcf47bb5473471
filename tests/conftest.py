"""Shared fixtures. `built_warehouse` runs the real pipeline once per test session."""

from __future__ import annotations

import pytest

from tests.project import FAST_SETTINGS, Project, build, copy_project


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Project:
    """A warehouse built by the real pipeline (dbt seed + build, three real fits) on the
    bundled data, in a temporary copy of the project. Read-only for tests: copy it first
    (`copy_built_warehouse`) to change it."""
    project = copy_project(tmp_path_factory.mktemp("built") / "project", FAST_SETTINGS)
    build(project, run_id="test-run")
    return project


@pytest.fixture
def copy_built_warehouse(built_warehouse, tmp_path) -> Project:
    """A private copy of `built_warehouse` that a test may change."""
    import shutil

    target = tmp_path / "project"
    shutil.copytree(built_warehouse.project_dir, target)
    return Project(project_dir=target, duckdb_path=target / "warehouse" / "prism.duckdb")
