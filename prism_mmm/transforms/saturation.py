"""Saturation (diminishing returns) on scaled spend (spend / the channel's scale).

Each class holds its curve in NumPy (``__call__``), in PyTensor (``tensor``, the Bayesian
graph) and its derivatives with respect to spend (``dx``: marginal returns for the optimiser)
and to its parameters (``dparams``: the NLS Jacobian). Parameters broadcast against ``x``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import expit

from prism_mmm.priors import Prior
from prism_mmm.transforms.base import Param, Transform

# Keeps log(x) finite at zero spend in the Hill curve, in every form: the NumPy and PyTensor
# curves are then the same function, and a gradient at zero spend stays finite.
LOG_EPS = 1e-12


# Spread (log scale) of a prior anchored on a channel's observed spend: x/÷ 2.3 at 90%.
ANCHOR_SIGMA = 0.5


class Saturation(Transform):
    kind = "saturation"

    def anchored_priors(self, typical: np.ndarray) -> dict[str, tuple[str, dict]]:
        """Priors, per channel, that put the curve's bend where the channel actually spends
        (``typical``: its median active weekly spend, scaled). Parameters not listed keep
        the class prior."""
        return {}

    def tensor(self, x, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def dx(self, x: np.ndarray, **params) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def dparams(self, x: np.ndarray, **params) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


class HillSaturation(Saturation):
    """``x^k / (x^k + K^k)``, written as a logistic in log-space (stable for tiny spend),
    exactly zero at zero spend."""

    name = "hill"
    params: ClassVar[dict[str, Param]] = {
        "half_sat": Param(
            0.5, bounds=(0.05, 5.0), prior=Prior("gamma", mu=0.7, sigma=0.4),
            grid=(0.2, 0.35, 0.5, 0.75, 1.1),
        ),
        "shape": Param(1.0, bounds=(0.5, 4.0), prior=Prior("gamma", mu=1.5, sigma=0.5)),
    }

    @staticmethod
    def _log_ratio(x, half_sat):
        return np.log(np.maximum(x, 0.0) + LOG_EPS) - np.log(half_sat)

    def __call__(self, x, half_sat, shape):
        x = np.asarray(x, dtype=float)
        return np.where(x > 0, expit(shape * self._log_ratio(x, half_sat)), 0.0)

    def tensor(self, x, half_sat, shape):
        import pytensor.tensor as pt

        curve = pt.sigmoid(shape * (pt.log(x + LOG_EPS) - pt.log(half_sat)))
        return pt.switch(pt.gt(x, 0.0), curve, 0.0)

    def anchored_priors(self, typical):
        # Half-saturation at the typical spend: the data can then tell the curve's shape,
        # instead of a bend far outside the observed range that no week can check.
        return {"half_sat": ("lognormal", {"mu": np.log(typical), "sigma": ANCHOR_SIGMA})}

    def dx(self, x, half_sat, shape):
        x = np.asarray(x, dtype=float)
        h = self(x, half_sat, shape)
        return h * (1.0 - h) * shape / (np.maximum(x, 0.0) + LOG_EPS)

    def dparams(self, x, half_sat, shape):
        x = np.asarray(x, dtype=float)
        h = self(x, half_sat, shape)
        slope = h * (1.0 - h)
        return {
            "half_sat": -slope * shape / half_sat,
            "shape": slope * self._log_ratio(x, half_sat),
        }


class LogisticSaturation(Saturation):
    """``(1 - e^(-lam x)) / (1 + e^(-lam x)) = tanh(lam x / 2)``."""

    name = "logistic"
    params: ClassVar[dict[str, Param]] = {
        "lam": Param(
            2.0, bounds=(0.05, 20.0), prior=Prior("gamma", mu=2.0, sigma=1.5),
            grid=(0.5, 1.0, 2.0, 4.0, 8.0),
        ),
    }

    def __call__(self, x, lam):
        return np.tanh(lam * np.maximum(np.asarray(x, dtype=float), 0.0) / 2.0)

    def tensor(self, x, lam):
        import pytensor.tensor as pt

        return pt.tanh(lam * x / 2.0)

    def anchored_priors(self, typical):
        # Half of the maximum effect at the typical spend: tanh(lam * x / 2) = 1/2.
        return {"lam": ("lognormal", {"mu": np.log(2 * np.arctanh(0.5) / typical),
                                      "sigma": ANCHOR_SIGMA})}

    def dx(self, x, lam):
        t = self(x, lam)
        return lam / 2.0 * (1.0 - t * t)

    def dparams(self, x, lam):
        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        t = self(x, lam)
        return {"lam": x / 2.0 * (1.0 - t * t)}


hill = HillSaturation()
logistic = LogisticSaturation()
