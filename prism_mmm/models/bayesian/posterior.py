"""Posterior and prior summaries of the Bayesian MMM, computed in NumPy from the draws.

The same maths as the graph (the media block comes from the same transform classes; a test
checks the two agree), so nothing is compiled after sampling: contributions, ROI,
predictions, the pointwise log-likelihood (g6), the posterior predictive (g5) and the prior
predictive (g1: each prior drawn in NumPy with the graph's distributions) are array
operations over draws.
"""

from __future__ import annotations

import numpy as np

from prism_mmm.data import MMMData
from prism_mmm.models.base import INTERVAL_MASS
from prism_mmm.models.bayesian.priors import Canonical, Scales
from prism_mmm.priors import sample
from prism_mmm.transforms import LOG_EPS, MediaTransform, lag_stack

Draws = dict[str, np.ndarray]  # name -> (D, ...) draws with chains stacked


def design(data: MMMData, scales: Scales, max_lag: int) -> dict[str, np.ndarray]:
    """Scaled arrays for every week of ``data`` (fit-time scales)."""
    return {
        "spend_lags": lag_stack(data.spend / scales.spend, max_lag),
        "baseline_x": np.asarray(data.baseline, dtype=float),
        "controls_x": data.controls / scales.controls,
    }


def hdi(draws: np.ndarray, mass: float = INTERVAL_MASS) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval along axis 0 (vectorised over the other axes)."""
    ordered = np.sort(draws, axis=0)
    n = ordered.shape[0]
    width = int(np.floor(mass * n))
    spans = ordered[width:] - ordered[: n - width]
    start = np.argmin(spans, axis=0)
    low = np.take_along_axis(ordered, start[None], axis=0)[0]
    high = np.take_along_axis(ordered, (start + width)[None], axis=0)[0]
    return low, high


def media_draws(media: MediaTransform, draws: Draws, spend_lags: np.ndarray) -> np.ndarray:
    """(D, T, C) saturated adstock per draw for a scaled lag stack (L, T, C)."""
    return media.draws(spend_lags, **{k: draws[k] for k in media.params})


def roi_from_u(roi_u: np.ndarray, terms: dict[str, np.ndarray]) -> np.ndarray:
    """The graph's ``ROI = exp(mu) * softplus(roi_u)``."""
    return np.exp(terms["roi_mu"]) * np.logaddexp(0.0, roi_u)


def beta_draws(
    media: MediaTransform,
    draws: Draws,
    fit_spend_lags: np.ndarray,
    terms: dict[str, np.ndarray],
    beta_prior: Canonical,
) -> np.ndarray:
    """(D, C) media coefficients from free-variable draws: ROI channels
    ``ROI * roi_factor / sum_fit sat`` (the graph's formula), the others ``beta_z`` scaled by
    the HalfNormal prior sigma, or ``beta_free``."""
    n_draws, n_channels = len(draws["sigma"]), len(terms["use_roi"])
    beta = np.zeros((n_draws, n_channels))
    if terms["use_roi"].any():
        sat = media_draws(media, draws, fit_spend_lags)
        roi = roi_from_u(draws["roi_u"], terms)
        beta = roi * terms["roi_factor"] / (sat.sum(axis=1) + LOG_EPS)
    if not terms["use_roi"].all():
        plain = (beta_prior[1]["sigma"] * draws["beta_z"] if "beta_z" in draws
                 else draws["beta_free"])
        beta = np.where(terms["use_roi"] > 0.5, beta, plain)
    return beta


def components(
    media: MediaTransform, draws: Draws, scaled: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Scaled components per draw for every week of a design: media (D, T, C),
    base (D, T) = intercept + trend + seasonality, controls (D, T, K)."""
    n_weeks = scaled["spend_lags"].shape[1]
    media_part = draws["beta"][:, None, :] * media_draws(media, draws, scaled["spend_lags"])
    base = np.repeat(draws["intercept"][:, None], n_weeks, axis=1)
    if "baseline_coef" in draws:
        base = base + draws["baseline_coef"] @ scaled["baseline_x"].T
    n_draws = len(draws["intercept"])
    controls = np.zeros((n_draws, n_weeks, scaled["controls_x"].shape[1]))
    if "control_coef" in draws:
        controls = draws["control_coef"][:, None, :] * scaled["controls_x"][None]
    return {"media": media_part, "base": base, "controls": controls}


def mu_draws(media: MediaTransform, draws: Draws, scaled: dict[str, np.ndarray]) -> np.ndarray:
    """(D, T) expected scaled KPI per draw."""
    parts = components(media, draws, scaled)
    return parts["base"] + parts["media"].sum(axis=2) + parts["controls"].sum(axis=2)


def prior_draws(
    media: MediaTransform,
    priors: dict[str, Canonical],
    data: MMMData,
    fit_spend_lags: np.ndarray,
    terms: dict[str, np.ndarray],
    n: int,
    rng: np.random.Generator,
) -> Draws:
    """``n`` joint draws from the prior (the graph's distributions), NumPy only."""
    c = len(data.channels)
    sizes = {"intercept": None, "sigma": None, "baseline_coef": data.baseline.shape[1],
             "control_coef": data.controls.shape[1]}
    out: Draws = {}
    for name in [*media.params, "intercept", "baseline_coef", "control_coef", "sigma", "beta"]:
        size = sizes.get(name, c)
        if size == 0:
            continue
        family, params = priors[name]
        out[name] = sample(family, params, rng, (n,) if size is None else (n, size))
    roi_ratio = np.exp(terms["roi_sigma"] * rng.standard_normal((n, c)))  # ROI / median
    out["roi_u"] = np.log(np.expm1(roi_ratio))
    if priors["beta"][0] == "halfnormal":
        out["beta_z"] = out["beta"] / priors["beta"][1]["sigma"]
    else:
        out["beta_free"] = out.pop("beta")
    out["beta"] = beta_draws(media, out, fit_spend_lags, terms, priors["beta"])
    return out
