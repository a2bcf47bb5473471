"""Priors of the Bayesian MMM, on the scaled model (KPI mean 1 over fit weeks, each channel's
spend divided by its largest fit week).

The transforms own the priors of their parameters (``Param.prior``); the rest are below. Every
prior may be overridden by name in ``prism.yml`` (``bayes.priors``). ROI ranges from the
knowledge layer put a LogNormal prior on a channel's ROI instead of on its coefficient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prism_mmm.config import BayesModelConfig
from prism_mmm.data import MMMData
from prism_mmm.priors import Prior, lognormal_from_interval
from prism_mmm.transforms import MediaTransform

# Priors that the transforms do not own.
DEFAULT_PRIORS: dict[str, Prior] = {
    "intercept": Prior("normal", mu=0.5, sigma=0.5),
    "baseline_coef": Prior("normal", mu=0.0, sigma=0.5),
    "control_coef": Prior("normal", mu=0.0, sigma=1.0),
    "beta": Prior("halfnormal", sigma=0.5),
    "sigma": Prior("halfnormal", sigma=0.5),
}
# Non-media parameters, in the order the parameter summary lists them.
PARAMETERS = ("intercept", "baseline_coef", "control_coef", "beta", "sigma")

Canonical = tuple[str, dict[str, float]]


def media_transform(model_config: BayesModelConfig) -> MediaTransform:
    return MediaTransform(model_config.adstock, model_config.saturation, model_config.max_lag)


def resolved_priors(model_config: BayesModelConfig) -> dict[str, Canonical]:
    """name -> (family, canonical params) for every prior of the model, overrides applied."""
    priors = dict(DEFAULT_PRIORS)
    for name, param in media_transform(model_config).params.items():
        priors[name] = param.prior
    overrides = {k: Prior(p.distribution, **p.params) for k, p in model_config.priors.items()}
    unknown = set(overrides) - set(priors)
    if unknown:
        raise ValueError(
            f"priors for unknown parameters {sorted(unknown)}; known: {sorted(priors)}"
        )
    priors.update(overrides)
    return {name: prior.canonical() for name, prior in priors.items()}


@dataclass(frozen=True)
class Scales:
    """The scales that make priors mean the same thing for every brand.

    y: mean KPI over fit weeks; spend: each channel's largest fit-week spend (its largest
    week overall if it never spent in the fit weeks, else 1); controls: largest absolute
    value over fit weeks (0/1 dummies unchanged)."""

    y: float
    spend: np.ndarray
    controls: np.ndarray

    @classmethod
    def of(cls, data: MMMData) -> Scales:
        fit = data.fit_mask
        if not fit.any():
            raise ValueError("no fit weeks: every week is held out or excluded")
        y = float(np.mean(data.y[fit]))
        if y <= 0:
            raise ValueError("the KPI's mean over fit weeks must be positive")
        fit_max = data.spend[fit].max(axis=0) if data.spend.size else np.zeros(0)
        all_max = data.spend.max(axis=0) if data.spend.size else np.zeros(0)
        spend = np.where(fit_max > 0, fit_max, np.where(all_max > 0, all_max, 1.0))
        ctrl_max = (np.abs(data.controls[fit]).max(axis=0) if data.controls.shape[1]
                    else np.zeros(0))
        return cls(y=y, spend=spend, controls=np.where(ctrl_max > 0, ctrl_max, 1.0))


def roi_terms(
    model_config: BayesModelConfig, data: MMMData, scales: Scales
) -> dict[str, np.ndarray]:
    """Per-channel ROI prior terms: ``use_roi`` mask, LogNormal ``roi_mu``/``roi_sigma`` and
    ``roi_factor`` = fit-week spend / y scale (so beta = ROI * factor / sum of saturation)."""
    roi = model_config.roi_priors
    unknown = set(roi) - set(data.channels)
    if unknown:
        raise ValueError(f"roi_priors for unknown channels {sorted(unknown)}")
    mus_sigmas = [
        lognormal_from_interval(*roi[ch]) if ch in roi else (0.0, 1.0) for ch in data.channels
    ]
    return {
        "use_roi": np.array([float(ch in roi) for ch in data.channels]),
        "roi_mu": np.array([m for m, _ in mus_sigmas]),
        "roi_sigma": np.array([s for _, s in mus_sigmas]),
        "roi_factor": data.spend[data.fit_mask].sum(axis=0) / scales.y,
    }
