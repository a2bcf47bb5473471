"""A file with several series (one row per week and market, id column ``geo``): `prism init`
finds the series, `prism build` (real dbt) validates, grids, scores and fits each series on its
own, every table carries series_id and geo, and a series with a problem is refused by name
while the others fit, with a non-zero exit code.

Known truth: ``portfolio_3geo`` (bench/datasets.py), three markets whose ROI differs.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from pptx import Presentation

from agents.report_layout import slide_text
from prism_mmm.formatting import fmt_interval, fmt_roi
from prism_mmm.models import model_names
from tests.integration.test_other_datasets import prism

MARKETS = ["m01", "m02", "m03"]


@pytest.fixture(scope="module")
def built(built_portfolio):
    return built_portfolio


def read(project, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(sql).df()


def test_init_finds_the_series_column(built):
    _, config, init, _, _ = built
    assert init.returncode == 0, init.stdout + init.stderr
    assert config["data"]["series_columns"] == ["geo"]
    assert config["data"]["channels"] == ["search", "social", "tv"]
    assert "4 series by geo" in init.stdout
    assert "`prism build` will refuse series m04: column 'date' has 20 weeks" in init.stdout


def test_a_short_series_is_refused_by_name_and_the_others_fit(built):
    project, _, _, result, _ = built
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # a refused series is a failure, loudly
    assert "Input: refused series m04: column 'date' has 20 weeks" in out
    assert "1 of 4 series FAILED in at least one model: m04" in out
    series = read(project, "select series_id, geo, status, n_weeks from stg_input__series "
                           "order by 1")
    assert series["series_id"].tolist() == [*MARKETS, "m04"]
    assert series["status"].tolist() == ["ok", "ok", "ok", "refused"]
    runs = read(project, "select model, series_id, geo, status, message from mmm_runs "
                         "where run_id = 'markets'")
    assert len(runs) == 4 * len(model_names())
    refused = runs[runs["series_id"] == "m04"]
    assert set(refused["status"]) == {"failed"}
    assert refused["message"].str.contains("the input refused this series").all()
    fitted = runs[runs["series_id"] != "m04"]
    assert set(fitted["status"]) <= {"ok", "warning"}, fitted.to_dict("records")
    assert (fitted["geo"] == fitted["series_id"]).all()


def test_every_table_is_per_series(built):
    project = built[0]
    weeks = read(project, "select series_id, geo, count(*) as n, min(trend) as t0, "
                          "max(trend) as t1, count(*) filter (where split = 'holdout') as h "
                          "from mmm_input group by all order by 1")
    assert weeks["series_id"].tolist() == MARKETS
    assert (weeks["n"] == 120).all() and (weeks["h"] == 13).all()
    assert (weeks["t0"] == 0).all() and (weeks["t1"] == 1).all()  # a trend per series
    readiness = read(project, "select series_id, score from data_readiness order by 1")
    assert readiness["series_id"].tolist() == MARKETS
    shares = read(project, "select series_id, sum(spend_share) as s from eda_channel_summary "
                           "group by 1")
    np.testing.assert_allclose(shares["s"], 1.0)
    agreement = read(project, "select series_id, channel from model_agreement "
                              "where run_id = 'markets'")
    assert len(agreement) == 3 * 3
    scenarios = read(project, "select distinct series_id from budget_scenarios "
                              "where run_id = 'markets'")
    assert sorted(scenarios["series_id"]) == MARKETS


def test_each_market_recovers_its_own_roi(built):
    project, _, _, _, truth = built
    roi = read(project, "select series_id, channel, roi, roi_low, roi_high from channel_roi "
                        "where run_id = 'markets' and model = 'bayes'")
    roi["true_roi"] = [truth.true_roi[f"{r.series_id}/{r.channel}"] for r in roi.itertuples()]
    covered = (roi["roi_low"] <= roi["true_roi"]) & (roi["true_roi"] <= roi["roi_high"])
    error = (roi["roi"] / roi["true_roi"] - 1).abs()
    # 9 market-channel pairs at 2 chains x 300 draws: most intervals cover, the median point
    # error is modest; the markets' true ROI differs, and so do the estimates.
    assert covered.sum() >= 7, roi.to_dict("records")
    assert error.median() < 0.35, roi.to_dict("records")
    by_market = roi.pivot(index="channel", columns="series_id", values="roi")
    assert not np.allclose(by_market["m01"], by_market["m03"], rtol=0.05)


def test_portfolio_roi_puts_each_market_beside_the_median(built):
    project = built[0]
    portfolio = read(project, "select * from portfolio_roi where run_id = 'markets' "
                              "order by model, channel, series_id")
    roi = read(project, "select model, series_id, channel, roi, roi_low, roi_high "
                        "from channel_roi where run_id = 'markets' and series_id <> 'm04' "
                        "order by model, channel, series_id")
    # every fitted (model, market, channel) once; the refused market has no ROI to show
    assert len(portfolio) == len(model_names()) * 3 * 3
    assert sorted(portfolio["series_id"].unique()) == MARKETS
    assert (portfolio["geo"] == portfolio["series_id"]).all()
    pd.testing.assert_frame_equal(
        portfolio[["model", "series_id", "channel", "roi", "roi_low", "roi_high"]], roi)
    agreement = read(project, "select series_id, channel, confirmed from model_agreement "
                              "where run_id = 'markets'")
    merged = portfolio.merge(agreement, on=["series_id", "channel"], suffixes=("", "_agreement"))
    assert (merged["confirmed"] == merged["confirmed_agreement"]).all()
    for (_, _), rows in portfolio.groupby(["model", "channel"]):
        median = float(np.median(rows["roi"]))
        assert (rows["n_series"] == 3).all()
        np.testing.assert_allclose(rows["median_roi"], median)
        expected = np.where(rows["roi_low"] > median, "above",
                            np.where(rows["roi_high"] < median, "below", "in line"))
        assert rows["versus_portfolio"].tolist() == expected.tolist()


@pytest.mark.slow
def test_the_portfolio_report_has_a_page_across_series_and_a_section_each(built):
    project = built[0]
    result = prism(project, "report", "--run-id", "markets")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out  # m04 failed: loud
    assert "1 series with a failed model in run markets: m04" in out
    assert "proofreader · all" in out and "numbers trace to table values" in out
    text = (project.project_dir / "reports" / "markets" / "portfolio.md").read_text()
    expected = read(project, "select channel, series_id, roi, roi_low, roi_high, "
                             "versus_portfolio from portfolio_roi where run_id = 'markets' "
                             "and model = 'bayes' order by channel, series_id")
    table = [line.split(" | ") for line in text.splitlines()
             if line.startswith("| ") and not line.startswith("| Channel")]
    assert [(row[1], row[2], row[3]) for row in table] == [
        (r.series_id, fmt_roi(r.roi), fmt_interval(r.roi_low, r.roi_high))
        for r in expected.itertuples()]
    for market in MARKETS:
        section = text.split(f"## Series {market}\n")[1].split("## Series")[0]
        assert "Critic: " in section and "Holdout error (sMAPE): Ridge" in section
    assert ("## Series m04\n\nThe build refused this series: series m04: column 'date' has "
            "20 weeks") in text
    # The slides carry the same sections (proofread with the text above).
    slides = slide_text(Presentation(project.project_dir / "reports" / "markets" /
                                     "portfolio.pptx"))
    assert "portfolio report" in slides and "ROI across the portfolio" in slides
    assert all(f"Series {market}" in slides for market in [*MARKETS, "m04"])
    assert "SERIES FITTED\n3 of 4" in slides  # the title slide's headline card
    assert (project.project_dir / "reports" / "markets" / "figures" / "portfolio_roi.png").exists()
    allowed = prism(project, "report", "--run-id", "markets", "--allow-failed-models")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
