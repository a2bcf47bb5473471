"""Controls more than one page shows, so each behaves the same everywhere."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

import charts
from prism_mmm.models import in_model_order


def default_model(models: Iterable[str], planning_model: str) -> str:
    """The model a page shows first: the planning model (``optimizer.model``) when it was
    fitted, else the first fitted one in the registry's order."""
    choices = in_model_order(models)
    return planning_model if planning_model in choices else choices[0]


def model_picker(models: Iterable[str], planning_model: str, key: str, container=st) -> str:
    """Pick one of the fitted ``models`` (in the registry's order), starting on
    :func:`default_model`."""
    choices = in_model_order(models)
    default = default_model(choices, planning_model)
    chosen = container.segmented_control("Model", choices, default=default,
                                         format_func=charts.model_label, key=key)
    return chosen or default
