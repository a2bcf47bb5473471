"""Fit benchmark: our Bayesian MMM against pymc-marketing's MMM, same data, same draws/chains.

Every measurement runs in its own subprocess (``python -m bench.worker``) so imports, compile
caches and peak memory are accounted per measurement. The parent (:func:`run_bench`) runs them
one after another, never in parallel, and collects one row per measurement:

- ``ours`` / ``cold``: a fresh process with empty on-disk compile caches (``--caches fresh``:
  pytensor's C and numba caches, numba's, JAX's): the first ``BayesMMM.fit`` pays model
  build + compilation + sampling + posterior post-processing (predictive groups, prior
  predictive, gates).
- ``ours`` / ``warm-same-process``: a second ``fit`` in that process on the same structure with
  new data (KPI perturbed by 1% noise): the round-to-round refit of the agent loop.
- ``ours`` / ``warm-new-process``: a new process that reuses the on-disk caches the cold
  process left behind (pytensor / numba / jax compile caches), first ``fit`` in it.
- ``peer`` / ``cold``: ``pymc_marketing.mmm.MMM.fit`` (build + compile + sample + its
  deterministics), once per NUTS implementation: its default (PyMC), nutpie, numpyro.
- ``ours`` / ``cold-logistic`` (truth data only): our model with the logistic saturation the
  truth was generated with (and the peer uses), for a like-for-like recovery comparison.

Every process gets one XLA CPU device per chain, so JAX samplers (ours, the peer's numpyro)
run chains in parallel.

Wall seconds are measured around the ``fit`` call only (imports are reported separately).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prism_mmm.project import project_dir

REPO = project_dir()  # benchmarks run inside a project (the repository)
APPAREL_CSV = REPO / "seeds" / "conjura_apparel_weekly.csv"
TRUTH_CSV = REPO / "data" / "known_truth" / "pymc_marketing_mmm_example.csv"
# Promotional week flagged in knowledge/conjura_apparel/known_issues.yml (action: flag): production adds an
# event dummy for it to every model; so do both sides of the benchmark.
PROMO_ISSUE_ID = "promo_2022_05_30"
PROMO_WEEK = "2022-05-30"
# data/SOURCES.md (pymc_marketing_mmm_example.csv): true media contribution / total y.
TRUE_SHARE = {"x1": 0.291, "x2": 0.070}

FULL = {"chains": 4, "draws": 1000, "tune": 1000}
QUICK = {"chains": 2, "draws": 100, "tune": 100}
PEER_SAMPLERS = ("pymc", "nutpie", "numpyro")
DATASETS = ("apparel", "truth")
SEED = 20240527
LOGISTIC_MODE = "cold-logistic"  # ours with the peer's (and the generator's) saturation

COLUMNS = [
    "dataset", "engine", "sampler", "mode", "chains", "draws", "tune", "wall_s",
    "ess_bulk_min", "ess_bulk_per_s", "r_hat_max", "divergences", "share_abs_err_pp",
    "share_err_by_channel", "import_s", "peak_rss_mb", "status", "note",
]


@dataclass
class Case:
    """One subprocess: an engine + sampler on a dataset (``mode`` names its first fit)."""

    engine: str  # "ours" | "peer"
    sampler: str
    dataset: str
    chains: int
    draws: int
    tune: int
    seed: int = SEED
    mode: str = "cold"
    warm_refit: bool = False  # ours: also time a second fit in the same process
    cache_key: str = ""  # cases with the same key share on-disk compile caches
    extra: dict[str, Any] = field(default_factory=dict)


# -- data --------------------------------------------------------------------------------------
@dataclass
class Dataset:
    name: str
    frame: pd.DataFrame  # date, kpi, channels, controls, trend
    date_column: str
    kpi: str
    channels: list[str]
    controls: list[str]  # event dummies (ours: controls; peer: control_columns + trend)
    true_share: dict[str, float] | None
    roi_priors: dict[str, tuple[float, float]] | None  # production's knowledge-layer priors


def load_dataset(name: str) -> Dataset:
    from prism_mmm.config import DEFAULT_CHANNELS
    from prism_mmm.data import seasonality_features

    if name == "apparel":
        from prism_mmm.config import PrismConfig
        from prism_mmm.knowledge.local import expected_roi_ranges, knowledge_directory

        frame = pd.read_csv(APPAREL_CSV, parse_dates=["date"])
        event = f"event_{PROMO_ISSUE_ID}"
        frame[event] = (frame["date"] == pd.Timestamp(PROMO_WEEK)).astype(float)
        frame["trend"] = seasonality_features(frame["date"], 0)["trend"].to_numpy()
        # The default configuration is the bundled demo: its dataset's knowledge folder.
        roi = expected_roi_ranges(knowledge_directory(PrismConfig())) or None
        return Dataset(name, frame, "date", "revenue", list(DEFAULT_CHANNELS), [event], None, roi)
    if name == "truth":
        frame = pd.read_csv(TRUTH_CSV, parse_dates=["date_week"])
        frame["trend"] = seasonality_features(frame["date_week"], 0)["trend"].to_numpy()
        return Dataset(name, frame, "date_week", "y", ["x1", "x2"], ["event_1", "event_2"],
                       dict(TRUE_SHARE), None)
    raise ValueError(f"unknown dataset {name!r}; known: {DATASETS}")


def share_errors(shares: dict[str, float], truth: dict[str, float] | None) -> tuple[float, str]:
    """Mean absolute error (percentage points) and a per-channel ``ch:share(err)`` string."""
    parts = [f"{ch}:{100 * s:.1f}%" for ch, s in shares.items()]
    if not truth:
        return float("nan"), " ".join(parts)
    errors = {ch: 100 * (shares[ch] - truth[ch]) for ch in truth}
    parts = [f"{ch}:{100 * shares[ch]:.1f}%({errors[ch]:+.1f}pp)" for ch in truth]
    return float(np.mean([abs(e) for e in errors.values()])), " ".join(parts)


# -- diagnostics -------------------------------------------------------------------------------
def sampler_diagnostics(idata, var_names: list[str]) -> dict[str, float]:
    """Min bulk ESS and max R-hat over the sampled (free) parameters; divergences."""
    import arviz as az

    posterior = idata.posterior[[v for v in var_names if v in idata.posterior]]
    ess = az.ess(posterior, method="bulk")
    rhat = az.rhat(posterior)
    ess_min = min(float(np.nanmin(ess[v].values)) for v in ess.data_vars)
    rhat_max = max(float(np.nanmax(rhat[v].values)) for v in rhat.data_vars)
    stats = idata.sample_stats
    div_name = "diverging" if "diverging" in stats else "divergences"
    return {"ess_bulk_min": ess_min, "r_hat_max": rhat_max,
            "divergences": int(np.asarray(stats[div_name]).sum())}


def _row(case: Case, mode: str, wall: float, diag: dict, shares: dict[str, float] | None,
         truth: dict[str, float] | None, import_s: float, note: str = "") -> dict[str, Any]:
    err, detail = share_errors(shares, truth) if shares is not None else (float("nan"), "")
    return {
        "dataset": case.dataset, "engine": case.engine, "sampler": case.sampler, "mode": mode,
        "chains": case.chains, "draws": case.draws, "tune": case.tune, "wall_s": wall,
        **diag, "ess_bulk_per_s": diag["ess_bulk_min"] / wall if wall > 0 else float("nan"),
        "share_abs_err_pp": err, "share_err_by_channel": detail, "import_s": import_s,
        "status": "ok", "note": note,
    }


def _import_samplers() -> None:
    """Both sides import every sampler library before the timed fit (``import_s``), so no fit
    pays an import the other does not. XLA_FLAGS is already set by :func:`_env`."""
    import jax  # noqa: F401
    import numpyro  # noqa: F401
    import nutpie  # noqa: F401
    import pymc  # noqa: F401


# -- our model ---------------------------------------------------------------------------------
def run_ours(case: Case) -> list[dict[str, Any]]:
    tick = time.perf_counter()
    _import_samplers()
    from prism_mmm.config import load_config
    from prism_mmm.data import from_frame
    from prism_mmm.models import bayes
    from prism_mmm.models.bayesian import graph

    import_s = time.perf_counter() - tick
    ds = load_dataset(case.dataset)
    # Production configuration (prism.yml) with the benchmark's draws/chains/tune.
    from prism_mmm.config import deep_merge

    overrides = deep_merge(case.extra.get("overrides", {}), {"bayes": {"sampling": {
        "chains": case.chains, "draws": case.draws, "tune": case.tune,
        **({"engine": case.sampler} if case.sampler != "default" else {}),
    }}, "random_seed": case.seed})
    cfg = load_config(overrides=overrides)
    data = from_frame(ds.frame, date_column=ds.date_column, kpi=ds.kpi, channels=ds.channels,
                      controls=ds.controls, holdout_weeks=0, fourier_order=cfg.fourier_order)

    def one_fit(fit_data, mode: str, truth) -> dict[str, Any]:
        model = bayes.BayesMMM.from_config(cfg, roi_priors=ds.roi_priors)
        start = time.perf_counter()
        model.fit(fit_data)
        wall = time.perf_counter() - start
        compiled = graph.compiled(model.structure_)  # cached: which RVs were sampled
        diag = sampler_diagnostics(model.idata_, [rv.name for rv in compiled.model.free_RVs])
        contrib = model.contributions()
        totals = contrib.groupby("component")["value"].sum()
        shares = {ch: float(totals[ch] / fit_data.y.sum()) for ch in ds.channels}
        sampling = model._sampling()
        note = f"sampler={sampling.engine}, saturation={model._model().saturation}, " \
               f"target_accept={sampling.resolved_target_accept()}, " \
               f"roi_priors={'yes' if ds.roi_priors else 'no'}"
        if case.extra.get("overrides"):
            note += f", overrides={json.dumps(case.extra['overrides'], sort_keys=True)}"
        return _row(case, mode, wall, diag, shares, truth, import_s, note)

    rows = [one_fit(data, case.mode, ds.true_share)]
    if case.warm_refit:
        rng = np.random.default_rng(case.seed + 1)
        perturbed = data.with_y(data.y * (1 + 0.01 * rng.standard_normal(len(data.y))))
        row = one_fit(perturbed, "warm-same-process", None)
        row["share_abs_err_pp"], row["note"] = float("nan"), row["note"] + "; KPI perturbed 1%"
        rows.append(row)
    return rows


# -- pymc-marketing ----------------------------------------------------------------------------
def peer_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("pymc_marketing") is not None


def run_peer(case: Case) -> list[dict[str, Any]]:
    import warnings

    tick = time.perf_counter()
    _import_samplers()
    import pymc_marketing
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    import_s = time.perf_counter() - tick
    ds = load_dataset(case.dataset)
    controls = [*ds.controls, "trend"]
    X = ds.frame[[ds.date_column, *ds.channels, *controls]]
    y = ds.frame[ds.kpi]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # MMM is deprecated in favour of
        # multidimensional.MMM (0.19.2 still ships it; the issue names this class)
        mmm = MMM(
            date_column=ds.date_column,
            channel_columns=ds.channels,
            control_columns=controls,
            adstock=GeometricAdstock(l_max=8),
            saturation=LogisticSaturation(),
            yearly_seasonality=2,
        )
    kwargs: dict[str, Any] = {"chains": case.chains, "draws": case.draws, "tune": case.tune,
                              "random_seed": case.seed, "progressbar": False}
    if case.sampler != "pymc":
        kwargs["nuts_sampler"] = case.sampler
    start = time.perf_counter()
    mmm.fit(X, y, **kwargs)
    wall = time.perf_counter() - start
    diag = sampler_diagnostics(mmm.idata, [rv.name for rv in mmm.model.free_RVs])
    contrib = mmm.compute_channel_contribution_original_scale()  # (chain, draw, date, channel)
    totals = contrib.sum(dim=ds.date_column if ds.date_column in contrib.dims else "date")
    totals = totals.mean(dim=("chain", "draw"))
    shares = {ch: float(totals.sel(channel=ch)) / float(y.sum()) for ch in ds.channels}
    note = f"pymc-marketing {pymc_marketing.__version__} MMM, logistic saturation, " \
           f"target_accept=sampler default"
    return [_row(case, case.mode, wall, diag, shares, ds.true_share, import_s, note)]


# -- worker entry point ------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process or any of its waited-for children (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def worker_main(argv: list[str]) -> int:
    """``python -m bench.worker CASE_JSON OUT_JSON``."""
    case = Case(**json.loads(Path(argv[0]).read_text()))
    out = Path(argv[1])
    try:
        rows = run_ours(case) if case.engine == "ours" else run_peer(case)
    except Exception as exc:  # noqa: BLE001 - reported as a failed row, the run goes on
        import traceback

        traceback.print_exc()
        rows = [{"dataset": case.dataset, "engine": case.engine, "sampler": case.sampler,
                 "mode": case.mode, "chains": case.chains, "draws": case.draws,
                 "tune": case.tune, "status": "failed", "note": f"{type(exc).__name__}: {exc}"}]
    for row in rows:
        row["peak_rss_mb"] = peak_rss_mb()
    out.write_text(json.dumps(rows, default=float))
    return 0


# -- parent: plan and run ----------------------------------------------------------------------
def plan(settings: dict[str, int], only: str | None = None,
         datasets: tuple[str, ...] = DATASETS, peer_samplers: tuple[str, ...] = PEER_SAMPLERS,
         new_process: bool = True, ours_sampler: str = "default",
         truth_peer_samplers: tuple[str, ...] | None = None,
         ours_overrides: dict[str, Any] | None = None) -> list[Case]:
    """The measurements of one run, in order (ours first, then peers, per dataset).
    ``truth_peer_samplers`` (default: ``peer_samplers``) limits the peers on the truth data,
    where only the recovery error is compared."""
    cases: list[Case] = []
    for ds in datasets:
        if only in (None, "ours"):
            key = f"ours-{ds}"
            extra = {"overrides": ours_overrides} if ours_overrides else {}
            cases.append(Case("ours", ours_sampler, ds, **settings, mode="cold",
                              warm_refit=True, cache_key=key, extra=extra))
            if new_process:
                cases.append(Case("ours", ours_sampler, ds, **settings, mode="warm-new-process",
                                  cache_key=key, extra=extra))
            if ds == "truth" and not ours_overrides:
                # Like for like: the truth was generated with logistic saturation, which is
                # also the peer's default; ours defaults to Hill.
                cases.append(Case("ours", ours_sampler, ds, **settings, mode=LOGISTIC_MODE,
                                  cache_key=f"ours-{ds}-logistic",
                                  extra={"overrides": {"transforms": {"saturation": "logistic"}}}))
        if only in (None, "peer"):
            samplers = peer_samplers
            if ds == "truth" and truth_peer_samplers is not None:
                samplers = truth_peer_samplers
            for sampler in samplers:
                cases.append(Case("peer", sampler, ds, **settings, mode="cold",
                                  cache_key=f"peer-{sampler}-{ds}"))
    return cases


def code_env() -> dict[str, str]:
    """This environment, with this checkout's code first on the path: the venv's prism_mmm may
    be installed from another checkout, and a child process must run the code measured."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _env(case: Case, cache_root: Path | None) -> dict[str, str]:
    env = code_env()
    if cache_root is not None:  # fresh, per-case (shared by a cold case and its warm twin)
        cache = cache_root / case.cache_key
        # base_compiledir, not compiledir: pytensor keeps its numba kernel cache in
        # <base_compiledir>/numba, which a compiledir flag alone leaves shared.
        flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",")
                 if f and not f.startswith(("compiledir", "base_compiledir"))]
        env["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={cache / 'pytensor'}"])
        env["NUMBA_CACHE_DIR"] = str(cache / "numba")
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache / "jax")
    # One XLA CPU device per chain for every JAX user, ours and pymc-marketing's numpyro
    # alike, so both run chains in parallel (numpyro otherwise draws them one by one).
    from prism_mmm.models.bayesian.numpyro_sampler import DEVICE_FLAG

    if DEVICE_FLAG not in env.get("XLA_FLAGS", ""):
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {DEVICE_FLAG}={case.chains}".strip()
    return env


