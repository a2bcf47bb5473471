"""The shared model interface (DESIGN §3, STYLE §3).

Every model is an :class:`MMMEstimator`: ``__init__`` only stores its keyword arguments,
``fit(data)`` learns state named with a trailing underscore and returns ``self``. The result
methods return DataFrames with fixed columns so the pipeline can write any model's output to
the same warehouse tables. A fourth model is one file plus a ``register`` call.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from prism_mmm.data import MMMData

# Column contracts of the result methods.
CONTRIBUTION_COLUMNS = ["week_start_date", "component", "value", "low", "high"]
ROI_COLUMNS = ["channel", "spend", "contribution", "roi", "roi_low", "roi_high", "share"]
CURVE_COLUMNS = ["spend", "response", "low", "high", "marginal_roi"]
INTERVAL_MASS = 0.90  # every interval we publish is a central/HDI 90% interval

MODELS: dict[str, type["MMMEstimator"]] = {}


def register(cls: type["MMMEstimator"]) -> type["MMMEstimator"]:
    MODELS[cls.model_name] = cls
    return cls


class NotFittedError(RuntimeError):
    pass


class MMMEstimator(BaseEstimator):
    """Base class. Subclasses implement ``fit`` and ``_draws``-style internals.

    Result methods (all after ``fit``):

    - ``predict(data=None)`` -> (T,) expected KPI for every week of ``data`` (default: fit data)
    - ``contributions()`` -> long frame ``CONTRIBUTION_COLUMNS``; components are ``baseline``
      (intercept + trend + seasonality), each channel, and each control.
    - ``roi()`` -> one row per channel, ``ROI_COLUMNS``; ROI = contribution / spend over all
      weeks of the fit data, share = contribution / total KPI, interval is 90%.
    - ``response_surface()`` -> :class:`prism_mmm.response.ResponseSurface` (draws of the
      steady-state response parameters; saved per run so nothing downstream refits)
    - ``response_curve(channel, spend_grid)`` -> ``CURVE_COLUMNS``: expected weekly KPI
      response at the adstock steady state of a sustained weekly spend, with a 90% band and
      marginal ROI (d response / d spend).
    - ``diagnostics()`` -> dict with at least ``status`` ("ok" | "warning" | "failed") and
      ``message``; Bayes adds ``gates`` and ``parameters`` frames.
    """

    model_name: ClassVar[str]

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(data) first")

    def fit(self, data: MMMData) -> "MMMEstimator":  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, data: MMMData | None = None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def contributions(self) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def roi(self) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def response_surface(self):  # pragma: no cover - abstract
        """The fitted steady-state response with draws: a :class:`prism_mmm.response.ResponseSurface`."""
        raise NotImplementedError

    def response_curve(self, channel: str, spend_grid: np.ndarray) -> pd.DataFrame:
        self._check_fitted()
        return self.response_surface().curve(channel, spend_grid)

    def diagnostics(self) -> dict:  # pragma: no cover
        raise NotImplementedError


def roi_from_draws(
    channels: list[str],
    spend: np.ndarray,
    contribution_draws: np.ndarray,
    point: np.ndarray,
    total_kpi: float,
) -> pd.DataFrame:
    """ROI table from per-draw channel contribution totals.

    contribution_draws: (n_draws, C) total contribution per channel in each draw/bootstrap
    point: (C,) the point estimate (posterior mean or full-data fit)
    """
    total_spend = spend.sum(axis=0)
    safe_spend = np.where(total_spend > 0, total_spend, np.nan)
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    roi_draws = contribution_draws / safe_spend
    roi_point = point / safe_spend
    frame = pd.DataFrame(
        {
            "channel": channels,
            "spend": total_spend,
            "contribution": point,
            "roi": roi_point,
            "roi_low": np.nanquantile(roi_draws, lo_q, axis=0) if len(roi_draws) else np.nan,
            "roi_high": np.nanquantile(roi_draws, hi_q, axis=0) if len(roi_draws) else np.nan,
            "share": point / total_kpi,
        }
    )
    # A percentile interval of bootstrap refits need not contain the full-data point; widen
    # it so the published interval always contains the published point (documented).
    frame["roi_low"] = np.fmin(frame["roi_low"], frame["roi"])
    frame["roi_high"] = np.fmax(frame["roi_high"], frame["roi"])
    return frame[ROI_COLUMNS]


def default_spend_grid(spend: np.ndarray, n_points: int = 41) -> np.ndarray:
    """0 .. 2x the channel's maximum observed weekly spend, plus the current average."""
    top = 2.0 * float(np.max(spend)) if np.max(spend) > 0 else 1.0
    grid = np.linspace(0.0, top, n_points)
    return np.unique(np.append(grid, float(np.mean(spend))))
