"""The agent loop on one series of a portfolio (`prism loop --series`, real dbt): each round
fits only that series, the agents and the report read it, and a portfolio without --series or
with a series the file lacks is refused by name before any work."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.integration.test_other_datasets import prism
from tests.project import Project


@pytest.fixture(scope="module")
def portfolio_copy(built_portfolio, tmp_path_factory) -> Project:
    target = tmp_path_factory.mktemp("portfolio_loop") / "project"
    shutil.copytree(built_portfolio.project.project_dir, target)
    return Project(project_dir=target, duckdb_path=target / "warehouse" / "prism.duckdb")


def test_a_portfolio_loop_needs_a_series(portfolio_copy):
    result = prism(portfolio_copy, "loop", "--rounds", "1", "--run-id", "all")
    assert result.returncode != 0
    assert "names several series" in result.stderr
    assert "pass --series" in result.stderr
    unknown = prism(portfolio_copy, "loop", "--rounds", "1", "--run-id", "m09-loop",
                    "--series", "m09")
    assert unknown.returncode != 0
    assert ("data.only_series names series the file does not hold: m09; it holds: m01, m02, "
            "m03, m04") in unknown.stdout + unknown.stderr


def test_the_loop_tunes_and_reports_on_one_series(portfolio_copy):
    result = prism(portfolio_copy, "loop", "--rounds", "1", "--run-id", "m02-loop",
                   "--series", "m02")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "prism loop · run m02-loop · series m02" in out
    assert "proofreader · all" in out
    with duckdb.connect(str(portfolio_copy.duckdb_path), read_only=True) as con:
        fitted = con.execute("select distinct series_id from mmm_runs where run_id = 'm02-loop'"
                             ).fetchall()
        earlier = con.execute("select count(distinct series_id) from mmm_runs "
                              "where run_id = 'markets'").fetchone()[0]
        rounds = con.execute("select status from agent_rounds where run_id = 'm02-loop'"
                             ).fetchall()
    assert fitted == [("m02",)]
    assert earlier == 4  # the portfolio build's rows are kept
    assert rounds == [("completed",)]
    report = (portfolio_copy.project_dir / "reports" / "m02-loop" / "report.md").read_text()
    assert report.startswith("# ") and " · m02: marketing mix report" in report.splitlines()[0]
