"""Recovery benchmark: our Bayesian MMM against pymc-marketing's MMM on every known-truth
dataset (bench/datasets.py), same data, same draws/chains, one run.

Per dataset and channel it reports the true ROI, each model's ROI with its 90% interval and
whether the truth is inside, and per dataset the mean absolute ROI error, coverage, max R-hat,
divergences and wall time. Both models fit every week of the dataset (the truth is defined on
all weeks), with a yearly Fourier order of 2 and the dataset's controls:

- ours: the production configuration (``prism.yml`` defaults: Hill saturation, data-scaled
  priors, numpyro), channels and controls as ``prism init`` profiles them;
- the peer: ``pymc_marketing.mmm.MMM`` (0.19.2) with its defaults (geometric adstock l_max 8,
  logistic saturation), the controls plus a linear trend, numpyro NUTS.

Each fit runs in its own process (``python -m bench.worker``), one after another.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.datasets import DATASETS, load
from bench.report import markdown_table

ENGINES = ("ours", "peer")
INTERVAL = (0.05, 0.95)
PEER_L_MAX = 8


def _frame(name: str):
    """The dataset as ``prism init`` would read it: safe names and the profiled roles."""
    from prism_mmm.ingest import profile

    truth = load(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.csv"
        truth.frame.to_csv(path, index=False)
        found = profile(path)
    frame = truth.frame.rename(columns=found.rename)
    frame[found.date_column] = pd.to_datetime(frame[found.date_column])
    return frame, found, truth.true_roi


def _summary(engine: str, name: str, roi: dict[str, tuple[float, float, float]],
             truth: dict[str, float], wall: float, diag: dict[str, float]) -> list[dict]:
    rows = []
    for channel, true_roi in truth.items():
        point, low, high = roi[channel]
        rows.append({"dataset": name, "engine": engine, "channel": channel,
                     "true_roi": true_roi, "roi": point, "roi_low": low, "roi_high": high,
                     "abs_error": abs(point / true_roi - 1), "covered": bool(low <= true_roi <= high),
                     "wall_s": wall, **diag})
    return rows


def fit_ours(name: str, settings: dict[str, int], seed: int) -> list[dict]:
    from prism_mmm.config import load_config
    from prism_mmm.data import from_frame
    from prism_mmm.models.bayes import BayesMMM

    frame, found, truth = _frame(name)
    cfg = load_config(overrides={"bayes": {"sampling": settings}, "random_seed": seed})
    data = from_frame(frame, date_column=found.date_column, kpi=found.kpi,
                      channels=found.channels, controls=found.controls, holdout_weeks=0,
                      fourier_order=cfg.fourier_order)
    start = time.perf_counter()
    model = BayesMMM.from_config(cfg).fit(data)
    wall = time.perf_counter() - start
    table = model.roi().set_index("channel")
    gates = model.gates_.set_index("metric")["value"]
    diag = {"r_hat_max": float(gates["max_r_hat"]), "divergences": int(gates["divergences"]),
            "ess_bulk_min": float(gates["min_ess_bulk"])}
    roi = {c: (table.loc[c, "roi"], table.loc[c, "roi_low"], table.loc[c, "roi_high"])
           for c in truth}
    return _summary("ours", name, roi, truth, wall, diag)


def peer_model(found, frame: pd.DataFrame):
    """pymc-marketing's MMM as every bench fits it (module docstring), with a linear trend
    added to ``frame`` as a control; returns the model and its ``X``."""
    import warnings

    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    frame["trend"] = np.arange(len(frame)) / max(len(frame) - 1, 1)
    controls = [*found.controls, "trend"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mmm = MMM(date_column=found.date_column, channel_columns=found.channels,
                  control_columns=controls, adstock=GeometricAdstock(l_max=PEER_L_MAX),
                  saturation=LogisticSaturation(), yearly_seasonality=2)
    return mmm, frame[[found.date_column, *found.channels, *controls]]


def peer_roi(mmm, found, frame: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """Per channel: the fitted peer's ROI (posterior mean of contribution / spend) and its
    central 90% interval."""
    contrib = mmm.compute_channel_contribution_original_scale()
    date_dim = found.date_column if found.date_column in contrib.dims else "date"
    totals = contrib.sum(dim=date_dim).stack(sample=("chain", "draw")).transpose("sample", ...)
    roi = {}
    for channel in found.channels:
        draws = totals.sel(channel=channel).to_numpy() / frame[channel].sum()
        low, high = np.quantile(draws, INTERVAL)
        roi[channel] = (float(draws.mean()), float(low), float(high))
    return roi


def fit_peer(name: str, settings: dict[str, int], seed: int) -> list[dict]:
    from bench.core import sampler_diagnostics

    frame, found, truth = _frame(name)
    mmm, x = peer_model(found, frame)
    start = time.perf_counter()
    mmm.fit(x, frame[found.kpi], chains=settings["chains"], draws=settings["draws"],
            tune=settings["tune"], random_seed=seed, progressbar=False, nuts_sampler="numpyro")
    wall = time.perf_counter() - start
    diag = sampler_diagnostics(mmm.idata, [rv.name for rv in mmm.model.free_RVs])
    return _summary("peer", name, peer_roi(mmm, found, frame), truth, wall, diag)


def worker(argv: list[str]) -> int:
    """``python -m bench.recovery ENGINE DATASET SETTINGS_JSON SEED OUT_JSON``."""
    engine, name, settings, seed, out = argv
    fit = fit_ours if engine == "ours" else fit_peer
    rows = fit(name, json.loads(settings), int(seed))
    Path(out).write_text(json.dumps(rows, default=float))
    return 0


def run_recovery(settings: dict[str, int], results_dir: Path, seed: int = 1,
                 datasets: tuple[str, ...] = tuple(DATASETS), engines: tuple[str, ...] = ENGINES,
                 log=print) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in datasets:
            for engine in engines:
                out = Path(tmp) / f"{engine}-{name}.json"
                log(f"[recovery] {engine} on {name} ...", flush=True)
                proc = subprocess.run(
                    [sys.executable, "-m", "bench.recovery", engine, name, json.dumps(settings),
                     str(seed), str(out)], capture_output=True, text=True, check=False)
                if proc.returncode or not out.exists():
                    log(f"[recovery]   failed: {(proc.stderr or proc.stdout)[-1500:]}")
                    rows.append({"dataset": name, "engine": engine, "status": "failed"})
                    continue
                rows += json.loads(out.read_text())
    table = pd.DataFrame(rows)
    report = _report(table, settings, seed)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    table.to_csv(results_dir / f"recovery_{stamp}.csv", index=False)
    (results_dir / f"recovery_{stamp}.md").write_text(report)
    (results_dir / "recovery_latest.md").write_text(report)
    log(report)
    return table


def _report(table: pd.DataFrame, settings: dict[str, int], seed: int) -> str:
    ok = table.dropna(subset=["abs_error"]) if "abs_error" in table else table.iloc[0:0]
    summary = ok.groupby(["dataset", "engine"]).agg(
        channels=("channel", "count"), mean_abs_roi_error=("abs_error", "mean"),
        covered=("covered", "sum"), r_hat_max=("r_hat_max", "max"),
        divergences=("divergences", "max"), wall_s=("wall_s", "max")).reset_index()
    overall = ok.groupby("engine").agg(mean_abs_roi_error=("abs_error", "mean"),
                                       covered=("covered", "sum"),
                                       channels=("channel", "count")).reset_index()
    lines = [
        "# Recovery: known-truth datasets, ours vs pymc-marketing",
        "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}; {settings['chains']} chains x "
         f"{settings['tune']} tune / {settings['draws']} draws; seed {seed}; "
         "command: `python -m bench recovery`. ROI interval: central 90%."),
        "",
        "## Per dataset",
        "",
        markdown_table(summary, list(summary.columns)),
        "",
        "## Overall",
        "",
        markdown_table(overall, list(overall.columns)),
        "",
        "## Per channel",
        "",
        markdown_table(ok, ["dataset", "engine", "channel", "true_roi", "roi", "roi_low",
                            "roi_high", "covered"]),
    ]
    failed = table[table.get("status", pd.Series(dtype=str)).eq("failed")] \
        if "status" in table else table.iloc[0:0]
    if len(failed):
        lines += ["", "Failed: " + ", ".join(f"{r.engine}/{r.dataset}"
                                            for r in failed.itertuples())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
