"""The one extension point for media transforms (see STYLE.md §2).

A transform declares its parameters once — a default (Ridge), bounds (NLS) and a prior (Bayes) —
and a pure NumPy ``__call__``. Structural mistakes fail when the subclass is defined.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class Prior:
    """A distribution name plus keyword arguments, e.g. ``Prior("beta", alpha=2, beta=2)``."""

    distribution: str
    kwargs: dict[str, float] = field(default_factory=dict)

    def __init__(self, distribution: str, **kwargs: float) -> None:
        object.__setattr__(self, "distribution", distribution)
        object.__setattr__(self, "kwargs", dict(kwargs))


@dataclass(frozen=True)
class Param:
    default: float
    bounds: tuple[float, float]
    prior: Prior


TRANSFORMS: dict[str, type[Transform]] = {}


class Transform:
    name: ClassVar[str]
    kind: ClassVar[str]  # "adstock" or "saturation"
    params: ClassVar[dict[str, Param]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        signature = list(inspect.signature(cls.__call__).parameters)
        # (self, x, *params): the first argument is the data, every other one needs a Param.
        if signature[:2] != ["self", "x"]:
            raise TypeError(f"{cls.__name__}.__call__ must take (self, x, ...)")
        missing = set(signature[2:]) - set(cls.params)
        if missing:
            raise TypeError(f"{cls.__name__}: parameters without a Param: {sorted(missing)}")
        for pname, param in cls.params.items():
            low, high = param.bounds
            if not low <= param.default <= high:
                raise TypeError(f"{cls.__name__}.{pname}: default outside bounds")
        if cls.name in TRANSFORMS:
            raise TypeError(f"transform name {cls.name!r} registered twice")
        TRANSFORMS[cls.name] = cls

    def __call__(self, x: np.ndarray, **params: float) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def defaults(self) -> dict[str, float]:
        return {name: p.default for name, p in self.params.items()}


def get_transform(name: str) -> Transform:
    try:
        return TRANSFORMS[name]()
    except KeyError:
        raise ValueError(f"unknown transform {name!r}; known: {sorted(TRANSFORMS)}") from None
