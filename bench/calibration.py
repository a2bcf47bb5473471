"""Calibration benchmark: ROI error per channel before and after lift-test calibration, for
our three models and pymc-marketing's MMM, on the same known-truth data and the same tests.

Data: ``confounded_lift`` (bench/datasets.py). Search spend follows a demand driver the data
do not hold, so a model fitted on the data alone credits search with demand's revenue (the
biased channel, :data:`BIASED`); one lift test per channel (4 weeks, +50 % spend) measured
the true incremental revenue of the extra spend. True ROI = a channel's contribution over
every week / its spend over every week, so every model fits every week (``holdout_weeks=0``)
and its ROI is read over every week.

Per model and state (``plain``: the data alone; ``calibrated``: the same data and the three
lift tests) it reports, per channel, the true ROI, the ROI with its central 90 % interval,
whether the truth is inside, the absolute error ``|roi - true|`` (and relative to the truth),
and the lift test's z-score: ``(implied - measured) / se``, where the implied lift is the
fitted model's predicted KPI with the test's extra spend spread over its window's weeks minus
without it, from the window's first week to the end of the data
(:func:`prism_mmm.calibration.lift_agreement` for ours; the same definition through
pymc-marketing's channel contributions for the peer).

- ours: ``prism_mmm.models.build_estimator(name, cfg)`` for ridge, nls and bayes with
  ``cfg = load_config(overrides=...)`` (the production configuration; the bench's
  chains/draws/tune for bayes), ``MMMData`` from ``from_frame`` with the channels as
  ``prism init`` profiles them; calibrated = ``dataclasses.replace(data, experiments=tests)``
  with :class:`prism_mmm.calibration.Experiment` built from the dataset's rows (figures are
  totals over the window). Whatever a model does with ``data.experiments`` is what is
  measured: a model that ignores them gives the same fit in both states, which the report
  shows as "lift tests changed the fit: no".
- the peer: ``pymc_marketing.mmm.MMM`` (0.19.2), geometric adstock l_max 8, logistic
  saturation, yearly Fourier order 2, a linear trend control (as ``bench.recovery``), numpyro
  NUTS, same chains/draws/tune and seed. Calibrated = ``mmm.add_lift_test_measurements(df)``
  after ``build_model`` and before ``fit``.

Mapping our lift tests to pymc-marketing's rows (``channel, x, delta_x, delta_y, sigma``). In
0.19.2 the term is ``Gamma(|sat(x + delta_x) - sat(x)|, sigma, observed=|delta_y|)`` with the
fitted saturation curve (including its coefficient) of one period, ``x`` and ``delta_x``
scaled by the channel's max weekly spend and ``delta_y``/``sigma`` by the KPI's max: so all
four are per-week figures in the data's units. With W = the number of data weeks the test
window overlaps (:func:`prism_mmm.calibration.window_weeks`, as our models use):

    x       = the channel's mean weekly spend over those weeks (the observed level),
    delta_x = spend_change / W,   delta_y = lift / W,   sigma = lift_se / W.

Why ``lift / W``: the measured lift is the total incremental KPI, carry-over included. With
pymc-marketing's normalised adstock (weights sum to 1), extra spend of ``delta_x`` for W weeks
returns, summed over all later weeks and to first order, W times the per-week steady-state
difference ``sat(x + delta_x) - sat(x)``. The caveat: their lift term acts on the saturation
curve alone, without adstock. It treats the test as a steady state at the raw weekly spend
``x``, while the fit saturates the adstocked level; for a channel with flights and long
carry-over (tv) the adstocked level around the window differs from the mean spend in it, and
the saturation's curvature over a 4-week pulse is not that of a sustained change. Our models
instead compute each test's implied lift through their own adstock and saturation on the
shifted spend (the same quantity the z-scores here report for both sides).

Each fit runs in its own process (``python -m bench.calibration``), one after another;
results go to ``bench/results/calibration_<stamp>.csv/.md`` and ``calibration_latest.md``.
Targets (stated from the numbers, never assumed): the biased channel's Bayesian ROI error
falls by at least half with calibration and its truth is inside the calibrated 90 % interval;
our calibrated Bayesian error on that channel is no worse than the peer's calibrated error.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.report import markdown_table
from prism_mmm.models import model_names

DATASET = "confounded_lift"
BIASED = "search"  # the channel the dataset's generator confounds with demand
OURS = model_names()  # the registry's order
PEER = "peer"
ENGINES = (*OURS, PEER)
STATES = ("plain", "calibrated")
COLUMNS = ["model", "state", "channel", "true_roi", "roi", "roi_low", "roi_high", "covered",
           "abs_error", "rel_error", "experiment_id", "lift_calibrated", "measured_lift",
           "implied_lift", "lift_z", "wall_s", "r_hat_max", "divergences", "status"]


# -- inputs ------------------------------------------------------------------------------------
def experiments(lift_tests) -> tuple:
    """The dataset's lift-test rows (as a user enters them, figures as totals) as
    :class:`prism_mmm.calibration.Experiment`."""
    from prism_mmm.calibration import Experiment

    return tuple(Experiment(t["experiment_id"], t["channel"], pd.Timestamp(t["start_date"]),
                            pd.Timestamp(t["end_date"]), float(t["spend_change"]),
                            float(t["lift"]), float(t["lift_se"])) for t in lift_tests)


def inputs(fourier_order: int = 2):
    """(frame, profile, true ROI, MMMData on every week, the experiments)."""
    from bench.datasets import load
    from bench.recovery import _frame
    from prism_mmm.data import from_frame

    frame, found, truth = _frame(DATASET)
    tests = experiments(load(DATASET).lift_tests)
    data = from_frame(frame, date_column=found.date_column, kpi=found.kpi,
                      channels=found.channels, controls=found.controls, holdout_weeks=0,
                      fourier_order=fourier_order)
    return frame, found, truth, data, tests


def peer_lift_rows(data, tests) -> pd.DataFrame:
    """pymc-marketing's ``df_lift_test`` for ``tests``: per-week figures (module docstring)."""
    from prism_mmm.calibration import window_weeks

    rows = []
    for test in tests:
        weeks = window_weeks(data, test)
        n = int(weeks.sum())
        column = data.channels.index(test.channel)
        rows.append({"channel": test.channel,
                     "x": float(data.spend[weeks, column].mean()),
                     "delta_x": test.spend_change_total / n,
                     "delta_y": test.lift_total / n,
                     "sigma": test.lift_se_total / n})
    return pd.DataFrame(rows, columns=["channel", "x", "delta_x", "delta_y", "sigma"])


