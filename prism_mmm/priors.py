"""Prior distributions: one small value type, its canonical parametrisation and NumPy draws.

``Prior("gamma", mu=0.7, sigma=0.4)`` is what transforms declare and ``prism.yml`` overrides;
the Bayesian graph builds the PyMC distribution of the same family from ``canonical()``, and
the prior predictive check and NLS's random starts draw from it with :meth:`Prior.sample`, so
one parametrisation serves every use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# family -> (PyMC class name, canonical parameter names)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "normal": ("Normal", ("mu", "sigma")),
    "halfnormal": ("HalfNormal", ("sigma",)),
    "lognormal": ("LogNormal", ("mu", "sigma")),
    "gamma": ("Gamma", ("alpha", "beta")),
    "beta": ("Beta", ("alpha", "beta")),
}
Z90 = 1.6448536269514722  # standard normal 95% quantile: a central 90% interval is mu ± Z90·sd


@dataclass(frozen=True)
class Prior:
    """A distribution name plus keyword arguments, e.g. ``Prior("beta", alpha=2, beta=2)``.

    Gamma and Beta priors may be given by ``mu``/``sigma`` (mean and standard deviation)."""

    distribution: str
    kwargs: dict[str, float] = field(default_factory=dict)

    def __init__(self, distribution: str, **kwargs: float) -> None:
        object.__setattr__(self, "distribution", distribution)
        object.__setattr__(self, "kwargs", dict(kwargs))

    def canonical(self) -> tuple[str, dict[str, float]]:
        """``(family, params)`` in the canonical names of :data:`FAMILIES`."""
        return canonical(self.distribution, self.kwargs)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        return sample(*self.canonical(), rng, size)


def canonical(distribution: str, kwargs: dict[str, float]) -> tuple[str, dict[str, float]]:
    """Family and canonical parameters; raises ``ValueError`` naming what is wrong."""
    family = distribution.lower().replace("_", "")
    if family not in FAMILIES:
        raise ValueError(f"unsupported prior family {distribution!r}; known: {sorted(FAMILIES)}")
    params = {k: float(v) for k, v in kwargs.items()}
    if family == "gamma" and set(params) == {"mu", "sigma"}:
        mu, sd = params["mu"], params["sigma"]
        params = {"alpha": mu**2 / sd**2, "beta": mu / sd**2}
    if family == "beta" and set(params) == {"mu", "sigma"}:
        mu, sd = params["mu"], params["sigma"]
        kappa = mu * (1 - mu) / sd**2 - 1
        params = {"alpha": mu * kappa, "beta": (1 - mu) * kappa}
    expected = set(FAMILIES[family][1])
    if set(params) != expected:
        raise ValueError(f"{family} prior needs {sorted(expected)}, got {sorted(params)}")
    if any(v <= 0 for k, v in params.items() if k != "mu"):
        raise ValueError(f"{family} prior parameters must be positive: {params}")
    return family, params


def sample(
    family: str, params: dict[str, float], rng: np.random.Generator, size: int | tuple[int, ...]
) -> np.ndarray:
    """NumPy draws from a canonical prior, in PyMC's parametrisations."""
    if family == "normal":
        return rng.normal(params["mu"], params["sigma"], size)
    if family == "halfnormal":
        return np.abs(rng.normal(0.0, params["sigma"], size))
    if family == "lognormal":
        return np.exp(rng.normal(params["mu"], params["sigma"], size))
    if family == "gamma":
        return rng.gamma(params["alpha"], 1.0 / params["beta"], size)
    return rng.beta(params["alpha"], params["beta"], size)


def support_point(family: str, params: dict[str, float]) -> float | np.ndarray:
    """PyMC's default starting value of a canonical prior (the mean; the scale of a
    HalfNormal). Parameters may be arrays (one prior per element)."""
    if family == "normal":
        return params["mu"]
    if family == "halfnormal":
        return params["sigma"]
    if family == "lognormal":
        return np.exp(np.asarray(params["mu"]) + np.asarray(params["sigma"]) ** 2 / 2)
    if family == "gamma":
        return params["alpha"] / params["beta"]
    return params["alpha"] / (params["alpha"] + params["beta"])


def lognormal_from_interval(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the LogNormal whose central 90% interval is ``(low, high)``."""
    if not 0 < low < high:
        raise ValueError(f"the range must satisfy 0 < low < high, got ({low}, {high})")
    return (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / (2 * Z90)
