"""The app on a portfolio warehouse (several series in one run, one of them refused by the
build): the sidebar's series selector, every page filtered to the chosen series, and the
Portfolio page against ``portfolio_roi`` (AppTest, real `prism build`)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from prism_mmm.formatting import fmt_interval, fmt_roi
from tests.app.conftest import APP, PAGES, assert_no_exception, messages, open_page, read

RUN = ("markets", 1)


@pytest.fixture
def app_on_portfolio(built_portfolio, monkeypatch):
    built_portfolio.project.activate(monkeypatch)
    return built_portfolio.project


def open_for(page: str, series: str):
    """The app on ``page`` with ``series`` chosen in the sidebar (set before the first run:
    on a rerun AppTest's tree holds the page's elements only, not the sidebar's)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["series_choice"] = series
    at.run()
    at.switch_page(PAGES[page]).run()
    assert_no_exception(at)
    assert at.session_state["selected_run"].series_id == series
    return at


def test_the_sidebar_offers_every_series_of_the_run(app_on_portfolio):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert_no_exception(at)
    # m04 was refused by the build: it is listed, and its fits say failed
    assert at.selectbox(key="series_choice").options == ["m01", "m02", "m03", "m04"]
    assert at.session_state["selected_run"].series_id == "m01"
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["series_choice"] = "m04"
    at.run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Bayesian: failed" in captions and "Ridge: failed" in captions
    at = open_for("overview", "m04")
    assert "No modelled weeks for series m04: series m04: column 'date' has 20 weeks" in (
        messages(at))


@pytest.mark.parametrize("series", ["m02", "m04"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_for_a_chosen_series(app_on_portfolio, page, series):
    at = open_for(page, series)
    assert at.title, f"{page} shows no title"


def test_pages_show_the_chosen_series_only(app_on_portfolio):
    import charts

    at = open_for("roi", "m02")
    roi = read(app_on_portfolio, "select model, channel, roi from channel_roi where run_id = ? "
                                 "and round = ? and series_id = 'm02'", list(RUN))
    for model in sorted(roi["model"].unique()):
        at.segmented_control(key="roi_model").set_value(model).run()
        shown = {m.label: m.value for m in at.metric}
        for row in roi[roi["model"] == model].itertuples():
            assert shown[f"{charts.label(row.channel)} ROI"] == fmt_roi(row.roi), model
    # the data layer too: the chosen market's weeks, not the portfolio's
    at = open_for("overview", "m02")
    weeks = read(app_on_portfolio, "select count(*) as n from mmm_input where series_id = 'm02'")
    assert {m.label: m.value for m in at.metric}["Weeks of data"] == str(weeks.at[0, "n"])


def test_portfolio_page_lists_every_series_beside_the_median(app_on_portfolio):
    at = open_page("portfolio")
    assert_no_exception(at)
    assert "one series" not in messages(at)
    expected = read(app_on_portfolio, "select * from portfolio_roi where run_id = ? and round = ?"
                                      " and model = 'bayes' order by channel, series_id",
                    list(RUN))
    at.segmented_control(key="portfolio_model").set_value("bayes").run()
    table = at.dataframe[0].value
    assert table["Series"].tolist() == expected["series_id"].tolist()
    assert table["ROI"].tolist() == [fmt_roi(v) for v in expected["roi"]]
    assert table["90% interval"].tolist() == [
        fmt_interval(lo, hi) for lo, hi in zip(expected["roi_low"], expected["roi_high"])]
    assert table["Versus the median"].tolist() == expected["versus_portfolio"].tolist()
    assert {m.label: m.value for m in at.metric}["Series"] == "3"
    assert at.get("plotly_chart"), "no portfolio chart"
