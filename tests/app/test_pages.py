"""Every page of the app against the warehouse built by the real pipeline (AppTest)."""

from __future__ import annotations

import numpy as np
import pytest

from prism_mmm.config import load_config
from prism_mmm.formatting import fmt_money, fmt_pct, fmt_roi
from prism_mmm.models import in_model_order
from prism_mmm.optimizer import user_scenario
from prism_mmm.pipeline import artifact_dir
from prism_mmm.response import ResponseSurface
from tests.app.conftest import (
    PAGES,
    assert_no_exception,
    latest_run,
    messages,
    open_page,
    read,
)


def _charts():
    import charts

    return charts


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_without_exception(app_on_built, page):
    at = open_page(page)
    assert_no_exception(at)
    assert at.title, f"{page} shows no title"


def test_overview_shows_period_readiness_and_headline(app_on_built):
    charts = _charts()
    at = open_page("overview")
    assert_no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    weeks = read(app_on_built, "select count(*) as n from mmm_input").at[0, "n"]
    assert metrics["Weeks of data"] == str(weeks)
    score = read(app_on_built, "select score from data_readiness").at[0, "score"]
    assert metrics["Readiness score"] == f"{score} / 5"
    run_id, round_ = latest_run(app_on_built)
    assert metrics["Model run"] == f"Round {round_}"
    confirmed = read(
        app_on_built,
        "select channel from model_agreement where run_id = ? and round = ? and confirmed",
        [run_id, round_],
    )["channel"]
    if len(confirmed):
        headline = at.dataframe[0].value
        assert sorted(headline["Channel"]) == sorted(charts.label(c) for c in confirmed)
    else:
        assert "do not agree on any channel" in messages(at)


def test_roi_metrics_equal_channel_roi(app_on_built):
    charts = _charts()
    at = open_page("roi")
    assert_no_exception(at)
    run_id, round_ = latest_run(app_on_built)
    roi = read(
        app_on_built,
        "select model, channel, roi from channel_roi where run_id = ? and round = ?",
        [run_id, round_],
    )
    shown = {m.label: m.value for m in at.metric}
    for model in sorted(roi["model"].unique()):
        at.segmented_control(key="roi_model").set_value(model).run()
        assert_no_exception(at)
        shown = {m.label: m.value for m in at.metric}
        for row in roi[roi["model"] == model].itertuples():
            assert shown[f"{charts.label(row.channel)} ROI"] == fmt_roi(row.roi), model
    assert at.get("plotly_chart"), "no ROI chart"


def test_models_page_shows_holdout_metrics_and_gates(app_on_built):
    at = open_page("models")
    assert_no_exception(at)
    run_id, round_ = latest_run(app_on_built)
    fit = read(
        app_on_built,
        "select model, mape, status from model_fit_metrics where run_id = ? "
        "and round = ? and split = 'holdout'",
        [run_id, round_],
    )
    fit = fit.set_index("model").loc[in_model_order(fit["model"])]  # the page's model order
    shown = [m.value for m in at.metric if m.label == "Holdout MAPE"]
    assert shown == [fmt_pct(v) for v in fit.loc[fit["status"] != "failed", "mape"]]
    gates = read(
        app_on_built,
        "select gate, metric, value, status from bayes_gates where run_id = ? and round = ? "
        "order by gate, metric",
        [run_id, round_],
    )
    badges = " ".join(m.value for m in at.markdown)
    for gate in gates["gate"].unique():
        assert f"**{gate.upper()}**" in badges
    shown = next(d.value for d in at.dataframe if "Gate" in d.value.columns)
    assert list(shown["Status"]) == list(gates["status"])
    assert np.allclose(shown["Value"], gates["value"], equal_nan=True)


def test_data_page_lists_every_anomaly(app_on_built):
    at = open_page("data_quality")
    assert_no_exception(at)
    n = read(app_on_built, "select count(*) as n from eda_anomalies").at[0, "n"]
    tables = [d.value for d in at.dataframe]
    if n:
        assert len(tables[0]) == n
    assert len(at.get("plotly_chart")) == 3  # spend/KPI, correlation heatmap, VIF


def _surface(project, run_id, round_, model) -> ResponseSurface:
    path = artifact_dir(project.project_dir, run_id, round_, model, "conjura_apparel")
    return ResponseSurface.load(path / "response_surface.json")