def _rows(model: str, state: str, roi: dict[str, tuple[float, float, float]],
          truth: dict[str, float], lifts: pd.DataFrame, wall: float,
          diag: dict[str, float]) -> list[dict[str, Any]]:
    """One row per channel; the channel's lift test (the dataset has one per channel)."""
    by_channel = lifts.drop_duplicates("channel").set_index("channel")
    rows = []
    for channel, true_roi in truth.items():
        point, low, high = roi[channel]
        lift = by_channel.loc[channel] if channel in by_channel.index else None
        rows.append({
            "model": model, "state": state, "channel": channel, "true_roi": true_roi,
            "roi": point, "roi_low": low, "roi_high": high,
            "covered": bool(low <= true_roi <= high), "abs_error": abs(point - true_roi),
            "rel_error": abs(point - true_roi) / true_roi,
            "experiment_id": None if lift is None else lift["experiment_id"],
            # whether the fit used the test (lift_agreement says so; the peer's: its state)
            "lift_calibrated": None if lift is None else bool(lift.get("calibrated", False)),
            "measured_lift": np.nan if lift is None else float(lift["measured_lift"]),
            "implied_lift": np.nan if lift is None else float(lift["implied_lift"]),
            "lift_z": np.nan if lift is None else float(lift["z_score"]),
            "wall_s": wall, "r_hat_max": diag.get("r_hat_max", np.nan),
            "divergences": diag.get("divergences", np.nan), "status": "ok"})
    return rows


