"""The one extension point for media transforms.

A transform declares its parameters once -- a default (Ridge), bounds (NLS), a prior (Bayes)
and an optional search grid (Ridge's CV) -- and its maths once: a NumPy form, a PyTensor form
for the Bayesian graph and the gradients NLS and the optimiser need. Every model, the response
surface and the optimiser call these methods; nothing else writes the formulas. Structural
mistakes (a parameter without a ``Param``, a default outside its bounds, a name registered
twice) fail when the subclass is defined, before any fit.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from prism_mmm.priors import Prior


@dataclass(frozen=True)
class Param:
    """One transform parameter: Ridge's default, NLS's bounds, the Bayesian prior, and the
    values Ridge's cross-validation may try (empty: never searched)."""

    default: float
    bounds: tuple[float, float]
    prior: Prior
    grid: tuple[float, ...] = ()


TRANSFORMS: dict[str, type[Transform]] = {}


class Transform:
    """Base of adstock and saturation transforms; concrete subclasses set ``name``."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "adstock" or "saturation"
    params: ClassVar[dict[str, Param]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # an abstract family base (Adstock, Saturation)
        signature = list(inspect.signature(cls.__call__).parameters)
        # (self, x, *params): the first argument is the data, every other one needs a Param.
        if signature[:2] != ["self", "x"]:
            raise TypeError(f"{cls.__name__}.__call__ must take (self, x, ...)")
        if set(signature[2:]) != set(cls.params):
            raise TypeError(
                f"{cls.__name__}: __call__ parameters {signature[2:]} do not match its Params "
                f"{sorted(cls.params)}"
            )
        for pname, param in cls.params.items():
            low, high = param.bounds
            if not low <= param.default <= high:
                raise TypeError(f"{cls.__name__}.{pname}: default outside bounds")
            if any(not low <= v <= high for v in param.grid):
                raise TypeError(f"{cls.__name__}.{pname}: grid value outside bounds")
        if cls.name in TRANSFORMS:
            raise TypeError(f"transform name {cls.name!r} registered twice")
        TRANSFORMS[cls.name] = cls

    def __call__(self, x: np.ndarray, **params: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict[str, float]:
        return {name: p.default for name, p in cls.params.items()}

    @classmethod
    def bounds(cls) -> dict[str, tuple[float, float]]:
        return {name: p.bounds for name, p in cls.params.items()}


def get_transform(name: str, kind: str | None = None) -> type[Transform]:
    """The registered transform class called ``name`` (optionally checking its kind)."""
    known = sorted(n for n, c in TRANSFORMS.items() if kind is None or c.kind == kind)
    cls = TRANSFORMS.get(name)
    if cls is None or (kind is not None and cls.kind != kind):
        raise ValueError(f"unknown {kind or 'transform'} {name!r}; known: {known}")
    return cls
