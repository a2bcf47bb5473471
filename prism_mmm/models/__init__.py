"""The model registry: the one list of models the product fits, compares and shows.

Everything that needs the models reads them from here: the dbt var ``models`` (through
``prism_mmm.dbt.build_vars``), the config and CLI choices, the agents' scoring and report, and the
app's labels and colours. A fourth model is one module with an ``@register``-ed
:class:`~prism_mmm.models.base.MMMEstimator` subclass, one :class:`ModelSpec` below, and its
thin dbt model ``python_models/fit_<name>.py`` (documented in ``python_models/fits.yml``).

Model modules are imported on first use, so importing the registry stays light (PyMC and JAX
load only when a Bayesian fit is asked for).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    name : id in every result table's ``model`` column, in prism.yml sections and in
        ``fit_<name>``; a safe SQL identifier.
    module : dotted module whose import registers the estimator class.
    label : name shown to a business reader (app and report).
    colour : hex colour of the model in every chart (app and report).
    """

    name: str
    module: str
    label: str
    colour: str


# Order is display order: tables, legends and model pickers list models this way.
REGISTRY: Mapping[str, ModelSpec] = MappingProxyType({
    spec.name: spec
    for spec in (
        ModelSpec("ridge", "prism_mmm.models.ridge", "Ridge", "#4C78A8"),
        ModelSpec("bayes", "prism_mmm.models.bayes", "Bayesian", "#E45756"),
        ModelSpec("nls", "prism_mmm.models.nls", "Nonlinear (NLS)", "#54A24B"),
    )
})


def model_names() -> tuple[str, ...]:
    """Registered model names in display order."""
    return tuple(REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The registered model ``name``; a ValueError naming the known models otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {list(REGISTRY)}") from None


# The colour of a model that is not registered (an old run's model, read from the warehouse).
UNREGISTERED_COLOUR = "grey"


def in_model_order(names: Iterable[str]) -> list[str]:
    """``names`` without duplicates, registered models in registry order first, then any
    others (an old run's model no longer registered) alphabetically."""
    unique = set(names)
    registered = [name for name in REGISTRY if name in unique]
    return registered + sorted(unique - set(registered))


def shown_model(names: Iterable[str], planning_model: str) -> str | None:
    """The model a report or page shows first: the planning model (``optimizer.model``) when
    it was fitted, else the first fitted one in registry order; None when none was."""
    fitted = in_model_order(names)
    if not fitted:
        return None
    return planning_model if planning_model in fitted else fitted[0]


def model_label(name: str) -> str:
    """Display name of a model (``bayes -> 'Bayesian'``); an unregistered name as it is."""
    return REGISTRY[name].label if name in REGISTRY else name


def model_colour(name: str) -> str:
    """Chart colour of a model; :data:`UNREGISTERED_COLOUR` for an unregistered name."""
    return REGISTRY[name].colour if name in REGISTRY else UNREGISTERED_COLOUR


def estimator_class(name: str) -> type:
    """The estimator class of registered model ``name`` (imports its module on first use)."""
    from prism_mmm.models.base import MODELS

    spec = model_spec(name)
    if name not in MODELS:
        importlib.import_module(spec.module)
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"module {spec.module} registers no estimator named {name!r}") from None


def build_estimator(name: str, cfg, roi_priors: dict[str, tuple[float, float]] | None = None):
    """Build a registered model from configuration; knowledge ROI ranges go to models whose
    ``from_config`` takes ``roi_priors``."""
    cls = estimator_class(name)
    if "roi_priors" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(cfg, roi_priors=roi_priors)
    return cls.from_config(cfg)
