"""From ``mmm_input`` to the long results frame a dbt Python model returns.

One fit writes one frame whose rows belong to several marts; the column ``result_table``
names the mart and the SQL marts select their rows (``models/marts/results/``). Every column
has a fixed type (``RESULT_SCHEMA``) so the marts keep a stable schema across runs and models.
A model that fails is recorded as failed — status and message in ``model_fit_metrics`` and
``mmm_runs`` — never replaced by another model's numbers. Under ``diagnostics_gating: strict``
it fails the dbt node instead (:class:`ModelFailure`), so a direct ``dbt build`` stops with
the reason; ``prism build`` reports failed models and exits non-zero either way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import subprocess
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from prism_mmm import fit_cache
from prism_mmm.calibration import (
    Experiment,
    experiments_from_table,
    lift_agreement,
    with_calibration,
)
from prism_mmm.config import PrismConfig
from prism_mmm.data import MMMData, from_mmm_input
from prism_mmm.gates import GateFailure
from prism_mmm.models import build_estimator, model_spec
from prism_mmm.series import SERIES_ID, series_dir_name, single_series_id

RESULT_SCHEMA: dict[str, str] = {
    "run_id": "string",
    "round": "Int64",
    "model": "string",
    "series_id": "string",
    "result_table": "string",
    "split": "string",
    "week_start_date": "datetime64[us]",
    "channel": "string",
    "component": "string",
    "parameter": "string",
    "gate": "string",
    "metric": "string",
    "value": "float64",
    "low": "float64",
    "high": "float64",
    "threshold": "float64",
    "actual": "float64",
    "predicted": "float64",
    "spend": "float64",
    "contribution": "float64",
    "roi": "float64",
    "roi_low": "float64",
    "roi_high": "float64",
    "share": "float64",
    "r2": "float64",
    "mape": "float64",
    "smape": "float64",
    "nrmse": "float64",
    "n_weeks": "Int64",
    "fit_seconds": "float64",
    "mean": "float64",
    "sd": "float64",
    "hdi_low": "float64",
    "hdi_high": "float64",
    "r_hat": "float64",
    "ess_bulk": "float64",
    "ess_tail": "float64",
    "response": "float64",
    "marginal_roi": "float64",
    "is_current_spend": "boolean",
    "status": "string",
    "message": "string",
    "started_at": "datetime64[us]",
    "finished_at": "datetime64[us]",
    "git_commit": "string",
    "config_hash": "string",
    "data_hash": "string",
    "package_versions": "string",
    "random_seed": "Int64",
    "config_json": "string",
    "experiment_id": "string",
    "calibrated": "boolean",
    "measured_lift": "float64",
    "measured_lift_se": "float64",
    "implied_lift": "float64",
    "z_score": "float64",
}

VERSIONED_PACKAGES = [
    "prism-mmm", "numpy", "pandas", "scipy", "scikit-learn", "pymc", "pytensor", "arviz",
    "numpyro", "jax", "nutpie", "duckdb", "dbt-core", "dbt-duckdb",
]


class ModelFailure(RuntimeError):
    """A model failed under ``diagnostics_gating: strict``; the message says which and why."""


def artifact_dir(project_dir: Path, run_id: str, round_: int, model: str,
                 series_id: str) -> Path:
    """Where a fit's saved artefacts live (posterior, response surface)."""
    return (Path(project_dir) / "artifacts" / run_id / f"round_{round_}" / model
            / series_dir_name(series_id))


