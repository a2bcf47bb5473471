"""Commands on one series of a portfolio (real dbt): `prism loop --series` fits only that
series in each round and the agents and the report read it; `prism optimize --series` plans
it. A portfolio without --series, or a series the run lacks, is refused by name."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.integration.test_other_datasets import prism
from tests.project import Project


@pytest.fixture
def portfolio_copy(built_portfolio, tmp_path) -> Project:
    target = tmp_path / "project"
    shutil.copytree(built_portfolio.project.project_dir, target)
    return Project(project_dir=target, duckdb_path=target / "warehouse" / "prism.duckdb")


@pytest.mark.slow
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


@pytest.mark.slow
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
    # the data layer now holds m02 only: planning another market says so
    other = prism(portfolio_copy, "optimize", "--budget", "30000", "--run-id", "markets",
                  "--series", "m03")
    assert other.returncode != 0
    assert "mmm_input holds no weeks of series m03 (the last build fitted other series)" in (
        other.stderr)


@pytest.mark.slow
def test_optimize_plans_the_chosen_series(portfolio_copy):
    refused = prism(portfolio_copy, "optimize", "--budget", "30000", "--run-id", "markets")
    assert refused.returncode != 0
    assert ("run markets round 1 fitted 4 series (m01, m02, m03, m04); choose the one to plan "
            "with --series") in refused.stderr
    failed = prism(portfolio_copy, "optimize", "--budget", "30000", "--run-id", "markets",
                   "--series", "m04")
    assert failed.returncode != 0
    assert "the bayes model did not fit series m04 in run markets round 1: the input refused" \
        in failed.stderr
    planned = prism(portfolio_copy, "optimize", "--budget", "30000", "--run-id", "markets",
                    "--series", "m03")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    with duckdb.connect(str(portfolio_copy.duckdb_path), read_only=True) as con:
        rows = con.execute("select series_id, channel, current_spend from user_budget_scenarios "
                           "where run_id = 'markets'").df()
        current = con.execute("select series_id, avg(spend_search) as s from mmm_input "
                              "group by 1").df().set_index("series_id")["s"]
    assert set(rows["series_id"]) == {"m03"}
    assert sorted(rows["channel"].unique()) == ["search", "social", "tv"]
    # today's spend is m03's own weekly average, not another market's
    search_now = rows.loc[rows["channel"] == "search", "current_spend"].iloc[0]
    assert search_now == pytest.approx(current["m03"], rel=1e-9)
    assert search_now != pytest.approx(current["m01"], rel=1e-3)
