"""Saturation (diminishing returns) transforms on scaled spend (spend / channel scale)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from prism_mmm.transforms.base import Param, Prior, Transform


def hill(x: np.ndarray, half_sat: float, shape: float) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    xs = x**shape
    return xs / (xs + half_sat**shape)


def logistic(x: np.ndarray, lam: float) -> np.ndarray:
    x = np.clip(np.asarray(x, dtype=float), 0.0, None)
    return (1 - np.exp(-lam * x)) / (1 + np.exp(-lam * x))


class HillSaturation(Transform):
    name = "hill"
    kind = "saturation"
    params: ClassVar[dict[str, Param]] = {
        "half_sat": Param(0.5, bounds=(0.05, 5.0), prior=Prior("gamma", mu=0.7, sigma=0.4)),
        "shape": Param(1.0, bounds=(0.5, 4.0), prior=Prior("gamma", mu=1.5, sigma=0.5)),
    }

    def __call__(self, x, half_sat, shape):
        return hill(x, half_sat, shape)


class LogisticSaturation(Transform):
    name = "logistic"
    kind = "saturation"
    params: ClassVar[dict[str, Param]] = {
        "lam": Param(2.0, bounds=(0.05, 20.0), prior=Prior("gamma", mu=2.0, sigma=1.5)),
    }

    def __call__(self, x, lam):
        return logistic(x, lam)