def typed_results(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with exactly the columns and dtypes of ``RESULT_SCHEMA``."""
    frame = frame.reindex(columns=list(RESULT_SCHEMA))
    return frame.astype(RESULT_SCHEMA)


def _rows(result_table: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(result_table=result_table)


def _git_commit(project_dir: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, text=True, check=False,
                             capture_output=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def data_hash(mmm_input: pd.DataFrame) -> str:
    """A hash of the values, whatever their in-memory types (an engine may hand the same
    weeks over as other dtypes: nanosecond times, object text)."""
    frame = mmm_input.sort_index(axis=1).sort_values("week_start_date")
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16]


def package_versions() -> str:
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return json.dumps(versions, sort_keys=True)


def predictions_frame(estimator, data: MMMData) -> pd.DataFrame:
    predicted = estimator.predict()
    interval = getattr(estimator, "predict_interval", None)
    low, high = interval() if interval else (np.full_like(predicted, np.nan),) * 2
    return pd.DataFrame(
        {
            "week_start_date": data.week_start_date,
            "split": np.where(data.is_train, "train", "holdout"),
            "actual": data.y,
            "predicted": predicted,
            "low": low,
            "high": high,
        }
    )


def _run_identity(model_name: str, series_id: str, cfg: PrismConfig, run_id: str, round_: int,
                  project_dir: Path, input_hash: str | None) -> dict:
    """The ``mmm_runs`` columns that identify a fit and what it was run on."""
    return {
        "run_id": run_id,
        "round": round_,
        "model": model_name,
        "series_id": series_id,
        "started_at": datetime.now(UTC).replace(tzinfo=None),
        "git_commit": _git_commit(project_dir),
        "config_hash": cfg.config_hash(),
        "data_hash": input_hash,
        "package_versions": package_versions(),
        "random_seed": cfg.random_seed,
        "config_json": json.dumps(cfg.model_dump(mode="json"), sort_keys=True),
    }


def refused_series_results(model_name: str, refused: pd.DataFrame, cfg: PrismConfig,
                           run_id: str, round_: int, project_dir: Path) -> pd.DataFrame:
    """A failed ``model_fit_metrics`` and ``mmm_runs`` row per series the input refused
    (``stg_input__series``), so a refused series fails every model loudly, by name."""
    frames = []
    for series_id, row in refused.groupby("series_id", sort=True):
        # No weeks were loaded: the hash is of what the input check recorded.
        run = _run_identity(model_name, str(series_id), cfg, run_id, round_, project_dir,
                            hashlib.sha256(row.to_csv(index=False).encode()).hexdigest()[:16])
        message = f"the input refused this series: {row['message'].iloc[0]}"
        n_rows = int(row["n_weeks"].fillna(0).iloc[0])
        frames.append(_finish([
            _rows("model_fit_metrics", pd.DataFrame([{
                "split": "train", "n_weeks": n_rows, "fit_seconds": 0.0, "status": "failed",
                "message": message}])),
            _rows("mmm_runs", pd.DataFrame([{**run, "finished_at": run["started_at"],
                                             "status": "failed", "message": message}])),
        ], run))
    return pd.concat(frames, ignore_index=True)


def fit_results(
    model_name: str,
    mmm_input: pd.DataFrame,
    cfg: PrismConfig,
    run_id: str,
    round_: int,
    project_dir: Path,
    roi_priors: dict[str, tuple[float, float]] | None = None,
    experiments: tuple[Experiment, ...] = (),
) -> pd.DataFrame:
    """Fit one model on one series (``mmm_input``'s rows of one ``series_id``) and return
    every result row it produces (see ``RESULT_SCHEMA``); ``experiments`` are lift tests the
    fit is checked against (``experiment_lifts``)."""
    from prism_mmm.metrics import fit_metrics
    from prism_mmm.optimizer import response_curves_frame

    model_spec(model_name)  # an unknown name fails here, before any work
    series_id = single_series_id(mmm_input)
    run = _run_identity(model_name, series_id, cfg, run_id, round_, project_dir,
                        data_hash(mmm_input))
    data = dataclasses.replace(from_mmm_input(mmm_input, cfg), experiments=experiments)
    target = artifact_dir(project_dir, run_id, round_, model_name, series_id)
    tick = time.perf_counter()
    frames: list[pd.DataFrame] = []
    try:
        estimator = build_estimator(model_name, cfg, roi_priors=roi_priors)
        refit_cfg = cfg.for_cv_refits() if cfg.validation.origins else None
        cache_key = None
        if cfg.fit_cache:
            refit = None if refit_cfg is None else build_estimator(model_name, refit_cfg,
                                                                   roi_priors=roi_priors)
            cache_key = fit_cache.fit_key(model_name, estimator, refit, data, cfg)
            reused = fit_cache.reuse(project_dir, model_name, cache_key, run, target)
            if reused is not None:
                return typed_results(reused)
        estimator.fit(data)
        diagnostics = estimator.diagnostics()
        if diagnostics.get("status") == "failed" and cfg.diagnostics_gating == "strict":
            raise ModelFailure(f"{model_name} on series {series_id}: "
                               f"{diagnostics.get('message', '')}")
    except Exception as exc:
        if isinstance(exc, GateFailure | ModelFailure):
            raise  # the gate or failure message fails the dbt node
        if cfg.diagnostics_gating == "strict":
            raise ModelFailure(f"{model_name} failed on series {series_id}: "
                               f"{type(exc).__name__}: {exc}") from exc
        seconds = time.perf_counter() - tick
        message = f"{type(exc).__name__}: {exc}"
        status_row = pd.DataFrame(
            [{"split": split, "n_weeks": int(n), "fit_seconds": seconds, "status": "failed",
              "message": message}
             for split, n in (("train", data.is_train.sum()), ("holdout", (~data.is_train).sum()))]
        )
        frames.append(_rows("model_fit_metrics", status_row))
        finished = datetime.now(UTC).replace(tzinfo=None)
        frames.append(_rows("mmm_runs", pd.DataFrame([{
            **run, "finished_at": finished, "status": "failed",
            "message": message + "\n" + traceback.format_exc(limit=3)}])))
        return _finish(frames, run)
    seconds = time.perf_counter() - tick

    status, message = diagnostics.get("status", "ok"), diagnostics.get("message", "")
    metrics = fit_metrics(data.y, estimator.predict(), data.is_train)
    metrics = metrics.assign(fit_seconds=seconds, status=status, message=message)
    frames.append(_rows("model_fit_metrics", metrics))
    if refit_cfg is not None:
        frames.append(_rows("model_fit_metrics", cv_metrics(
            lambda part: build_estimator(model_name, refit_cfg, roi_priors=roi_priors).fit(part),
            data, cfg, status)))
    frames.append(_rows("channel_roi", estimator.roi()))
    if experiments:
        frames.append(_rows("experiment_lifts", lift_agreement(estimator, data, experiments)))
    frames.append(_rows("weekly_contributions", estimator.contributions()))
    frames.append(_rows("model_predictions", predictions_frame(estimator, data)))

    surface = estimator.response_surface()
    surface.save(target / "response_surface.json")
    estimator.save(target)
    frames.append(_rows("response_curves", response_curves_frame(surface, data.spend)))

    for key, table in (("parameters", "model_parameters"), ("gates", "bayes_gates")):
        if isinstance(diagnostics.get(key), pd.DataFrame):
            frames.append(_rows(table, diagnostics[key]))

    finished = datetime.now(UTC).replace(tzinfo=None)
    frames.append(_rows("mmm_runs", pd.DataFrame([{
        **run, "finished_at": finished, "status": status, "message": message}])))
    result = _finish(frames, run)
    if cache_key is not None:
        fit_cache.store(project_dir, model_name, cache_key, result, target)
    return result


def cv_metrics(fit, data: MMMData, cfg: PrismConfig, status: str) -> pd.DataFrame:
    """The ``cv`` row of ``model_fit_metrics``: mean sMAPE of the rolling-origin blocks
    (prism_mmm/validation.py), the blocks' weeks, and each block's score in the message."""
    from prism_mmm.validation import rolling_origin_cv

    tick = time.perf_counter()
    blocks = rolling_origin_cv(fit, data, cfg.validation.origins, cfg.validation.window_weeks)
    detail = "; ".join(f"from {b.origin}: sMAPE {b.smape:.4f} over {b.test_weeks} weeks after "
                       f"{b.fit_weeks} fit weeks" for b in blocks.itertuples())
    return pd.DataFrame([{
        "split": "cv", "smape": float(blocks["smape"].mean()) if len(blocks) else np.nan,
        "n_weeks": int(blocks["test_weeks"].sum()), "fit_seconds": time.perf_counter() - tick,
        "status": status, "message": f"rolling-origin CV: {detail}",
    }])


def _finish(frames: list[pd.DataFrame], run: dict) -> pd.DataFrame:
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    for column in ("run_id", "round", "model", SERIES_ID):
        frame[column] = run[column]
    return typed_results(frame)



def roi_ranges_from_context(business_context: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """channel -> (roi_low, roi_high) from the ``knowledge_business_context`` table."""
    rows = business_context[
        (business_context["key"] == "expected_roi") & business_context["channel"].notna()
    ]
    return {str(r.channel): (float(r.roi_low), float(r.roi_high)) for r in rows.itertuples()}


def fit_model_table(
    model_name: str,
    mmm_input: pd.DataFrame,
    run_id: str,
    round_: int,
    config_overrides: str | dict | None,
    business_context: pd.DataFrame | None = None,
    experiments: pd.DataFrame | None = None,
    input_series: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Entry point of the ``fit_<model>`` dbt Python models: every series of ``mmm_input``
    fitted on the configured engine, and a failed row for each series the input refused
    (``experiments``: the ``knowledge_experiments`` table; ``input_series``:
    ``stg_input__series``)."""
    from prism_mmm.config import load_config
    from prism_mmm.engine import SeriesFit, fit_series
    from prism_mmm.project import project_dir

    cfg = load_config(overrides=config_overrides)
    roi_priors = None
    if business_context is not None and cfg.bayes.use_knowledge_roi_priors:
        roi_priors = roi_ranges_from_context(business_context) or None
    fit = SeriesFit(model_name, cfg, str(run_id), int(round_), str(project_dir()), roi_priors,
                    with_calibration(experiments_from_table(experiments),
                                     cfg.calibration.experiments))
    refused = (input_series[input_series["status"] == "refused"] if input_series is not None
               else pd.DataFrame(columns=["series_id", "status", "message"]))
    if len(refused) and cfg.diagnostics_gating == "strict":
        raise ModelFailure("the input refused series: " + "; ".join(refused["message"]))
    fitted = fit_series(mmm_input, fit, cfg.engine)
    if refused.empty:
        return fitted
    return pd.concat([fitted, refused_series_results(model_name, refused, cfg, fit.run_id,
                                                     fit.round_, Path(fit.project_dir))],
                     ignore_index=True)


def scenarios_table(
    mmm_input: pd.DataFrame,
    agreement: pd.DataFrame,
    fit_status: pd.DataFrame,
    run_id: str,
    round_: int,
    config_overrides: str | dict | None,
) -> pd.DataFrame:
    """Entry point of the ``budget_scenarios`` dbt Python model: for each series, the default
    scenarios of the configured optimiser model, from its saved response surface (no refit).
    When that model failed on a series there is no surface and no scenario for it: no rows,
    never another model's numbers."""
    from prism_mmm.config import load_config
    from prism_mmm.optimizer import SCENARIO_COLUMNS, default_scenarios
    from prism_mmm.project import project_dir
    from prism_mmm.response import ResponseSurface

    root = project_dir()
    cfg = load_config(overrides=config_overrides)
    model = cfg.optimizer.model
    frames = []
    for series_id, rows in mmm_input.groupby(SERIES_ID, sort=True):
        status = fit_status[(fit_status["model"] == model)
                            & (fit_status[SERIES_ID] == series_id)]
        surface_path = (artifact_dir(root, str(run_id), int(round_), model, str(series_id))
                        / "response_surface.json")
        if status["status"].eq("failed").any() or not surface_path.exists():
            continue
        data = from_mmm_input(rows, cfg)
        series_agreement = agreement[agreement[SERIES_ID] == series_id]
        confirmed = dict(zip(series_agreement["channel"],
                             series_agreement["confirmed"].astype(bool)))
        frames.append(default_scenarios(ResponseSurface.load(surface_path), data.spend,
                                        confirmed, cfg, str(run_id), int(round_), model)
                      .assign(**{SERIES_ID: str(series_id)}))
    frame = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=[*SCENARIO_COLUMNS, SERIES_ID]))
    frame = frame.assign(run_key=f"{run_id}/{int(round_)}")
    return frame.astype({"run_id": "string", "round": "Int64", "model": "string",
                         SERIES_ID: "string", "scenario_id": "string", "scenario": "string",
                         "channel": "string", "is_locked": "boolean", "is_confirmed": "boolean",
                         "run_key": "string"})
