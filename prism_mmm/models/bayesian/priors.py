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
  would make up ``bayes.media_share`` (a central 90% interval, default 5-80%) of the KPI, i.e.
  ``share * KPI / total spend``, widened by ``bayes.roi_spread`` when set (how much
  channels' ROIs differ from one another; off by default). With
  ``media_share: null`` channels without a range get ``beta ~ HalfNormal`` on their
  full-saturation effect instead.

The transforms own the priors of their parameters (``Param.prior``). Every prior may be
overridden by name in ``prism.yml`` (``bayes.priors``); an override replaces the data-scaled
default.
"""

from __future__ import annotations

import numpy as np

from prism_mmm.config import BayesModelConfig
from prism_mmm.data import MMMData
from prism_mmm.models.bayesian.design import TREND, Scales, baseline_design, media_transform
from prism_mmm.priors import Z90, Prior, lognormal_from_interval
from prism_mmm.transforms import typical_spend

# Priors whose defaults do not depend on the data. nu: the Student-t degrees of freedom,
# Gamma(2, 0.1) (mean 20, 90% in 3.5-47: from heavy tails to nearly normal).
FIXED_PRIORS: dict[str, Prior] = {
    "beta": Prior("halfnormal", sigma=0.5),
    "nu": Prior("gamma", alpha=2.0, beta=0.1),
}
# Non-media parameters, in the order the parameter summary lists them.
PARAMETERS = ("intercept", "baseline_coef", "control_coef", "beta", "sigma", "nu")
TREND_SCALE = 2.0  # trend coefficient prior sd, in KPI standard deviations
EVENT_SCALE = 3.0  # 0/1 event coefficient prior sd, in KPI standard deviations
INTERCEPT_SD = 0.5

# name -> (family, params); a param may be an array (one value per element of the vector).
Canonical = tuple[str, dict[str, float | np.ndarray]]


def median_share(model_config: BayesModelConfig) -> float:
    """Median of the expected media share (0 when no share prior is set)."""
    if model_config.media_share is None:
        return 0.0
    low, high = model_config.media_share
    return float(np.sqrt(low * high))


def resolved_priors(
    model_config: BayesModelConfig, data: MMMData, scales: Scales
) -> dict[str, Canonical]:
    """name -> (family, canonical params) for every prior of the model, overrides applied."""
    s = scales.y_sd
    names, _ = baseline_design(data, model_config)
    trend = np.array([TREND_SCALE if name == TREND else 1.0 for name in names])
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
    priors.update(media.saturation.anchored_priors(
        typical_spend(data.spend[data.fit_mask] / scales.spend)))
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
    ROI at which media would be that share of the KPI, widened by ``roi_spread``."""
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
    mus_sigmas = [_roi_prior(r, ch in roi, model_config.roi_spread) if r else (0.0, 1.0)
                  for ch, r in ranges.items()]
    return {
        "use_roi": np.array([float(r is not None) for r in ranges.values()]),
        "roi_mu": np.array([m for m, _ in mus_sigmas]),
        "roi_sigma": np.array([sd for _, sd in mus_sigmas]),
        "roi_factor": spend_fit / scales.y,
    }


def _roi_prior(interval: tuple[float, float], own_range: bool, spread: float
               ) -> tuple[float, float]:
    """(mu, sigma) of a channel's LogNormal ROI prior. A channel's own range is taken as
    given. The shared default is the brand's average ROI: the uncertainty of the media share
    and the spread of channels around that average are independent on the log scale, so
    their variances add (one channel may return several times what another does; without the
    spread, a high-ROI channel whose effect the data cannot pin down is pulled to the
    average)."""
    mu, sigma = lognormal_from_interval(*interval)
    if own_range:
        return mu, sigma
    return mu, float(np.hypot(sigma, np.log(spread) / (2 * Z90)))
