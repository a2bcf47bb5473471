"""Small result tables that follow docs/TABLES.md, for testing the agent roles and the runner.

``round_frames`` builds one round's tables from a few knobs (failed model, overfitting,
implausible share, gate status...). ``build`` stands in for the loop's model build in the
runner's control-flow tests (``LoopRunner(builder=build)``): it writes a round whose results
depend on the Tuner's overrides, so keep/revert/stop logic can be checked in seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from agents.warehouse import DataTables, RoundTables

SERIES = "fixture_brand"
CHANNELS = ("search", "social", "display")
SPEND = {"search": 1_000_000.0, "social": 500_000.0, "display": 200_000.0}
TOTAL_KPI = 20_000_000.0
BASE_ROI = {
    "ridge": {"search": 3.0, "social": 2.0, "display": 0.5},
    "bayes": {"search": 3.2, "social": 6.0, "display": 1.5},
    "nls": {"search": 2.9, "social": 1.9, "display": 0.2},
}
TRAIN_WEEKS, HOLDOUT_WEEKS = 104, 13
HORIZON_WEEKS = 13  # optimizer.horizon_weeks by default
# budget_scenarios as the optimiser writes them: today's split, then the same budget moved
# (weekly spend factors per channel; they sum to today's budget). (expected KPI, low, high)
# and the per-draw uplift over today's split (mean, low, high).
SAME_BUDGET_FACTORS = {"search": (1.0, 1.15), "social": (1.0, 0.85), "display": (1.0, 0.625)}
SCENARIOS = (("current", (1_800_000.0, 1_600_000.0, 2_000_000.0), (0.0, 0.0, 0.0)),
             ("optimal_same_budget", (2_150_000.0, 1_900_000.0, 2_400_000.0),
              (350_000.0, 120_000.0, 580_000.0)))
GATES = {"g1": ("plausibility_ratio", 0.8, 0.5), "g2": ("r_hat_max", 1.004, 1.01),
         "g3": ("ess_bulk_min", 850.0, 400.0), "g4": ("divergences", 0.0, 0.0),
         "g5": ("coverage_90", 0.9, 0.8), "g6": ("pareto_k_max", 0.42, 0.7),
         "g7": ("bfmi_min", 0.85, 0.3)}
# Lift tests (knowledge_experiments), totals over the test window: id -> (channel, measured
# lift, its standard error). round_frames(lifts=...) says how each round's fits meet them.
LIFT_TESTS = {"geo_search_2024": ("search", 120_000.0, 15_000.0),
              "geo_social_2024": ("social", 40_000.0, 10_000.0)}
LIFT_COLUMNS = ["run_id", "round", "model", "experiment_id", "channel", "calibrated",
                "measured_lift", "measured_lift_se", "implied_lift", "z_score", "status",
                "message"]


def round_frames(
    run_id: str = "fixture", round_: int = 1, *,
    roi: dict[str, dict[str, float]] | None = None,
    failed: tuple[str, ...] = (),
    smape: tuple[float, float] = (0.08, 0.12),
    r2_train: float = 0.86,
    train_weeks: int = TRAIN_WEEKS,
    holdout_weeks: int = HOLDOUT_WEEKS,
    share_scale: float = 1.0,
    gate_status: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    cv_smape: float | None = None,
    lifts: dict[str, tuple[bool, float]] | None = None,
) -> dict[str, pd.DataFrame]:
    """One round's result tables (docs/TABLES.md columns). ``lifts``: lift test id (of
    ``LIFT_TESTS``) -> (whether the fits calibrated on it, z of every model that ran)."""
    roi = roi or BASE_ROI
    ok_models = [m for m in roi if m not in failed]
    started = dt.datetime(2024, 6, 3, 9, 0)
    runs = pd.DataFrame([{
        "run_id": run_id, "round": round_, "model": m, "started_at": started,
        "finished_at": started + dt.timedelta(seconds=30), "git_commit": "abc1234",
        "config_hash": "cafe", "data_hash": "beef", "package_versions": "{}",
        "random_seed": 20240527, "status": "failed" if m in failed else "ok",
        "message": "sampler crashed after 600 s" if m in failed else None,
        "config_json": json.dumps(overrides or {})} for m in roi])
    metrics = pd.DataFrame([{
        "run_id": run_id, "round": round_, "model": m, "split": split,
        "r2": r2_train if split == "train" else 0.71, "mape": s * 1.05, "smape": s,
        "nrmse": s * 1.3, "n_weeks": train_weeks if split == "train" else holdout_weeks,
        "fit_seconds": 3.5, "status": "ok", "message": None}
        for m in ok_models for split, s in zip(("train", "holdout"), smape)])
    if cv_smape is not None:  # a loop build: rolling-origin CV on the training weeks
        metrics = pd.concat([metrics, pd.DataFrame([{
            "run_id": run_id, "round": round_, "model": m, "split": "cv", "r2": None,
            "mape": None, "smape": cv_smape, "nrmse": None, "n_weeks": 26, "fit_seconds": 2.0,
            "status": "ok", "message": "rolling-origin CV"} for m in ok_models])],
            ignore_index=True)
    roi_rows = [{
        "run_id": run_id, "round": round_, "model": m, "channel": ch, "spend": SPEND[ch],
        "contribution": r * SPEND[ch] * share_scale, "roi": r * share_scale,
        "roi_low": r * share_scale * 0.6, "roi_high": r * share_scale * 1.5,
        "share": r * SPEND[ch] * share_scale / TOTAL_KPI}
        for m in ok_models for ch, r in roi[m].items()]
    channel_roi = pd.DataFrame(roi_rows)
    agreement = []
    for ch in CHANNELS:
        values = channel_roi.loc[channel_roi["channel"] == ch, "roi"].to_numpy()
        mean = float(values.mean())
        cv = float(values.std() / abs(mean)) if mean else float("nan")
        signs = bool((np.sign(values) == np.sign(values[0])).all())
        agreement.append({
            "run_id": run_id, "round": round_, "channel": ch, "roi_mean": mean, "roi_cv": cv,
            "sign_agreement": signs, "n_models": len(values),
            "confirmed": bool(cv < 0.5 and signs and not failed)})
    status = gate_status or {}
    gates = pd.DataFrame([{
        "run_id": run_id, "round": round_, "model": "bayes", "gate": g, "metric": metric,
        "value": value, "threshold": threshold, "status": status.get(g, "pass")}
        for g, (metric, value, threshold) in GATES.items()]) if "bayes" not in failed else (
        pd.DataFrame(columns=["run_id", "round", "model", "gate", "metric", "value",
                              "threshold", "status"]))
    params = pd.DataFrame([{
        "run_id": run_id, "round": round_, "model": "bayes", "parameter": "adstock_decay",
        "channel": ch, "mean": d, "sd": 0.05, "hdi_low": d - 0.08, "hdi_high": d + 0.08,
        "r_hat": 1.001, "ess_bulk": 900.0, "ess_tail": 800.0}
        for ch, d in (("search", 0.45), ("social", 0.62), ("display", 0.31))])
    weeks = TRAIN_WEEKS + HOLDOUT_WEEKS
    curves = []
    for m in ok_models:
        for ch in CHANNELS:
            weekly = SPEND[ch] / weeks
            coef = roi[m][ch] * weekly * 2.0
            for k, spend in enumerate(np.linspace(0.0, 2 * weekly, 5)):
                response = coef * (1 - np.exp(-spend / weekly))
                curves.append({
                    "run_id": run_id, "round": round_, "model": m, "channel": ch,
                    "spend": spend, "response": response, "low": response * 0.7,
                    "high": response * 1.3,
                    "marginal_roi": roi[m][ch] * 2.0 * np.exp(-spend / weekly),
                    "is_current_spend": k == 2})
    budget = pd.DataFrame([{
        "run_id": run_id, "round": round_, "model": "bayes",
        "scenario_id": f"{run_id}-r{round_}-bayes-{scenario}", "scenario": scenario,
        "channel": ch, "current_spend": SPEND[ch] / weeks,
        "optimal_spend": SPEND[ch] / weeks * factor[i],
        "lower_bound": SPEND[ch] / weeks * (0.5 if i else 1.0),
        "upper_bound": SPEND[ch] / weeks * (1.5 if i else 1.0),
        "is_locked": False, "is_confirmed": ch == "search", "expected_kpi": kpi[0],
        "expected_kpi_low": kpi[1], "expected_kpi_high": kpi[2],
        "expected_roi": kpi[0] / (sum(SPEND.values()) / weeks * HORIZON_WEEKS),
        "total_budget": sum(SPEND.values()) / weeks, "uplift_kpi": gain[0],
        "uplift_kpi_low": gain[1], "uplift_kpi_high": gain[2]}
        for i, (scenario, kpi, gain) in enumerate(SCENARIOS)
        for ch, factor in SAME_BUDGET_FACTORS.items()]) if (
        "bayes" not in failed) else pd.DataFrame()
    frames = {"mmm_runs": runs, "model_fit_metrics": metrics, "channel_roi": channel_roi,
              "model_agreement": pd.DataFrame(agreement), "bayes_gates": gates,
              "bayes_parameter_summary": params, "response_curves": pd.DataFrame(curves),
              "budget_scenarios": budget,
              "experiment_lifts": lift_rows(run_id, round_, lifts or {}, ok_models)}
    # one series, as a single input's build writes it (every result table carries series_id)
    return {name: frame.assign(series_id=SERIES) for name, frame in frames.items()}


def lift_rows(run_id: str, round_: int, lifts: dict[str, tuple[bool, float]],
              models: list[str]) -> pd.DataFrame:
    """``experiment_lifts`` as a build writes it: implied = measured + z * se; |z| <= 2 pass,
    <= 3 warn, else fail (prism_mmm.calibration)."""
    rows = []
    for experiment_id, (calibrated, z) in lifts.items():
        channel, measured, se = LIFT_TESTS[experiment_id]
        implied = measured + z * se
        rows += [{"run_id": run_id, "round": round_, "model": m, "experiment_id": experiment_id,
                  "channel": channel, "calibrated": calibrated, "measured_lift": measured,
                  "measured_lift_se": se, "implied_lift": implied, "z_score": z,
                  "status": "pass" if abs(z) <= 2 else "warn" if abs(z) <= 3 else "fail",
                  "message": f"implied {implied:.4g} vs measured {measured:.4g} (se {se:.4g}): "
                             f"z = {z:.2f}"} for m in models]
    return pd.DataFrame(rows, columns=LIFT_COLUMNS)


def as_round_tables(frames: dict[str, pd.DataFrame]) -> RoundTables:
    first = frames["mmm_runs"].iloc[0]
    return RoundTables(run_id=first["run_id"], round=int(first["round"]), **frames)


def data_frames() -> dict[str, pd.DataFrame]:
    """EDA marts and Business Context matching ``CHANNELS``."""
    return {
        "eda_channel_summary": pd.DataFrame([{
            "channel": ch, "total_spend": SPEND[ch], "spend_share": SPEND[ch] / sum(
                SPEND.values()), "mean_weekly_spend": SPEND[ch] / 117, "max_weekly_spend":
            SPEND[ch] / 40, "zero_weeks": z, "sparsity": z / 117, "cv": 0.8,
            "corr_with_kpi": r} for ch, z, r in (("search", 0, 0.62), ("social", 12, 0.41),
                                                ("display", 70, 0.04))]),
        "eda_vif": pd.DataFrame({"channel": list(CHANNELS), "vif": [2.8, 3.1, 1.7]}),
        "eda_anomalies": pd.DataFrame([{
            "week_start_date": dt.date(2022, 5, 30), "column_name": "kpi", "value": 900000.0,
            "z_score": 4.1, "is_known_issue": True, "known_issue_id": "promo_2022_05"}]),
        "data_readiness": pd.DataFrame([{
            "score": 4, "n_weeks": 117, "n_channels": 3,
            "reasons": "117 weeks; display sparse (60% zero weeks)", "max_vif": 3.1,
            "n_anomalies": 1, "sparse_channels": "display"}]),
        "knowledge_business_context": pd.DataFrame([
            {"key": "brand", "value": "Fixture brand", "channel": None, "roi_low": None,
             "roi_high": None},
            *[{"key": "expected_roi", "value": "range", "channel": ch, "roi_low": 0.1,
               "roi_high": 10.0} for ch in CHANNELS]]),
    }


def as_data_tables(frames: dict[str, pd.DataFrame] | None = None) -> DataTables:
    return DataTables(**(frames or data_frames()))


def write_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame],
                 run_id: str | None = None, round_: int | None = None) -> None:
    """Create-or-replace rows: round tables replace their (run_id, round), others replace all."""
    for name, frame in frames.items():
        if frame.empty:
            continue
        exists = con.execute("select count(*) from information_schema.tables where "
                             "table_name = ?", [name]).fetchall()[0][0]
        con.register("incoming", frame)
        if not exists:
            con.execute(f'create table "{name}" as select * from incoming')
        elif run_id is None:
            con.execute(f'delete from "{name}"')
            con.execute(f'insert into "{name}" by name select * from incoming')
        else:
            con.execute(f'delete from "{name}" where run_id = ? and "round" = ?',
                        [run_id, round_])
            con.execute(f'insert into "{name}" by name select * from incoming')
        con.unregister("incoming")


def create_warehouse(path: Path) -> Path:
    """A warehouse with the data layer only (what ``prism build`` leaves before the loop)."""
    with duckdb.connect(str(path)) as con:
        write_frames(con, data_frames())
    return path


def build(cfg: Any, run_id: str, round_: int, overrides: dict[str, Any]) -> None:
    """Loop builder: results depend on the overrides (a piecewise Bayesian trend forecasts
    the CV blocks better; retuning display's decay makes the models agree on it).
    ``PRISM_FAKE_BUILD_LOG`` records every call."""
    if log := os.environ.get("PRISM_FAKE_BUILD_LOG"):
        with open(log, "a") as handle:
            handle.write(f"{run_id} {round_} {json.dumps(overrides, sort_keys=True)}\n")
    roi = {m: dict(v) for m, v in BASE_ROI.items()}
    display = overrides.get("transforms", {}).get("channels", {}).get("display", {})
    if "decay" in display:
        roi["nls"]["display"] = 1.2
    piecewise = overrides.get("bayes", {}).get("trend") == "piecewise"
    frames = round_frames(run_id, round_, roi=roi, overrides=overrides,
                          cv_smape=0.10 if piecewise else 0.12)
    with duckdb.connect(os.environ["PRISM_DUCKDB_PATH"]) as con:
        write_frames(con, frames, run_id, round_)
