"""Adstock (carry-over) transforms. Weights are normalised to sum to one, so adstock keeps the
spend scale and the long-run (steady-state) effect of a constant weekly spend s is sat(s).

Each class gives its lag weights in NumPy (``weights``), in PyTensor (``tensor_weights``) and
their derivatives (``dweights``: the NLS Jacobian). Parameters may be arrays (one value per
channel, or per draw and channel); the lag axis comes first.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from prism_mmm.priors import Prior
from prism_mmm.transforms.base import Param, Transform


def lag_stack(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(L, T, ...) with ``out[l, t] = x[t - l]`` (zeros before the first week)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros((max_lag, *x.shape))
    for lag in range(max_lag):
        out[lag, lag:] = x[: x.shape[0] - lag]
    return out


def convolve_weights(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Causal convolution along axis 0: out[t] = sum_l w[l] * x[t - l] (zeros before start).
    ``weights`` is (L,) or (L, C) for a (T, C) ``x``."""
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for lag, weight in enumerate(weights):
        if lag == 0:
            out += weight * x
        else:
            out[lag:] += weight * x[:-lag]
    return out


class Adstock(Transform):
    kind = "adstock"

    def __init__(self, max_lag: int = 8) -> None:
        self.max_lag = max_lag

    def weights(self, **params) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def tensor_weights(self, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def dweights(self, **params) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        raise NotImplementedError

    def tensor(self, spend_lags, **params):
        """(T, C) adstock of a (L, T, C) lag stack, one parameter value per channel."""
        return (self.tensor_weights(**params)[:, None, :] * spend_lags).sum(axis=0)


class GeometricAdstock(Adstock):
    """``w_l = decay^l / sum_k decay^k`` over ``max_lag`` weeks."""

    name = "geometric"
    params: ClassVar[dict[str, Param]] = {
        "decay": Param(
            0.5, bounds=(0.0, 0.95), prior=Prior("beta", alpha=2.0, beta=2.0),
            grid=(0.0, 0.2, 0.4, 0.6, 0.8),
        ),
    }

    def _lags(self, decay: np.ndarray) -> np.ndarray:
        return np.arange(self.max_lag, dtype=float).reshape(-1, *[1] * np.ndim(decay))

    def __call__(self, x, decay):
        return convolve_weights(x, self.weights(decay=decay))

    def weights(self, decay):
        powers = np.asarray(decay, dtype=float)[None, ...] ** self._lags(decay)
        return powers / powers.sum(axis=0)

    def tensor_weights(self, decay):
        import pytensor.tensor as pt

        powers = decay[None, :] ** pt.arange(self.max_lag)[:, None]
        return powers / powers.sum(axis=0)

    def dweights(self, decay):
        decay = np.asarray(decay, dtype=float)
        lags = self._lags(decay)
        powers = decay[None, ...] ** lags
        # d(d^l)/dd = l d^(l-1); the l = 0 term is zero (and must not evaluate 0^-1 at d = 0).
        dpowers = lags * decay[None, ...] ** np.clip(lags - 1, 0, None)
        total, dtotal = powers.sum(axis=0), dpowers.sum(axis=0)
        return {"decay": (dpowers * total - powers * dtotal) / total**2}
