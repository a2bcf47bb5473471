"""Adstock (carry-over) transforms. Weights are normalised to sum to one, so adstock keeps the
spend scale and the long-run (steady-state) effect of a constant weekly spend s is f(s)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from prism_mmm.transforms.base import Param, Prior, Transform


def geometric_weights(decay: float, max_lag: int) -> np.ndarray:
    weights = decay ** np.arange(max_lag, dtype=float)
    return weights / weights.sum()


def weibull_weights(shape: float, scale: float, max_lag: int) -> np.ndarray:
    """Weibull PDF weights: a delayed peak when shape > 1."""
    lags = np.arange(1, max_lag + 1, dtype=float)
    weights = (shape / scale) * (lags / scale) ** (shape - 1) * np.exp(-((lags / scale) ** shape))
    total = weights.sum()
    return weights / total if total > 0 else np.eye(1, max_lag).ravel()


def convolve_weights(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Causal convolution along axis 0: out[t] = sum_l w[l] * x[t - l] (zeros before start)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for lag, weight in enumerate(weights):
        if lag == 0:
            out += weight * x
        else:
            out[lag:] += weight * x[:-lag]
    return out


class GeometricAdstock(Transform):
    name = "geometric"
    kind = "adstock"
    params: ClassVar[dict[str, Param]] = {
        "decay": Param(0.5, bounds=(0.0, 0.95), prior=Prior("beta", alpha=2.0, beta=2.0)),
    }

    def __init__(self, max_lag: int = 8) -> None:
        self.max_lag = max_lag

    def __call__(self, x, decay):
        return convolve_weights(x, geometric_weights(decay, self.max_lag))


class WeibullAdstock(Transform):
    name = "weibull"
    kind = "adstock"
    params: ClassVar[dict[str, Param]] = {
        "shape": Param(1.5, bounds=(0.3, 5.0), prior=Prior("gamma", mu=1.5, sigma=0.75)),
        "scale": Param(2.0, bounds=(0.3, 8.0), prior=Prior("gamma", mu=2.0, sigma=1.0)),
    }

    def __init__(self, max_lag: int = 8) -> None:
        self.max_lag = max_lag

    def __call__(self, x, shape, scale):
        return convolve_weights(x, weibull_weights(shape, scale, self.max_lag))
