"""Holdout accuracy: our three models against pymc-marketing's MMM on the bundled brand, the
same weekly data and the same split, one run.

- ours: a real ``prism build`` (:meth:`prism_mmm.project.Project.build`, the machinery of the
  CLI) on a throwaway copy of the project (:func:`prism_mmm.project.copy_project`) with the
  production configuration: the project's ``prism.yml`` (the demo: its channels, events and
  holidays built into the ``mmm_input`` mart in SQL, ``holdout_weeks`` 13) and the config
  defaults, the bench's chains/draws/tune merged in for bayes (identical at full settings).
  Holdout sMAPE and R² are read from the warehouse's ``model_fit_metrics`` (``split =
  'holdout'``; ``'train'`` for context): each model's prediction for every week is its
  point/posterior-mean fit (``estimator.predict()``) from the training weeks alone. Wall
  seconds = ``fit_seconds`` in that table (the model's fit and diagnostics, not the dbt build).
  The copy's dbt runs one thread (the project's profile has 3), so the fits run one after
  another and each one's seconds are its own, as the peer's are; the metrics do not depend on
  it.
- the peer: ``pymc_marketing.mmm.MMM`` (0.19.2), geometric adstock l_max 8, logistic
  saturation, yearly Fourier order 2, numpyro NUTS, same chains/draws/tune. Its input is the
  same build's ``mmm_input``: the spend columns, the controls our models use (the events that
  occur in the training weeks, as :func:`prism_mmm.data.from_mmm_input` keeps them, plus any
  configured controls) and the mart's ``trend`` column, which runs on into the holdout weeks.
  It fits the ``split = 'train'`` weeks and predicts the ``'holdout'`` ones with
  ``sample_posterior_predictive(X_holdout, extend_idata=False,
  include_last_observations=True)``, so the last 8 training weeks carry their adstock into the
  holdout; the prediction is the mean over the posterior predictive draws (original scale).
  Wall seconds = its ``fit`` call (build, compile, sampling).

Both sides are scored by the same functions, :func:`prism_mmm.metrics.smape` and
:func:`prism_mmm.metrics.r2`, on the same holdout weeks. Weeks a known issue excludes are
weighted out of our fits; the peer cannot weight weeks and fits them (the demo has none; the
report gives the count). Each side runs in its own process, one after the other; results go to
``bench/results/holdout_<stamp>.csv/.md`` and ``holdout_latest.md``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.report import markdown_table

PEER_L_MAX = 8
COLUMNS = ["model", "holdout_smape", "holdout_r2", "holdout_weeks", "train_smape", "train_r2",
           "wall_s", "status", "note"]


# -- ours: a real build ------------------------------------------------------------------------
def _build_child(project_dir: Path, out: Path) -> int:
    """Run ``prism build`` on the copy; write its metrics and mmm_input next to ``out``."""
    import duckdb

    from prism_mmm.project import Project

    project = Project(project_dir, project_dir / "warehouse" / "prism.duckdb")
    start = time.perf_counter()
    project.build("bench-holdout")
    wall = time.perf_counter() - start
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    try:
        metrics = con.execute(
            'select "model", "split", "smape", "r2", "n_weeks", "fit_seconds", "status", '
            '"message" from "model_fit_metrics" where "split" in (\'train\', \'holdout\') '
            'order by 1, 2').df()
        mmm_input = con.execute('select * from "mmm_input" order by "week_start_date"').df()
    finally:
        con.close()
    mmm_input.to_parquet(out.with_suffix(".mmm_input.parquet"))
    out.write_text(json.dumps({"build_s": wall, "metrics": metrics.to_dict(orient="records")},
                              default=str))
    return 0


def _ours_rows(metrics: list[dict]) -> list[dict[str, Any]]:
    from prism_mmm.models import in_model_order

    frame = pd.DataFrame(metrics)
    rows = []
    for model in in_model_order(frame["model"]):  # the product's display order
        group = frame[frame["model"] == model]
        split = group.set_index("split")
        hold, train = split.loc["holdout"], split.loc["train"]
        rows.append({"model": model, "holdout_smape": float(hold.smape),
                     "holdout_r2": float(hold.r2), "holdout_weeks": int(hold.n_weeks),
                     "train_smape": float(train.smape), "train_r2": float(train.r2),
                     "wall_s": float(hold.fit_seconds), "status": str(hold.status),
                     "note": str(hold.message or "")[:200]})
    return rows


# -- the peer ----------------------------------------------------------------------------------
def peer_inputs(mmm_input: pd.DataFrame, cfg) -> tuple[pd.DataFrame, list[str], list[str],
                                                        np.ndarray]:
    """(X with week_start_date, spend and control columns; channel columns; control columns;
    is_train) from ``mmm_input``: our models' controls, the mart's trend."""
    from prism_mmm.data import CONTROL_PREFIX, SPEND_PREFIX, from_mmm_input

    frame = mmm_input.sort_values("week_start_date").reset_index(drop=True)
    data = from_mmm_input(frame, cfg)
    channels = [f"{SPEND_PREFIX}{c}" for c in data.channels]
    controls = [f"{CONTROL_PREFIX}{c}" if c in cfg.controls else c for c in data.control_names]
    controls = [*controls, "trend"]
    X = frame[["week_start_date", *channels, *controls]].copy()
    X["week_start_date"] = pd.to_datetime(X["week_start_date"])
    X[channels + controls] = X[channels + controls].astype(float)
    return X, channels, controls, data.is_train


def fit_peer(mmm_input_path: Path, project_dir: Path, settings: dict[str, int],
             seed: int) -> dict[str, Any]:
    import warnings

    from prism_mmm.models.bayesian.numpyro_sampler import ensure_host_devices

    ensure_host_devices(settings["chains"])  # before JAX loads, as for our model
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    from bench.core import sampler_diagnostics
    from prism_mmm.config import load_config
    from prism_mmm.metrics import r2, smape

    mmm_input = pd.read_parquet(mmm_input_path)
    cfg = load_config(project_dir / "prism.yml")
    X, channels, controls, is_train = peer_inputs(mmm_input, cfg)
    y = mmm_input.sort_values("week_start_date")["kpi"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mmm = MMM(date_column="week_start_date", channel_columns=channels,
                  control_columns=controls, adstock=GeometricAdstock(l_max=PEER_L_MAX),
                  saturation=LogisticSaturation(), yearly_seasonality=2)
    x_train = X[is_train].reset_index(drop=True)
    x_hold = X[~is_train].reset_index(drop=True)
    start = time.perf_counter()
    mmm.fit(x_train, pd.Series(y[is_train], name="kpi"), chains=settings["chains"],
            draws=settings["draws"], tune=settings["tune"], random_seed=seed,
            progressbar=False, nuts_sampler="numpyro")
    wall = time.perf_counter() - start
    diag = sampler_diagnostics(mmm.idata, [rv.name for rv in mmm.model.free_RVs])

    def predicted(x: pd.DataFrame, carry: bool) -> np.ndarray:
        draws = mmm.sample_posterior_predictive(x, extend_idata=False, combined=True,
                                                include_last_observations=carry,
                                                progressbar=False, random_seed=seed)
        if hasattr(draws, "data_vars"):  # a Dataset when no var_names are asked for
            draws = draws[mmm.output_var]
        return draws.mean(dim="sample").to_numpy().ravel()

    hold = predicted(x_hold, carry=True)
    train = predicted(x_train, carry=False)
    return {"model": "pymc-marketing", "holdout_smape": smape(y[~is_train], hold),
            "holdout_r2": r2(y[~is_train], hold), "holdout_weeks": int((~is_train).sum()),
            "train_smape": smape(y[is_train], train), "train_r2": r2(y[is_train], train),
            "wall_s": wall, "status": "ok",
            "note": (f"max R-hat {diag['r_hat_max']:.3f}, {diag['divergences']} divergences, "
                     f"min bulk ESS {diag['ess_bulk_min']:.0f}; controls: {', '.join(controls)}")}


def worker(argv: list[str]) -> int:
    """``python -m bench.holdout build PROJECT_DIR OUT`` or
    ``python -m bench.holdout peer MMM_INPUT PROJECT_DIR SETTINGS_JSON SEED OUT``."""
    if argv[0] == "build":
        return _build_child(Path(argv[1]), Path(argv[2]))
    _, mmm_input, project, settings, seed, out = argv
    row = fit_peer(Path(mmm_input), Path(project), json.loads(settings), int(seed))
    Path(out).write_text(json.dumps(row, default=float))
    return 0


# -- the run -----------------------------------------------------------------------------------
def run_holdout(settings: dict[str, int], results_dir: Path, seed: int = 1,
                peer: bool = True, timeout: float | None = None, log=print) -> pd.DataFrame:
    from bench.core import REPO, code_env
    from prism_mmm.project import copy_project

    load_avg = f"{os.getloadavg()[0]:.1f}"
    work = Path(tempfile.mkdtemp(prefix="prism-bench-holdout-"))
    rows: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    try:
        project = copy_project(REPO, work / "project",
                               {"bayes": {"sampling": dict(settings)}, "random_seed": seed})
        _one_thread(project.project_dir / "profiles.yml")
        env = {**code_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        out = work / "build.json"
        log("[holdout] prism build of a project copy (ours: ridge, bayes, nls) ...", flush=True)
        error = _run([sys.executable, "-m", "bench.holdout", "build",
                      str(project.project_dir), str(out)], env, timeout)
        if error:
            log(f"[holdout]   build failed: {error}")
            rows.append({"model": "ours (prism build)", "status": "failed", "note": error[-200:]})
        else:
            built = json.loads(out.read_text())
            meta["build_s"] = built["build_s"]
            rows += _ours_rows(built["metrics"])
            mmm_input = pd.read_parquet(out.with_suffix(".mmm_input.parquet"))
            meta["weeks"] = len(mmm_input)
            meta["excluded"] = int(mmm_input.get("known_issue_action", pd.Series(dtype=str))
                                   .eq("exclude").sum())
            meta["events"] = [c for c in mmm_input.columns if c.startswith("event_")]
        if peer and not error:
            log("[holdout] pymc-marketing MMM on the same mmm_input ...", flush=True)
            peer_out = work / "peer.json"
            error = _run([sys.executable, "-m", "bench.holdout", "peer",
                          str(out.with_suffix(".mmm_input.parquet")), str(project.project_dir),
                          json.dumps(settings), str(seed), str(peer_out)], env, timeout)
            if error:
                log(f"[holdout]   peer failed: {error}")
                rows.append({"model": "pymc-marketing", "status": "failed", "note": error[-200:]})
            else:
                rows.append(json.loads(peer_out.read_text()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    report = build_report(table, settings, seed, meta, load_avg)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    table.assign(settings=json.dumps(settings)).to_csv(results_dir / f"holdout_{stamp}.csv",
                                                       index=False)
    (results_dir / f"holdout_{stamp}.md").write_text(report)
    (results_dir / "holdout_latest.md").write_text(report)
    log(report)
    return table


def _one_thread(profiles: Path) -> None:
    """dbt runs one node at a time in the copy, so each fit's seconds are its own (the
    project's 3 threads would run the three fits at once on a shared machine)."""
    import yaml

    config = yaml.safe_load(profiles.read_text())
    for profile in config.values():
        for output in profile.get("outputs", {}).values():
            output["threads"] = 1
    profiles.write_text(yaml.safe_dump(config, sort_keys=False))