# -- fits (one per process) --------------------------------------------------------------------
def fit_ours(model_name: str, state: str, settings: dict[str, int], seed: int,
             overrides: dict | None = None) -> list[dict]:
    from prism_mmm.calibration import lift_agreement
    from prism_mmm.config import deep_merge, load_config
    from prism_mmm.models import build_estimator

    cfg = load_config(overrides=deep_merge(
        {"bayes": {"sampling": settings}, "random_seed": seed}, overrides or {}))
    _, _, truth, data, tests = inputs(cfg.fourier_order)
    if state == "calibrated":
        data = dataclasses.replace(data, experiments=tests)
    start = time.perf_counter()
    model = build_estimator(model_name, cfg).fit(data)
    wall = time.perf_counter() - start
    table = model.roi().set_index("channel")
    roi = {c: (float(table.loc[c, "roi"]), float(table.loc[c, "roi_low"]),
               float(table.loc[c, "roi_high"])) for c in truth}
    diag = {}
    gates = getattr(model, "gates_", None)
    if gates is not None:
        values = gates.set_index("metric")["value"]
        diag = {"r_hat_max": float(values["max_r_hat"]),
                "divergences": int(values["divergences"])}
    # Both states are scored against the same tests: plain shows how far off the data alone is.
    lifts = lift_agreement(model, data, tests)
    return _rows(model_name, state, roi, truth, lifts, wall, diag)


def fit_peer(state: str, settings: dict[str, int], seed: int) -> list[dict]:
    from prism_mmm.models.bayesian.numpyro_sampler import ensure_host_devices

    ensure_host_devices(settings["chains"])  # before JAX loads, as for our model
    from bench.core import sampler_diagnostics
    from bench.recovery import peer_model, peer_roi
    from prism_mmm.calibration import response_start, shifted_design

    frame, found, truth, data, tests = inputs()
    mmm, x = peer_model(found, frame)
    y = frame[found.kpi]
    start = time.perf_counter()
    mmm.build_model(x, y)
    if state == "calibrated":
        mmm.add_lift_test_measurements(peer_lift_rows(data, tests))
        assert "lift_measurements" in mmm.model.named_vars, "the lift term is not in the model"
    mmm.fit(x, y, chains=settings["chains"], draws=settings["draws"], tune=settings["tune"],
            random_seed=seed, progressbar=False, nuts_sampler="numpyro")
    wall = time.perf_counter() - start
    roi = peer_roi(mmm, found, frame)

    # Implied lift as for ours: channel contributions (raw spend in, KPI units out) with the
    # test's extra spend spread over its window minus without, from its first week on.
    def contributions(spend: np.ndarray) -> np.ndarray:  # (weeks, channels), posterior mean
        out = mmm.channel_contribution_forward_pass(spend, disable_logger_stdout=True)
        return np.asarray(out).reshape(-1, *out.shape[-2:]).mean(axis=0)

    base = contributions(data.spend)
    lifts = []
    for test in tests:
        first = response_start(data, test)
        implied = float((contributions(shifted_design(data, test).spend) - base)[first:].sum())
        lifts.append({"experiment_id": test.experiment_id, "channel": test.channel,
                      "calibrated": state == "calibrated",
                      "measured_lift": test.lift_total, "implied_lift": implied,
                      "z_score": (implied - test.lift_total) / test.lift_se_total})
    diag = sampler_diagnostics(mmm.idata, [rv.name for rv in mmm.model.free_RVs])
    return _rows(PEER, state, roi, truth, pd.DataFrame(lifts), wall, diag)


def worker(argv: list[str]) -> int:
    """``python -m bench.calibration ENGINE STATE SETTINGS_JSON SEED OVERRIDES_JSON OUT``."""
    engine, state, settings, seed, overrides, out = argv
    if engine == PEER:
        rows = fit_peer(state, json.loads(settings), int(seed))
    else:
        rows = fit_ours(engine, state, json.loads(settings), int(seed), json.loads(overrides))
    Path(out).write_text(json.dumps(rows, default=float))
    return 0


