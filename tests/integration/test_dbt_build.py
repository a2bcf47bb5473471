"""The real pipeline on the bundled data: dbt seed + build + tests, one real fit per
registered model."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import yaml

from prism_mmm.models import model_names
from prism_mmm.pipeline import artifact_dir
from tests.project import build, copy_project


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    con = duckdb.connect(str(built_warehouse.duckdb_path), read_only=True)
    yield con
    con.close()


def test_mmm_input_has_the_bundled_weeks_and_channels(warehouse):
    frame = warehouse.sql("select * from mmm_input order by week_start_date").df()
    assert len(frame) == 132
    assert frame["week_start_date"].min() == pd.Timestamp("2021-11-22")
    assert frame["week_start_date"].max() == pd.Timestamp("2024-05-27")
    spend_columns = [c for c in frame if c.startswith("spend_")]
    assert len(spend_columns) == 8
    assert (frame["split"] == "holdout").sum() == 13
    assert frame["trend"].iloc[0] == 0 and frame["trend"].iloc[-1] == 1


def test_known_outlier_week_is_flagged(warehouse):
    flagged = warehouse.sql(
        "select week_start_date, known_issue_id, known_issue_action from mmm_input "
        "where is_known_issue").df()
    assert list(flagged["week_start_date"].dt.strftime("%Y-%m-%d")) == ["2022-05-30"]
    assert flagged["known_issue_action"].tolist() == ["flag"]
    anomaly = warehouse.execute(
        "select z_score, is_known_issue from eda_anomalies "
        "where week_start_date = '2022-05-30' and column_name = 'google_shopping'").fetchall()[0]
    assert anomaly[0] == pytest.approx(10.19, abs=0.01) and anomaly[1] is True


def test_eda_marts(warehouse):
    summary = warehouse.sql("select * from eda_channel_summary").df().set_index("channel")
    assert summary["spend_share"].sum() == pytest.approx(1.0)
    assert summary.loc["google_shopping", "zero_weeks"] == 101
    assert summary.loc["google_shopping", "sparsity"] == pytest.approx(101 / 132)
    assert summary.loc["meta_facebook", "spend_share"] == pytest.approx(0.644, abs=0.001)
    n_pairs = warehouse.execute("select count(*) from eda_correlation").fetchall()[0][0]
    assert n_pairs == 9 * 9  # 8 channels + kpi, both orders and the diagonal
    vif = warehouse.execute("select max(vif), min(vif) from eda_vif").fetchall()[0]
    assert 1.0 <= vif[1] <= vif[0] < 10


def test_data_readiness_score_with_reasons(warehouse):
    score, n_weeks, reasons = warehouse.execute(
        "select score, n_weeks, reasons from data_readiness").fetchall()[0]
    assert n_weeks == 132
    # The KPI spikes of late May and the Christmas weeks are explained by the events
    # (knowledge and the retail calendar): only the sparse channel is left to say.
    assert score == 4
    assert reasons == "sparse channels: google_shopping (76.5% zero weeks)"


def test_features_match_the_python_twin(warehouse):
    from prism_mmm.data import seasonality_features

    frame = warehouse.sql("select * from mmm_input order by week_start_date").df()
    expected = seasonality_features(frame["week_start_date"], fourier_order=2)
    for column in expected:
        assert frame[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-12)


def test_every_model_wrote_results(warehouse):
    models = model_names()
    metrics = warehouse.sql("select model, split, status, fit_seconds from model_fit_metrics").df()
    assert set(metrics["model"]) == set(models)
    assert set(metrics["split"]) == {"train", "holdout"}
    assert (metrics["fit_seconds"] > 0).all()
    roi = warehouse.sql("select model, channel, roi, roi_low, roi_high from channel_roi").df()
    assert len(roi) == len(models) * 8
    for model, group in roi.groupby("model"):
        assert (group["roi"].abs() > 0).any(), f"{model} returned all-zero ROI"
    assert (roi["roi_low"] <= roi["roi"] + 1e-9).all() and (roi["roi"] <= roi["roi_high"] + 1e-9).all()
    gates = warehouse.sql("select gate from bayes_gates").df()["gate"]
    assert set(gates) == {f"g{i}" for i in range(1, 8)}
    runs = warehouse.sql("select run_id, round, model, status, config_hash, data_hash from mmm_runs").df()
    assert len(runs) == len(models) and set(runs["run_id"]) == {"test-run"}
    agreement = warehouse.sql("select channel, confirmed from model_agreement").df()
    assert len(agreement) == 8


def test_confirmed_means_every_registered_model_agrees(warehouse):
    agreement = warehouse.sql(
        "select n_models, sign_agreement, roi_cv, confirmed from model_agreement").df()
    expected = ((agreement["n_models"] == len(model_names())) & agreement["sign_agreement"]
                & (agreement["roi_cv"] < 0.5))
    assert (agreement["confirmed"] == expected).all()


def test_curves_cover_twice_the_max_spend(warehouse):
    curves = warehouse.sql(
        "select model, channel, max(spend) as top, count(*) filter (where is_current_spend) as n_current "
        "from response_curves group by model, channel").df()
    maxima = warehouse.sql("select channel, max_weekly_spend from eda_channel_summary").df()
    merged = curves.merge(maxima, on="channel")
    assert (merged["top"] >= 2 * merged["max_weekly_spend"] - 1e-6).all()
    assert (merged["n_current"] == 1).all()


@pytest.mark.slow
def test_promo_flag_from_the_data_layer_keeps_the_spike_out_of_google_channels(warehouse):
    """The known-issue flag on 2022-05-30 (knowledge layer -> mmm_input) becomes an event
    control in every model. Without it, the week where revenue (z 4.1) and Google spend spike
    together is read as a media response: the seed system reported google_shopping ROI 22.3.
    Measured on the bundled data with the calendar events: Ridge gives every Google channel
    ROI 0.0 with the flag; without it google_search gets 35.8."""
    from prism_mmm.config import load_config
    from prism_mmm.data import from_mmm_input
    from prism_mmm.models import build_estimator

    mmm_input = warehouse.sql("select * from mmm_input").df()
    cfg = load_config(overrides={"ridge": {"n_boot": 20}})
    flagged = from_mmm_input(mmm_input, cfg)
    unflagged = from_mmm_input(mmm_input.drop(columns=["event_promo_2022_05_30"]).assign(
        known_issue_id=None, known_issue_action=None), cfg)
    assert "event_promo_2022_05_30" in flagged.control_names
    assert set(flagged.control_names) - set(unflagged.control_names) == {
        "event_promo_2022_05_30"}

    def top_google_roi(data):
        roi = build_estimator("ridge", cfg).fit(data).roi().set_index("channel")["roi"]
        return roi[roi.index.str.startswith("google_")].max()

    with_flag, without_flag = top_google_roi(flagged), top_google_roi(unflagged)
    assert with_flag < 5.0 and without_flag > 20.0


@pytest.mark.slow
def test_a_warehouse_from_before_a_result_column_gains_it(copy_built_warehouse):
    """experiment_lifts gained `calibrated` after warehouses existed: the next build adds the
    column (older rows null) instead of failing on the schema change."""
    project = copy_built_warehouse
    with duckdb.connect(str(project.duckdb_path)) as con:
        con.execute("alter table experiment_lifts drop column calibrated")
    build(project, run_id="after-upgrade", select="experiment_lifts")
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        columns = [r[0] for r in con.execute("describe experiment_lifts").fetchall()]
    assert "calibrated" in columns


@pytest.mark.slow
def test_a_rebuild_reuses_only_the_fits_whose_inputs_did_not_change(copy_built_warehouse):
    """Same data and settings: the fits' rows come back as they were, said to be reused, with
    their artefacts. A changed Ridge setting refits Ridge alone."""
    project = copy_built_warehouse
    select = "fit_ridge+ fit_nls+"

    def roi(run_id):
        with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
            return con.execute("select model, channel, roi, roi_low, roi_high from channel_roi "
                               "where run_id = ? and model in ('ridge', 'nls') "
                               "order by model, channel", [run_id]).df()

    before = roi("test-run")
    build(project, run_id="again", select=select)
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        runs = con.execute("select model, message from mmm_runs where run_id = 'again'"
                           ).df().set_index("model")["message"]
    for model in ("ridge", "nls"):
        assert runs[model].startswith("reused the fit of run test-run round 1"), runs[model]
        assert (artifact_dir(project.project_dir, "again", 1, model, "conjura_apparel") /
                "response_surface.json").exists()
    assert len(before) == 16  # two models x the 8 channels
    pd.testing.assert_frame_equal(roi("again"), before)

    config_file = project.project_dir / "prism.yml"
    config = yaml.safe_load(config_file.read_text())
    config.setdefault("ridge", {})["cv_splits"] = 4
    config_file.write_text(yaml.safe_dump(config))
    build(project, run_id="changed", select=select)
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        runs = con.execute("select model, message from mmm_runs where run_id = 'changed'"
                           ).df().set_index("model")["message"].fillna("")
    assert not runs["ridge"].startswith("reused")
    assert runs["nls"].startswith("reused the fit of run")
    # budget_scenarios (a Python incremental model) was built into an existing table twice:
    # dbt-duckdb's intermediate tables must not stay behind for BI tools to find.
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        leftovers = con.execute("select table_name from information_schema.tables "
                                "where contains(table_name, '__dbt_tmp')").fetchall()
    assert leftovers == []


@pytest.mark.slow
def test_a_new_run_and_round_keep_dbts_partial_parse(tmp_path):
    """The run's identity and the Tuner's change reach dbt as environment variables, and the
    staging copy keeps one name: a loop round's build re-parses only the files that read them,
    not the whole project."""
    project = copy_project(tmp_path / "project")
    build(project, run_id="first", select="+tag:data_layer")
    log = project.project_dir / "logs" / "dbt.log"
    assert "saved manifest not found" in log.read_text()  # the first build parses everything
    log.write_text("")
    build(project, run_id="second", round_=2, select="+tag:data_layer",
          config_overrides={"holdout_weeks": 10})
    text = log.read_text()
    assert "Unable to do partial parsing" not in text, text[:2000]
    assert "Partial parsing enabled" in text
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        holdout = con.execute("select count(*) from mmm_input where split = 'holdout'").fetchone()[0]
    assert holdout == 10  # the override reached the SQL (the bundled default is 13)