def test_optimiser_widgets_change_the_result(app_on_built):
    charts = _charts()
    at = open_page("response_curves")
    assert_no_exception(at)
    label = next(m.label for m in at.metric if m.label.endswith("(recommended)"))
    before = next(m.value for m in at.metric if m.label == label)

    # The page's answer equals the package optimiser's for the same inputs.
    run_id, round_ = latest_run(app_on_built)
    model = at.selectbox(key="opt_model").value
    cfg = load_config(app_on_built.project_dir / "prism.yml")
    surface = _surface(app_on_built, run_id, round_, model)
    spend = read(
        app_on_built, "select week_start_date, channel, spend from int_media_spend_unpivoted"
    ).pivot(index="week_start_date", columns="channel", values="spend")[surface.channels]
    agreement = read(
        app_on_built,
        "select channel, confirmed from model_agreement where run_id = ? and round = ?",
        [run_id, round_],
    )
    confirmed = dict(zip(agreement["channel"], agreement["confirmed"]))
    budget = 0.8 * at.number_input(key="opt_budget").value
    expected, _ = user_scenario(
        surface, spend.to_numpy(), confirmed, cfg, run_id, round_, model, budget
    )

    at.number_input(key="opt_budget").set_value(budget).run()
    assert_no_exception(at)
    after = next(m.value for m in at.metric if m.label == label)
    assert after != before
    assert after == fmt_money(expected.kpi.mean, cfg.data.currency)

    # A lock keeps the channel at today's spend in the recommendation.
    channel = surface.channels[int(np.argmax(surface.current_weekly_spend))]
    at.checkbox(key=f"opt_lock_{channel}").check().run()
    assert_no_exception(at)
    table = at.dataframe[-1].value.set_index("Channel")
    today, recommended = (c for c in table.columns if "/week" in c)
    row = table.loc[charts.label(channel)]
    assert row["Locked"]
    assert row[recommended] == pytest.approx(row[today])
    assert at.download_button(key="opt_download") is not None


def test_optimiser_infeasible_bounds_show_a_message(app_on_built):
    at = open_page("response_curves")
    channel = at.checkbox[0].key.removeprefix("opt_lock_")
    at.number_input(key=f"opt_min_{channel}").set_value(1e15).run()
    assert_no_exception(at)
    assert "cannot be allocated" in messages(at)


def test_loop_history_matches_agent_rounds(app_on_built):
    at = open_page("loop_history")
    assert_no_exception(at)
    tables = read(app_on_built, "select table_name from information_schema.tables")
    if "agent_rounds" not in set(tables["table_name"]):
        assert "run `prism loop`" in messages(at)
        return
    run_id, _ = latest_run(app_on_built)
    rounds = read(
        app_on_built,
        "select round, score from agent_rounds where run_id = ? order by round",
        [run_id],
    )
    shown = at.dataframe[0].value
    assert list(shown["Round"]) == list(rounds["round"])
    assert np.allclose(shown["Score"], rounds["score"], equal_nan=True)


def test_report_page_offers_downloads_or_says_how_to_make_one(app_on_built):
    at = open_page("report")
    assert_no_exception(at)
    run_id, _ = latest_run(app_on_built)
    report = app_on_built.project_dir / "reports" / run_id / "report.md"
    if report.exists():
        assert at.download_button[0].proto.label == "Download report.md"
    else:
        assert "run `prism loop`" in messages(at)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_empty_warehouse_says_not_built_yet(empty_project, page):
    at = open_page(page)
    assert_no_exception(at)
    text = messages(at)
    assert "not built yet" in text or "No model run" in text, text
    assert "prism build" in text or "prism loop" in text


def test_missing_loop_tables_point_to_prism_loop(empty_project, monkeypatch):
    import data

    with pytest.raises(data.NotBuilt, match="run `prism loop`"):
        data.agent_rounds("any")


def test_missing_warehouse_file_says_run_prism_build(tmp_path, monkeypatch):
    import data

    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(tmp_path / "nothing.duckdb"))
    with pytest.raises(data.NotBuilt, match="run `prism build`"):
        data.data_readiness()


def test_portfolio_page_of_one_series_says_how_to_compare_several(app_on_built):
    at = open_page("portfolio")
    assert_no_exception(at)
    assert "This run fitted one series" in messages(at)
    assert "data.series_columns" in messages(at)
