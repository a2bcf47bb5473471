"""Controls more than one page shows, so each behaves the same everywhere."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

import charts
from prism_mmm.models import in_model_order, shown_model


def model_picker(models: Iterable[str], planning_model: str, key: str, container=st) -> str:
    """Pick one of the fitted ``models`` (in the registry's order), starting on
    :func:`prism_mmm.models.shown_model`."""
    choices = in_model_order(models)
    default = shown_model(choices, planning_model)
    chosen = container.segmented_control("Model", choices, default=default,
                                         format_func=charts.model_label, key=key)
    return chosen or default
