"""Portfolio benchmark: one brand in many markets (``bench.datasets.portfolio``: N series x W
weeks x C channels, known ROI per market), what the user waits for, one run.

- ours: ``prism init --data markets.csv`` then a whole ``prism build`` (real dbt, three models,
  every series) in a fresh process per engine: ``local`` (process pool) and ``spark``
  (``local[2]``). Wall time, peak RSS of the build's whole process tree (summed over its
  processes, sampled every 0.2 s), series per minute.
- the peer: a loop of pymc-marketing fits over the same series, each in its own process
  (``bench.recovery.peer_model``: geometric adstock, logistic saturation, yearly seasonality 2,
  numpyro), with the same sampler settings; its wall time is the loop's.
- truth: the share of (series, channel) pairs whose true ROI lies inside the 90% interval, and
  the mean absolute ROI error, for our Bayesian model and for the peer.

``python -m bench portfolio [--series 24 --weeks 156 --channels 8] [--quick]``; results in
``bench/results/portfolio_<stamp>.md`` and ``portfolio_latest.md`` (with ``--dataset NAME``,
``portfolio_NAME_<stamp>.md`` and ``portfolio_NAME_latest.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from bench.core import code_env
from bench.datasets import REPO, KnownTruth, load, portfolio
from bench.report import markdown_table
from prism_mmm.project import PROJECT_ENV

INTERVAL = (0.05, 0.95)
ENGINES = ("local", "spark")

# Runs a command and prints its wall time and the peak of the summed RSS of its whole process
# tree (the build, dbt, pool workers, the JVM and Spark's Python workers), sampled from /proc
# every 0.2 s, as JSON.
_MEASURE = """
import json, os, subprocess, sys, time