def run_case(case: Case, workdir: Path, cache_root: Path | None, timeout: float,
             log=print) -> list[dict[str, Any]]:
    import subprocess

    index = len(list(workdir.glob("case_*.json")))
    spec, out = workdir / f"case_{index}.json", workdir / f"result_{index}.json"
    spec.write_text(json.dumps(asdict(case)))
    label = f"{case.engine}/{case.sampler}/{case.dataset}/{case.mode}"
    log(f"[bench] {label} ...", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.worker", str(spec), str(out)],
                              env=_env(case, cache_root), cwd=str(REPO), timeout=timeout,
                              capture_output=True, text=True, check=False)
        failure = None if out.exists() else f"worker exit {proc.returncode}: {proc.stderr[-2000:]}"
    except subprocess.TimeoutExpired:
        failure = f"timed out after {timeout:.0f} s"
    total = time.perf_counter() - start
    if failure:
        rows = [{"dataset": case.dataset, "engine": case.engine, "sampler": case.sampler,
                 "mode": case.mode, "chains": case.chains, "draws": case.draws,
                 "tune": case.tune, "status": "failed", "note": failure}]
    else:
        rows = json.loads(out.read_text())
    for row in rows:
        row["process_s"] = total
        log(f"[bench]   {row.get('mode')}: wall {row.get('wall_s', float('nan')):.1f} s, "
            f"status {row.get('status')} {'' if row.get('status') == 'ok' else row.get('note')}",
            flush=True)
    return rows


