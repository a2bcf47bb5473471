"""Shared fixtures. `built_warehouse` runs the real pipeline once per test session."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from tests.project import FAST_SETTINGS, Project, build, copy_project


class PortfolioBuild(NamedTuple):
    project: Project
    config: dict
    init: Any  # subprocess.CompletedProcess of `prism init`
    result: Any  # subprocess.CompletedProcess of `prism build`
    truth: Any  # bench.datasets.KnownTruth


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


@pytest.fixture(scope="session")
def built_portfolio(tmp_path_factory) -> PortfolioBuild:
    """`prism init` + `prism build` (real dbt) on a file with several series: the known-truth
    ``portfolio_3geo`` (markets m01-m03, id column ``geo``) plus a market m04 with only 20
    weeks, which the build refuses. Read-only for tests."""
    import pandas as pd
    import yaml

    from bench.datasets import load
    from prism_mmm.config import deep_merge
    from tests.integration.test_other_datasets import prism

    tmp_path = tmp_path_factory.mktemp("portfolio")
    truth = load("portfolio_3geo")
    short = truth.frame[truth.frame["geo"] == "m01"].head(20).assign(geo="m04")
    csv = tmp_path / "markets.csv"
    pd.concat([truth.frame, short]).to_csv(csv, index=False)
    project = copy_project(tmp_path / "project")
    init = prism(project, "init", "--data", str(csv), "--force")
    config_file = project.project_dir / "prism.yml"
    config = deep_merge(yaml.safe_load(config_file.read_text()), FAST_SETTINGS)
    config_file.write_text(yaml.safe_dump(config))
    result = prism(project, "build", "--run-id", "markets")
    return PortfolioBuild(project, config, init, result, truth)
