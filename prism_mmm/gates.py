"""Stage gates g1–g7 for a Bayesian fit (the AMMM V2 methodology's stage gates).

:func:`compute_gates` turns an ``InferenceData`` (posterior + sample_stats, and where present
prior_predictive, posterior_predictive, observed_data, log_likelihood) into one row per gate
metric; :func:`apply_gating` applies the ``diagnostics_gating`` policy.

Definitions (documented choices where the methodology leaves room):

- **g1 prior predictive plausibility**: a prior predictive draw of the fit-week KPI is
  *plausible* when its mean is within a factor of 3 of the observed mean and its spread (5–95%
  quantile range over weeks) within a factor of 5 of the observed spread. The ratio is the
  share of plausible draws: >= 0.5 pass, >= 0.25 warn, else fail.
- **g2** max R-hat over all posterior variables: <= 1.01 pass, <= 1.05 warn, else fail.
- **g3** min bulk and min tail ESS (two rows): >= 100 x chains pass, >= 50 x chains warn,
  else fail.
- **g4** divergent transitions after warm-up: 0 pass, 1–9 warn, >= 10 fail.
- **g5** calibration on fit weeks (three rows): coverage of the central 50% and 90% posterior
  predictive intervals (pass within ±0.15 / ±0.075 of nominal, fail when 90% coverage < 0.7,
  i.e. clearly over-confident, else warn) and uniformity of the PIT values (Kolmogorov–Smirnov
  p-value: >= 0.05 pass, >= 0.01 warn, else fail). In-sample, so a check of gross
  miscalibration rather than of forecasting.
- **g6** PSIS-LOO Pareto k (two rows, status on ``max_pareto_k``): max k <= 0.5 pass,
  <= 0.7 warn; above 0.7 the share of weeks with k > 0.7 decides: > 5% fail (LOO unreliable
  for the model), else warn (a few influential weeks, e.g. a known outlier, to review).
- **g7** min BFMI over chains: > 0.3 pass, >= 0.2 warn, else fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GATE_COLUMNS = ["gate", "metric", "value", "threshold", "status"]
GATING_MODES = ("strict", "warn", "off")


class GateFailure(RuntimeError):
    """A gate failed under strict gating; ``failed`` holds the failing rows."""

    def __init__(self, message: str, failed: pd.DataFrame) -> None:
        super().__init__(message)
        self.failed = failed


def _band(value: float, passes: bool, warns: bool) -> str:
    if not np.isfinite(value):
        return "warn"  # could not be computed: surface it, do not silently pass
    return "pass" if passes else "warn" if warns else "fail"


def _row(gate: str, metric: str, value: float, threshold: float, status: str) -> dict:
    return {"gate": gate, "metric": metric, "value": float(value), "threshold": float(threshold),
            "status": status}


def _flat(dataset) -> np.ndarray:
    """Every value of an xarray Dataset as one flat array."""
    return np.concatenate([np.ravel(v.to_numpy()) for v in dataset.data_vars.values()])


def prior_plausibility(prior_y: np.ndarray, observed: np.ndarray) -> float:
    """g1 ratio: share of prior predictive draws (rows of ``prior_y``) that are plausible."""
    obs_mean = abs(float(np.mean(observed)))
    obs_spread = float(np.subtract(*np.quantile(observed, [0.95, 0.05])))
    means = np.abs(prior_y.mean(axis=1))
    spreads = np.subtract(*np.quantile(prior_y, [0.95, 0.05], axis=1))
    ok_mean = (means >= obs_mean / 3) & (means <= obs_mean * 3)
    ok_spread = (spreads >= obs_spread / 5) & (spreads <= obs_spread * 5)
    return float(np.mean(ok_mean & ok_spread))


def calibration(ppc: np.ndarray, observed: np.ndarray) -> dict[str, float]:
    """Coverage of central 50%/90% predictive intervals and the PIT KS p-value.

    ppc: (draws, n_obs) posterior predictive draws; observed: (n_obs,)
    """
    from scipy import stats

    q = np.quantile(ppc, [0.05, 0.25, 0.75, 0.95], axis=0)
    pit = (ppc < observed).mean(axis=0) + 0.5 * (ppc == observed).mean(axis=0)
    return {
        "coverage_50": float(np.mean((observed >= q[1]) & (observed <= q[2]))),
        "coverage_90": float(np.mean((observed >= q[0]) & (observed <= q[3]))),
        "pit_ks_pvalue": float(stats.kstest(pit, "uniform").pvalue),
    }


def compute_gates(idata) -> pd.DataFrame:
    """g1..g7 for one fit (see the module docstring); columns ``GATE_COLUMNS``."""
    import arviz as az

    chains = idata.posterior.sizes["chain"]
    rows = []

    if "prior_predictive" in idata.groups() and "observed_data" in idata.groups():
        name = next(iter(idata.observed_data.data_vars))
        prior_y = idata.prior_predictive[name].to_numpy()
        ratio = prior_plausibility(prior_y.reshape(-1, prior_y.shape[-1]),
                                   idata.observed_data[name].to_numpy())
    else:
        ratio = np.nan
    rows.append(_row("g1", "plausibility_ratio", ratio, 0.5,
                     _band(ratio, ratio >= 0.5, ratio >= 0.25)))

    r_hat = float(np.nanmax(_flat(az.rhat(idata))))
    rows.append(_row("g2", "max_r_hat", r_hat, 1.01, _band(r_hat, r_hat <= 1.01, r_hat <= 1.05)))

    need = 100 * chains
    for method in ("bulk", "tail"):
        ess = float(np.nanmin(_flat(az.ess(idata, method=method))))
        rows.append(_row("g3", f"min_ess_{method}", ess, need,
                         _band(ess, ess >= need, ess >= need / 2)))

    divergences = int(idata.sample_stats["diverging"].to_numpy().sum())
    rows.append(_row("g4", "divergences", divergences, 0,
                     _band(divergences, divergences == 0, divergences < 10)))

    if "posterior_predictive" in idata.groups() and "observed_data" in idata.groups():
        name = next(iter(idata.observed_data.data_vars))
        ppc = idata.posterior_predictive[name].to_numpy()
        cal = calibration(ppc.reshape(-1, ppc.shape[-1]), idata.observed_data[name].to_numpy())
    else:
        cal = dict.fromkeys(["coverage_50", "coverage_90", "pit_ks_pvalue"], np.nan)
    c50, c90, p = cal["coverage_50"], cal["coverage_90"], cal["pit_ks_pvalue"]
    rows.append(_row("g5", "coverage_50", c50, 0.5, _band(c50, abs(c50 - 0.5) <= 0.15, True)))
    rows.append(_row("g5", "coverage_90", c90, 0.9,
                     _band(c90, abs(c90 - 0.9) <= 0.075, c90 >= 0.7)))
    rows.append(_row("g5", "pit_ks_pvalue", p, 0.05, _band(p, p >= 0.05, p >= 0.01)))

    if "log_likelihood" in idata.groups():
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # arviz warns on high k; the gate reports it
            k = np.asarray(az.loo(idata, pointwise=True).pareto_k)
        max_k, bad_share = float(np.max(k)), float(np.mean(k > 0.7))
    else:
        max_k = bad_share = np.nan
    rows.append(_row("g6", "max_pareto_k", max_k, 0.5,
                     _band(max_k, max_k <= 0.5, max_k <= 0.7 or bad_share <= 0.05)))
    rows.append(_row("g6", "share_pareto_k_gt_0.7", bad_share, 0.05,
                     _band(bad_share, bad_share == 0, bad_share <= 0.05)))

    bfmi = float(np.min(az.bfmi(idata))) if "energy" in idata.sample_stats else np.nan
    rows.append(_row("g7", "min_bfmi", bfmi, 0.3, _band(bfmi, bfmi > 0.3, bfmi >= 0.2)))
    return pd.DataFrame(rows, columns=GATE_COLUMNS)


def apply_gating(gates: pd.DataFrame, mode: str) -> tuple[str, str]:
    """Apply the ``diagnostics_gating`` policy to a gates frame.

    Returns ``(status, message)`` with status ``"ok"`` or ``"warning"``. ``strict`` raises
    :class:`GateFailure` naming every failed gate and why; ``warn`` reports warned and failed
    gates as ``"warning"``; ``off`` ignores the gates.
    """
    if mode not in GATING_MODES:
        raise ValueError(f"unknown gating mode {mode!r}; known: {GATING_MODES}")
    if mode == "off":
        return "ok", "diagnostics gating off"

    def describe(frame: pd.DataFrame) -> str:
        return "; ".join(
            f"{r.gate} {r.status}: {r.metric} = {r.value:.4g} (threshold {r.threshold:.4g})"
            for r in frame.itertuples()
        )

    failed = gates[gates["status"] == "fail"]
    if mode == "strict" and len(failed):
        raise GateFailure(f"converged=false, failed gates: {describe(failed)}", failed)
    flagged = gates[gates["status"] != "pass"]
    if len(flagged):
        return "warning", describe(flagged)
    return "ok", "all gates pass"