def tree_rss_mb(root):
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                parents[int(pid)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            pass
    tree, grew = {root}, True
    while grew:
        found = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024

start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
peak = 0.0
while proc.poll() is None:
    peak = max(peak, tree_rss_mb(proc.pid))
    time.sleep(0.2)
print(json.dumps({"exit": proc.returncode, "wall_s": time.perf_counter() - start,
                  "peak_rss_mb": peak}))
"""


def _measured(command: list[str], env: dict[str, str], cwd: Path, log_path: Path) -> dict:
    with open(log_path, "w") as log:
        proc = subprocess.run([sys.executable, "-c", _MEASURE, *command], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"exit": proc.returncode, "wall_s": float("nan"), "peak_rss_mb": float("nan")}
    return json.loads(lines[-1])


def _ours(truth: KnownTruth, csv: Path, engine: str, settings: dict, workdir: Path,
          log, overrides: dict) -> tuple[dict, pd.DataFrame]:
    from prism_mmm.config import deep_merge
    from prism_mmm.project import copy_project, project_dir

    project = copy_project(project_dir(), workdir / f"project-{engine}")
    env = {**code_env(), **project.env()}
    env.pop("PRISM_CONFIG", None)
    cli = [sys.executable, "-m", "prism_mmm.cli"]
    subprocess.run([*cli, "init", "--data", str(csv), "--force"], env=env,
                   cwd=project.project_dir, check=True, capture_output=True)
    config_file = project.project_dir / "prism.yml"
    config = deep_merge(deep_merge(yaml.safe_load(config_file.read_text()), overrides), {
        "bayes": {"sampling": settings},
        "engine": {"kind": engine, **({"spark_master": "local[2]"} if engine == "spark" else {})},
    })
    config_file.write_text(yaml.safe_dump(config))
    log(f"[portfolio] prism build, engine {engine} ...", flush=True)
    measured = _measured([*cli, "build", "--run-id", f"bench-{engine}"], env,
                         project.project_dir, workdir / f"build-{engine}.log")
    roi = pd.DataFrame()
    if project.duckdb_path.exists():
        with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
            roi = con.execute(
                "select series_id, channel, roi, roi_low, roi_high from channel_roi "
                "where model = 'bayes' and run_id = ?", [f"bench-{engine}"]).df()
    return measured, roi


def peer_worker(argv: list[str]) -> int:
    """``python -m bench.portfolio CSV SERIES SETTINGS_JSON OUT_JSON``: one peer fit."""
    from bench.recovery import peer_model, peer_roi
    from prism_mmm.ingest import profile

    csv, series_id, settings, out = argv
    settings = json.loads(settings)
    frame = pd.read_csv(csv)
    frame = frame[frame["geo"] == series_id].drop(columns="geo").reset_index(drop=True)
    one = Path(out).with_suffix(".csv")
    frame.to_csv(one, index=False)
    found = profile(one)
    frame["date"] = pd.to_datetime(frame["date"])
    mmm, x = peer_model(found, frame)
    mmm.fit(x, frame[found.kpi], chains=settings["chains"], draws=settings["draws"],
            tune=settings["tune"], random_seed=1, progressbar=False, nuts_sampler="numpyro")
    roi = peer_roi(mmm, found, frame)
    Path(out).write_text(json.dumps([
        {"series_id": series_id, "channel": c, "roi": r[0], "roi_low": r[1], "roi_high": r[2]}
        for c, r in roi.items()]))
    return 0


def pooled_peer_worker(argv: list[str]) -> int:
    """``python -m bench.portfolio --pooled CSV SETTINGS_JSON OUT_JSON``: pymc-marketing's
    multidimensional MMM over every market at once (``dims=("geo",)``), media effects partially
    pooled: each (market, channel) saturation coefficient is LogNormal around a channel-level
    median (Normal(-0.5, 1) on the log scale) with a channel-level spread (HalfNormal(0.5))
    (pymc-extras' Prior has no non-centred LogNormal); logistic saturation ``lam`` and
    geometric adstock ``alpha`` (l_max 8) per channel, shared by the markets; per-market
    intercept, noise, yearly seasonality 2 and a linear trend control; numpyro. ROI per market and channel: posterior contribution in the
    KPI's units over the market's spend, central 90% interval."""
    import warnings

    from pymc_extras.prior import Prior
    from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
    from pymc_marketing.mmm.multidimensional import MMM

    from bench.recovery import PEER_L_MAX

    csv, settings, out = argv
    settings = json.loads(settings)
    frame = pd.read_csv(csv)
    frame["date"] = pd.to_datetime(frame["date"])
    channels = [c for c in frame.columns if c not in ("geo", "date", "revenue")]
    frame["trend"] = frame.groupby("geo").cumcount() / (frame["date"].nunique() - 1)
    beta = Prior("LogNormal", mu=Prior("Normal", mu=-0.5, sigma=1, dims="channel"),
                 sigma=Prior("HalfNormal", sigma=0.5, dims="channel"), dims=("geo", "channel"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        mmm = MMM(date_column="date", channel_columns=channels, target_column="revenue",
                  control_columns=["trend"], dims=("geo",), yearly_seasonality=2,
                  adstock=GeometricAdstock(l_max=PEER_L_MAX),
                  saturation=LogisticSaturation(priors={"beta": beta}))
    x, y = frame.drop(columns="revenue"), frame["revenue"]
    mmm.build_model(X=x, y=y)
    mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
    mmm.fit(X=x, y=y, chains=settings["chains"], draws=settings["draws"], tune=settings["tune"],
            random_seed=1, progressbar=False, nuts_sampler="numpyro")
    totals = (mmm.idata.posterior["channel_contribution_original_scale"].sum("date")
              .stack(sample=("chain", "draw")))
    spend = frame.groupby("geo")[channels].sum()
    rows = []
    for geo in spend.index:
        for channel in channels:
            draws = totals.sel(geo=geo, channel=channel).to_numpy() / spend.loc[geo, channel]
            low, high = np.quantile(draws, INTERVAL)
            rows.append({"series_id": geo, "channel": channel, "roi": float(draws.mean()),
                         "roi_low": float(low), "roi_high": float(high)})
    from bench.core import sampler_diagnostics

    diag = sampler_diagnostics(mmm.idata, [rv.name for rv in mmm.model.free_RVs])
    Path(out).write_text(json.dumps({"roi": rows, "diagnostics": diag}, default=float))
    return 0


def _pooled_peer(csv: Path, settings: dict, workdir: Path, log, n_series: int
                 ) -> tuple[dict, pd.DataFrame]:
    log("[portfolio] pymc-marketing multidimensional MMM (partial pooling) ...", flush=True)
    out, log_path = workdir / "peer-pooled.json", workdir / "peer-pooled.log"
    env = {**code_env(), PROJECT_ENV: str(REPO)}
    measured = _measured([sys.executable, "-m", "bench.portfolio", "--pooled", str(csv),
                          json.dumps(settings), str(out)], env, workdir, log_path)
    if measured["exit"] or not out.exists():
        tail = log_path.read_text().strip().splitlines()[-1:] or ["no output"]
        log(f"[portfolio] pooled pymc-marketing failed: {tail[0]}", flush=True)
        return {"series": n_series, **measured, "exit": measured["exit"] or 1}, pd.DataFrame()
    result = json.loads(out.read_text())
    return {"series": n_series, **measured, **{f"peer_{k}": v for k, v in
                                               result["diagnostics"].items()}}, \
        pd.DataFrame(result["roi"])


def _peer(truth: KnownTruth, csv: Path, settings: dict, workdir: Path, log,
          n_series: int | None = None) -> tuple[dict, pd.DataFrame]:
    series = sorted(truth.frame["geo"].unique())[:n_series]
    log(f"[portfolio] pymc-marketing, {len(series)} fits one after another ...", flush=True)
    # The workers run in the scratch directory: the repository must be on their path for
    # ``python -m bench.portfolio`` and named as the project ``bench`` runs in.
    env = {**code_env(), PROJECT_ENV: str(REPO)}
    start, peak, rows, failed = time.perf_counter(), 0.0, [], 0
    for series_id in series:
        out = workdir / f"peer-{series_id}.json"
        log_path = workdir / f"peer-{series_id}.log"
        measured = _measured([sys.executable, "-m", "bench.portfolio", str(csv), series_id,
                              json.dumps(settings), str(out)], env, workdir, log_path)
        peak = max(peak, measured["peak_rss_mb"])
        if measured["exit"] or not out.exists():
            failed += 1
            tail = log_path.read_text().strip().splitlines()[-1:] or ["no output"]
            log(f"[portfolio] pymc-marketing failed on {series_id}: {tail[0]}", flush=True)
            continue
        rows += json.loads(out.read_text())
    wall = time.perf_counter() - start
    return ({"exit": int(failed > 0), "series": len(series), "wall_s": wall, "peak_rss_mb": peak},
            pd.DataFrame(rows))


def _pairs(roi: pd.DataFrame, truth: KnownTruth) -> pd.DataFrame:
    """Each (series, channel) estimate beside its true ROI: covered, relative error."""
    if roi.empty:
        return pd.DataFrame(columns=["series_id", "channel", "roi", "roi_low", "roi_high",
                                     "true_roi", "covered", "abs_error"])
    true = np.array([truth.true_roi[f"{r.series_id}/{r.channel}"] for r in roi.itertuples()])
    return roi[["series_id", "channel", "roi", "roi_low", "roi_high"]].assign(
        true_roi=true, covered=(roi["roi_low"].to_numpy() <= true) & (true <= roi["roi_high"].to_numpy()),
        abs_error=np.abs(roi["roi"].to_numpy() / true - 1))


def _truth_scores(pairs: pd.DataFrame) -> dict:
    if pairs.empty:
        return {"pairs": 0, "covered_share": float("nan"), "mean_abs_roi_error": float("nan")}
    return {"pairs": len(pairs), "covered_share": float(pairs["covered"].mean()),
            "mean_abs_roi_error": float(pairs["abs_error"].mean())}


def run_portfolio_bench(settings: dict[str, int], results_dir: Path, *, n_series: int = 24,
                        n_weeks: int = 156, n_channels: int = 8,
                        engines: tuple[str, ...] = ENGINES, peer: bool = True,
                        log=print, peer_series: int | None = None,
                        overrides: dict | None = None, dataset: str | None = None,
                        pooled_peer: bool = False) -> pd.DataFrame:
    """``overrides``: merged into our project's prism.yml (e.g. a prior option under test).
    ``dataset``: a committed known-truth dataset with a ``geo`` column (e.g. ``geo_brand_8m``)
    instead of a generated portfolio of ``n_series`` x ``n_weeks`` x ``n_channels``.
    ``pooled_peer``: also fit pymc-marketing's multidimensional MMM over all markets at once
    (:func:`pooled_peer_worker`), the peer for partial pooling."""
    overrides = overrides or {}
    if dataset:
        truth = load(dataset)
        n_series, n_weeks = truth.frame["geo"].nunique(), truth.frame["date"].nunique()
        n_channels = len(truth.frame.columns) - 3  # geo, date, revenue
    else:
        truth = portfolio(f"portfolio_{n_series}x{n_weeks}x{n_channels}", n_series, n_weeks,
                          n_channels)
    rows, pairs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        csv = workdir / "markets.csv"
        truth.frame.to_csv(csv, index=False)
        runs = [(f"ours ({engine})", {"series": n_series} | measured, roi) for engine in engines
                for measured, roi in [_ours(truth, csv, engine, settings, workdir, log,
                                            overrides)]]
        if peer:
            runs.append(("pymc-marketing loop",
                         *_peer(truth, csv, settings, workdir, log, peer_series)))
        if pooled_peer:
            runs.append(("pymc-marketing pooled",
                         *_pooled_peer(csv, settings, workdir, log, n_series)))
        for name, measured, roi in runs:
            scored = _pairs(roi, truth)
            scored["thin"] = [f"{r.series_id}/{r.channel}" in truth.thin
                              for r in scored.itertuples()]
            pairs.append(scored.assign(run=name))
            rows.append({"run": name, **measured,
                         "series_per_min": measured["series"] / measured["wall_s"] * 60,
                         **_truth_scores(scored)})
    table = pd.DataFrame(rows)
    by_pair = pd.concat(pairs, ignore_index=True)
    report = _report(table, by_pair, settings, n_series, n_weeks, n_channels, overrides,
                     truth.name if dataset else "bench.datasets.portfolio")
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    prefix = f"portfolio_{dataset}" if dataset else "portfolio"  # one "latest" per dataset
    table.to_csv(results_dir / f"{prefix}_{stamp}.csv", index=False)
    # Every pair's estimate and truth, so a miss can be traced to its channel and market.
    by_pair.to_csv(results_dir / f"{prefix}_{stamp}_pairs.csv", index=False)
    (results_dir / f"{prefix}_{stamp}.md").write_text(report)
    (results_dir / f"{prefix}_latest.md").write_text(report)
    log(report)
    return table


def _report(table: pd.DataFrame, by_pair: pd.DataFrame, settings: dict, n_series: int,
            n_weeks: int, n_channels: int, overrides: dict, source: str) -> str:
    command = "python -m bench portfolio" + (
        "" if source.startswith("bench.") else f" --dataset {source}")
    peer = table[table["run"] == "pymc-marketing loop"]
    lines = [
        "# Portfolio: a whole `prism build` over many series, against a loop of pymc-marketing",
        "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}; {n_series} series x {n_weeks} weeks x "
         f"{n_channels} channels ({source}); {settings['chains']} chains x "
         f"{settings['tune']} tune / {settings['draws']} draws; {os.cpu_count()} cores; "
         f"command: `{command}`. Ours fits three models per series (Ridge, "
         "Bayesian, NLS) and writes every table; the peer fits one Bayesian model per series. "
         "Truth: our Bayesian model's and the peer's central 90% ROI interval."
         + (f" Our prism.yml overrides: `{json.dumps(overrides)}`." if overrides else "")
         + (" `pymc-marketing pooled` (--pooled-peer): its multidimensional MMM over all markets "
            "at once, each market's coefficients drawn around channel-level medians "
            "(bench.portfolio.pooled_peer_worker); peer_* columns are its sampler diagnostics."
            if (table["run"] == "pymc-marketing pooled").any() else "")),
        "",
        markdown_table(table, list(table.columns)),
    ]
    if len(by_pair):
        coverage = (by_pair.pivot_table(index="channel", columns="run", values="covered",
                                        aggfunc="mean").reset_index())
        lines += ["", "Share of markets whose true ROI is inside the 90% interval, per channel:",
                  "", markdown_table(coverage, list(coverage.columns))]
    if by_pair["thin"].any():
        thin = (by_pair.assign(pairs=by_pair["thin"].map({True: "thin", False: "other"}))
                .groupby(["run", "pairs"]).agg(n=("covered", "size"), covered_share=("covered", "mean"),
                                              mean_abs_roi_error=("abs_error", "mean"))
                .reset_index())
        lines += ["", "Thin (market, channel) pairs (spend in a few weeks only) against the others:",
                  "", markdown_table(thin, list(thin.columns))]
    if len(peer) and np.isfinite(peer["wall_s"].iloc[0]):
        if peer["series"].iloc[0] < n_series:
            lines.append(f"\nThe peer loop ran over the first {peer['series'].iloc[0]} of the "
                         f"{n_series} series (--peer-series); speeds compare series per minute.")
        for row in table[table["run"].str.startswith("ours")].itertuples():
            lines.append(f"\n{row.run}: {row.series_per_min / peer['series_per_min'].iloc[0]:.2f}x "
                         "the peer loop's speed (series per minute), end to end.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pooled"]:
        sys.exit(pooled_peer_worker(sys.argv[2:]))
    sys.exit(peer_worker(sys.argv[1:]))