# -- the run -----------------------------------------------------------------------------------
def run_calibration(settings: dict[str, int], results_dir: Path, seed: int = 1,
                    engines: tuple[str, ...] = ENGINES, overrides: dict | None = None,
                    timeout: float | None = None, log=print) -> pd.DataFrame:
    """Fit every engine in both states, one process each, one after another; write the
    results and return the per-channel table (``COLUMNS``)."""
    rows: list[dict[str, Any]] = []
    load_avg = f"{os.getloadavg()[0]:.1f}"  # a shared machine: wall times depend on it
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            for state in STATES:
                out = Path(tmp) / f"{engine}-{state}.json"
                log(f"[calibration] {engine} {state} ...", flush=True)
                try:
                    proc = subprocess.run(
                        [sys.executable, "-m", "bench.calibration", engine, state,
                         json.dumps(settings), str(seed), json.dumps(overrides or {}), str(out)],
                        capture_output=True, text=True, check=False, timeout=timeout)
                    error = (proc.stderr or proc.stdout)[-1500:] if proc.returncode else ""
                except subprocess.TimeoutExpired:
                    error = f"timed out after {timeout} s"
                if error or not out.exists():
                    log(f"[calibration]   failed: {error}")
                    rows.append({"model": engine, "state": state, "status": "failed"})
                    continue
                rows += json.loads(out.read_text())
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    report = build_report(table, settings, seed, overrides, load_avg)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    table.assign(settings=json.dumps(settings)).to_csv(
        results_dir / f"calibration_{stamp}.csv", index=False)
    (results_dir / f"calibration_{stamp}.md").write_text(report)
    (results_dir / "calibration_latest.md").write_text(report)
    log(report)
    return table


# -- the report --------------------------------------------------------------------------------
def summary(table: pd.DataFrame, channel: str = BIASED) -> pd.DataFrame:
    """Per model: ``channel``'s error plain -> calibrated, their ratio, coverage after, the
    largest |z| of the lift tests in each state, and whether the tests changed the fit."""
    ok = table[table["status"] == "ok"]
    rows = []
    for model in dict.fromkeys(ok["model"]):
        by_state = {s: ok[(ok.model == model) & (ok.state == s)].set_index("channel")
                    for s in STATES}
        plain, cal = by_state["plain"], by_state["calibrated"]
        if channel not in plain.index or channel not in cal.index:
            continue
        before, after = plain.loc[channel, "abs_error"], cal.loc[channel, "abs_error"]
        changed = not np.allclose(plain.loc[cal.index, "roi"], cal["roi"], rtol=1e-9, atol=0)
        rows.append({
            "model": model, "channel": channel, "true_roi": cal.loc[channel, "true_roi"],
            "roi_plain": plain.loc[channel, "roi"], "roi_calibrated": cal.loc[channel, "roi"],
            "error_plain": before, "error_calibrated": after,
            "calibrated_over_plain": after / before,
            "covered_after": "yes" if cal.loc[channel, "covered"] else "no",
            "max_abs_z_plain": plain["lift_z"].abs().max(),
            "max_abs_z_calibrated": cal["lift_z"].abs().max(),
            "mean_rel_error_plain": plain["rel_error"].mean(),
            "mean_rel_error_calibrated": cal["rel_error"].mean(),
            "lift_tests_changed_fit": "yes" if changed else "no"})
    return pd.DataFrame(rows)


def targets(table: pd.DataFrame, settings: dict[str, int]) -> pd.DataFrame:
    """The issue's targets as met / not met, from the numbers."""
    from bench.core import FULL

    frame = summary(table).set_index("model") if len(table) else pd.DataFrame()
    out = []

    def add(name: str, goal: str, value: str, passed: bool | None) -> None:
        out.append({"target": name, "goal": goal, "value": value,
                    "met": "n/a" if passed is None else ("yes" if passed else "NO")})

    bayes = frame.loc["bayes"] if "bayes" in frame.index else None
    peer = frame.loc[PEER] if PEER in frame.index else None
    if bayes is not None:
        ratio = float(bayes["calibrated_over_plain"])
        add(f"{BIASED}: Bayesian ROI error, calibrated / plain", "<= 0.5",
            f"{bayes['error_plain']:.3f} -> {bayes['error_calibrated']:.3f} ({ratio:.2f})",
            ratio <= 0.5)
        add(f"{BIASED}: truth inside the calibrated Bayesian 90% interval", "yes",
            bayes["covered_after"], bayes["covered_after"] == "yes")
    if bayes is not None and peer is not None:
        add(f"{BIASED}: calibrated Bayesian ROI error vs pymc-marketing calibrated", "ours <= peer",
            f"{bayes['error_calibrated']:.3f} vs {peer['error_calibrated']:.3f}",
            bool(bayes["error_calibrated"] <= peer["error_calibrated"]))
    result = pd.DataFrame(out, columns=["target", "goal", "value", "met"])
    if {k: settings.get(k) for k in FULL} != FULL:
        result["met"] = result["met"].where(result["met"] == "n/a", result["met"] + " (not full)")
    return result


