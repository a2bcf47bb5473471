"""Model registry. A fourth model is one module with an ``@register``-ed
:class:`~prism_mmm.models.base.MMMEstimator` subclass plus its name in ``BUILTIN_MODULES``.

Model modules are imported on first use, so importing the interface stays light (PyMC and
JAX load only when a Bayesian fit is asked for).
"""

from __future__ import annotations

import importlib
import inspect

BUILTIN_MODULES = ("ridge", "bayes", "nls")


def registered_models() -> dict[str, type]:
    """name -> estimator class, after importing every built-in model module."""
    from prism_mmm.models.base import MODELS

    for module in BUILTIN_MODULES:
        importlib.import_module(f"prism_mmm.models.{module}")
    return MODELS


def build_estimator(name: str, cfg, roi_priors: dict[str, tuple[float, float]] | None = None):
    """Build a registered model from configuration; knowledge ROI ranges go to models whose
    ``from_config`` takes ``roi_priors``."""
    from prism_mmm.models.base import MODELS

    if name not in MODELS and name in BUILTIN_MODULES:
        importlib.import_module(f"prism_mmm.models.{name}")
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {sorted(BUILTIN_MODULES)}") from None
    if "roi_priors" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(cfg, roi_priors=roi_priors)
    return cls.from_config(cfg)