def run_bench(settings: dict[str, int], results_dir: Path, *, only: str | None = None,
              datasets: tuple[str, ...] = DATASETS, peer_samplers: tuple[str, ...] = PEER_SAMPLERS,
              new_process: bool = True, caches: str = "fresh", ours_sampler: str = "default",
              truth_peer_samplers: tuple[str, ...] | None = None, timeout: float = 3600.0,
              ours_overrides: dict[str, Any] | None = None, log=print) -> dict[str, Any]:
    """Run every measurement, print the table and ratios, write CSV + markdown; returns
    ``{"table": DataFrame, "ratios": DataFrame, "paths": [...]}``."""
    import shutil
    import tempfile

    from bench.report import build_report, write_results

    if only in (None, "peer") and not peer_available():
        if only == "peer":
            raise RuntimeError("pymc-marketing is not installed: pip install -e '.[bench]'")
        log("[bench] pymc-marketing not installed: peer measurements skipped "
            "(pip install -e '.[bench]')")
        only = "ours"
    cases = plan(settings, only, datasets, peer_samplers, new_process, ours_sampler,
                 truth_peer_samplers, ours_overrides)
    workdir = Path(tempfile.mkdtemp(prefix="prism-bench-"))
    cache_root = workdir / "caches" if caches == "fresh" else None
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    try:
        rows = [row for case in cases for row in run_case(case, workdir, cache_root, timeout, log)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = pd.DataFrame(rows).reindex(columns=[*COLUMNS, "process_s"])
    meta = {"started": started, "settings": settings, "caches": caches,
            "ours_overrides": ours_overrides or {},
            "cpu_count": os.cpu_count(), "load_avg_start": _loadavg(), "python": sys.version.split()[0],
            "versions": _versions()}
    report = build_report(table, meta)
    log(report["text"])
    paths = write_results(report, results_dir)
    log(f"[bench] wrote {', '.join(str(p) for p in paths)}")
    return {**report, "paths": paths}


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("pymc", "pytensor", "nutpie", "numpyro", "jax", "arviz", "pymc-marketing"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