def _revision() -> str:
    """The commit the run measured (the models' code is whatever that commit holds)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parent)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def build_report(table: pd.DataFrame, settings: dict[str, int], seed: int,
                 overrides: dict | None = None, load_avg: str = "n/a") -> str:
    ok = table[table["status"] == "ok"].copy()
    ok["interval"] = [f"{lo:.3f} – {hi:.3f}" for lo, hi in zip(ok.roi_low, ok.roi_high,
                                                               strict=True)]
    ok["covered"] = ok["covered"].map(lambda v: "yes" if bool(v) else "no")
    per_model = ok.groupby(["model", "state"], sort=False).agg(
        wall_s=("wall_s", "max"), r_hat_max=("r_hat_max", "max"),
        divergences=("divergences", "max")).reset_index()
    per_model["divergences"] = pd.Series(  # a count; none for the models without a sampler
        [None if pd.isna(v) else int(v) for v in per_model["divergences"]], dtype=object)
    summ = summary(table)
    note = ""
    if overrides:
        note = f" prism.yml overrides for ours: `{json.dumps(overrides, sort_keys=True)}`."
    lines = [
        "# Calibration: ROI error before and after lift tests, ours vs pymc-marketing",
        "",
        (f"{time.strftime('%Y-%m-%d %H:%M')}; dataset `{DATASET}` ({BIASED} spend "
         "follows a demand driver the data lack; one 4-week lift test per channel); "
         f"Bayesian samplers (ours and the peer's numpyro): {settings['chains']} chains x "
         f"{settings['tune']} tune / {settings['draws']} draws; seed {seed}; command: "
         f"`python -m bench calibration`; code at {_revision()}; load average at start "
         f"{load_avg}.{note} Every model fits "
         "every week (the truth is defined on all weeks). ROI interval: central 90% "
         "(ridge, nls: bootstrap refits; bayes, peer: posterior draws). abs_error = "
         "|ROI - true ROI|; lift_z = (implied - measured lift) / se of the channel's test, "
         "implied through the fitted model."),
        "",
        ("Peer calibration: `MMM.add_lift_test_measurements` (0.19.2) with per-week rows: x = "
         "mean weekly spend over the test's weeks, delta_x = spend change / weeks, delta_y = "
         "lift / weeks, sigma = lift se / weeks (the total lift includes carry-over; with "
         "normalised adstock a W-week change returns, to first order, W times the per-week "
         "steady-state difference). Caveat: their term acts on the saturation curve at the "
         "raw weekly spend, without adstock, as if the test were a steady state; ours "
         "pass each test through the model's own adstock and saturation."),
        "",
        "## Targets",
        "",
        markdown_table(targets(table, settings), ["target", "goal", "value", "met"]),
        "",
        f"## Summary ({BIASED}, the confounded channel)",
        "",
        markdown_table(summ, list(summ.columns)),
        "",
        "## Per channel",
        "",
        markdown_table(ok, ["model", "state", "channel", "true_roi", "roi", "interval",
                            "covered", "abs_error", "rel_error", "measured_lift",
                            "implied_lift", "lift_z"]),
        "",
        "## Fits",
        "",
        markdown_table(per_model, list(per_model.columns)),
    ]
    failed = table[table["status"] == "failed"]
    if len(failed):
        lines += ["", "Failed: " + ", ".join(f"{r.model}/{r.state}" for r in failed.itertuples())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1:]))