def _run(command: list[str], env: dict[str, str], timeout: float | None) -> str:
    """'' when the process succeeded, else the tail of its output."""
    from bench.core import REPO

    try:
        proc = subprocess.run(command, cwd=str(REPO), env=env, capture_output=True, text=True,
                              check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    return (proc.stderr or proc.stdout)[-1500:] if proc.returncode else ""


def build_report(table: pd.DataFrame, settings: dict[str, int], seed: int, meta: dict,
                 load_avg: str) -> str:
    from bench.calibration import _revision

    events = meta.get("events", [])
    lines = [
        "# Holdout accuracy: the bundled brand, ours vs pymc-marketing",
        "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}; {meta.get('weeks', '?')} weeks, the last "
         f"{_holdout_weeks(table)} held out; Bayesian samplers (ours and the peer's numpyro): "
         f"{settings['chains']} chains x {settings['tune']} tune / {settings['draws']} draws; "
         f"seed {seed}; code at {_revision()}; load average at start {load_avg}; command: "
         "`python -m bench holdout`."),
        "",
        ("Ours: a real `prism build` of a copy of the project (production configuration; dbt "
         "on 1 thread so the fits do not share the cores), metrics read from "
         "`model_fit_metrics`; the whole build took "
         f"{meta.get('build_s', float('nan')):.0f} s. The peer: pymc-marketing 0.19.2 `MMM` "
         "(geometric adstock l_max 8, logistic saturation, yearly_seasonality 2, numpyro) on "
         "the same build's `mmm_input`: the same spend, the events our models use and the "
         "mart's trend; fit on the training weeks, holdout predicted with the last 8 training "
         "weeks' carry-over (posterior predictive mean). Both scored by "
         "`prism_mmm.metrics.smape` / `r2`. wall_s: the fit (ours: `fit_seconds`; the peer: "
         f"its `fit` call). Event columns in mmm_input: {len(events)} "
         f"({', '.join(events) if events else 'none'}); weeks excluded by a known issue: "
         f"{meta.get('excluded', '?')}."),
        "",
        markdown_table(table, ["model", "holdout_smape", "holdout_r2", "wall_s", "train_smape",
                               "train_r2", "holdout_weeks", "status"]),
    ]
    notes = table.dropna(subset=["note"])
    notes = notes[notes["note"].astype(str).str.len() > 0]
    if len(notes):
        lines += ["", "## Notes", "", markdown_table(notes, ["model", "note"])]
    return "\n".join(lines) + "\n"


def _holdout_weeks(table: pd.DataFrame) -> str:
    weeks = table["holdout_weeks"].dropna().astype(int).unique()
    return ", ".join(str(w) for w in weeks) if len(weeks) else "?"


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
