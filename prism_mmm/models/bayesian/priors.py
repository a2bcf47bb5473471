"""Priors of the Bayesian MMM, set from each dataset's own scale.

The model runs on scaled data: the KPI divided by its mean over the fit weeks (so it
averages 1), each channel's spend by its largest fit week, each continuous control (already
centred, :func:`prism_mmm.data.center_controls`) by its standard deviation. On that scale the
default priors are weakly informative *relative to the data*, so the same defaults fit any
brand, currency or KPI unit (rules in docs/STATISTICS.md):

- noise ``sigma ~ HalfNormal(s)`` and trend/seasonality coefficients ``~ Normal(0, k s)``,
  with ``s`` the standard deviation of the scaled KPI: neither can, a priori, vary the KPI
  much more than it varies (``k`` = 2 for the trend, 1 per Fourier term);
- control coefficients ``~ Normal(0, s)`` per standard deviation of a continuous control,
  ``Normal(0, 3 s)`` for a 0/1 event (events are rare and often large);
- ``intercept ~ Normal(1 - m, 0.5)``: the KPI at average conditions without media, with
  ``m`` the median of the expected media share;
- media: every channel's ROI ``~ LogNormal`` (the Meridian parametrisation). Without a range
  from the knowledge layer, the prior is the same for every channel: the ROI at which media
  would make up ``bayes.media_share`` (a central 90% interval, default 5-60%) of the KPI, i.e.
  ``share * KPI / total spend``. With ``media_share: null`` channels without a range get
  ``beta ~ HalfNormal`` on their full-saturation effect instead.

The transforms own the priors of their parameters (``Param.prior``). Every prior may be
overridden by name in ``prism.yml`` (``bayes.priors``); an override replaces the data-scaled
default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prism_mmm.config import BayesModelConfig
from prism_mmm.data import MMMData, is_binary
from prism_mmm.priors import Prior, lognormal_from_interval
from prism_mmm.transforms import MediaTransform

# Priors whose defaults do not depend on the data.
FIXED_PRIORS: dict[str, Prior] = {"beta": Prior("halfnormal", sigma=0.5)}
# Non-media parameters, in the order the parameter summary lists them.
PARAMETERS = ("intercept", "baseline_coef", "control_coef", "beta", "sigma")
TREND_SCALE = 2.0  # trend coefficient prior sd, in KPI standard deviations
EVENT_SCALE = 3.0  # 0/1 event coefficient prior sd, in KPI standard deviations
INTERCEPT_SD = 0.5

# name -> (family, params); a param may be an array (one value per element of the vector).
Canonical = tuple[str, dict[str, float | np.ndarray]]


def media_transform(model_config: BayesModelConfig) -> MediaTransform:
    return MediaTransform(model_config.adstock, model_config.saturation, model_config.max_lag)


@dataclass(frozen=True)
class Scales:
    """The scales that make priors mean the same thing for every dataset.

    y: mean KPI over fit weeks; y_sd: standard deviation of KPI / y over fit weeks; spend:
    each channel's largest fit-week spend (its largest week overall if it never spent in the
    fit weeks, else 1); controls: standard deviation over fit weeks of a continuous control,
    1 for a 0/1 event."""

    y: float
    y_sd: float
    spend: np.ndarray
    controls: np.ndarray
    binary_controls: np.ndarray

    @classmethod
    def of(cls, data: MMMData) -> Scales:
        fit = data.fit_mask
        if not fit.any():
            raise ValueError("no fit weeks: every week is held out or excluded")
        y = float(np.mean(data.y[fit]))
        if y <= 0:
            raise ValueError("the KPI's mean over fit weeks must be positive")
        # A floor keeps the priors proper for a (nearly) constant KPI.
        y_sd = max(float(np.std(data.y[fit]) / y), 1e-3)
        fit_max = data.spend[fit].max(axis=0) if data.spend.size else np.zeros(0)
        all_max = data.spend.max(axis=0) if data.spend.size else np.zeros(0)
        spend = np.where(fit_max > 0, fit_max, np.where(all_max > 0, all_max, 1.0))
        binary = np.array([is_binary(data.controls[:, k]) for k in range(data.controls.shape[1])],
                          dtype=bool)
        sd = data.controls[fit].std(axis=0) if data.controls.shape[1] else np.zeros(0)
        controls = np.where(binary | (sd <= 0), 1.0, sd)
        return cls(y=y, y_sd=y_sd, spend=spend, controls=controls, binary_controls=binary)


def median_share(model_config: BayesModelConfig) -> float:
    """Median of the expected media share (0 when no share prior is set)."""
    if model_config.media_share is None:
        return 0.0
    low, high = model_config.media_share
    return float(np.sqrt(low * high))


def typical_spend(data: MMMData, scales: Scales) -> np.ndarray:
    """(C,) each channel's median weekly spend over its active fit weeks, scaled (0.5 for a
    channel that never spends)."""
    scaled = data.spend[data.fit_mask] / scales.spend
    return np.array([np.median(col[col > 0]) if (col > 0).any() else 0.5 for col in scaled.T])


def resolved_priors(
    model_config: BayesModelConfig, data: MMMData, scales: Scales
) -> dict[str, Canonical]:
    """name -> (family, canonical params) for every prior of the model, overrides applied."""
    s = scales.y_sd
    trend = np.array([TREND_SCALE if name == "trend" else 1.0 for name in data.baseline_names])
    priors: dict[str, Canonical] = {
        "intercept": ("normal", {"mu": 1.0 - median_share(model_config), "sigma": INTERCEPT_SD}),
        "baseline_coef": ("normal", {"mu": 0.0, "sigma": s * trend}),
        "control_coef": ("normal", {"mu": 0.0, "sigma": s * np.where(
            scales.binary_controls, EVENT_SCALE, 1.0)}),
        "sigma": ("halfnormal", {"sigma": s}),
        **{name: prior.canonical() for name, prior in FIXED_PRIORS.items()},
    }
    media = media_transform(model_config)
    for name, param in media.params.items():
        priors[name] = param.prior.canonical()
    priors.update(media.saturation.anchored_priors(typical_spend(data, scales)))
    overrides = {k: Prior(p.distribution, **p.params) for k, p in model_config.priors.items()}
    unknown = set(overrides) - set(priors)
    if unknown:
        raise ValueError(
            f"priors for unknown parameters {sorted(unknown)}; known: {sorted(priors)}"
        )
    priors.update({name: prior.canonical() for name, prior in overrides.items()})
    return priors


def roi_terms(
    model_config: BayesModelConfig, data: MMMData, scales: Scales
) -> dict[str, np.ndarray]:
    """Per-channel ROI prior terms: ``use_roi`` mask, LogNormal ``roi_mu``/``roi_sigma`` and
    ``roi_factor`` = fit-week spend / y scale (so beta = ROI * factor / sum of saturation).

    A channel's own range (knowledge layer) wins; otherwise, with a media-share prior, the
    ROI at which media would be that share of the KPI."""
    roi = model_config.roi_priors
    unknown = set(roi) - set(data.channels)
    if unknown:
        raise ValueError(f"roi_priors for unknown channels {sorted(unknown)}")
    fit = data.fit_mask
    spend_fit = data.spend[fit].sum(axis=0)
    default = None
    if model_config.media_share is not None and spend_fit.sum() > 0:
        per_spend = data.y[fit].sum() / spend_fit.sum()
        low, high = model_config.media_share
        default = (low * per_spend, high * per_spend)
    ranges = {ch: roi.get(ch, default) for ch in data.channels}
    mus_sigmas = [lognormal_from_interval(*r) if r else (0.0, 1.0) for r in ranges.values()]
    return {
        "use_roi": np.array([float(r is not None) for r in ranges.values()]),
        "roi_mu": np.array([m for m, _ in mus_sigmas]),
        "roi_sigma": np.array([sd for _, sd in mus_sigmas]),
        "roi_factor": spend_fit / scales.y,
    }
