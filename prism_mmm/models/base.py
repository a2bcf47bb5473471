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
from prism_mmm.transforms import GeometricAdstock, hill

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


def moving_block_indices(
    n: int, block_weeks: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_boot, n) row indices of a moving-block bootstrap of an ``n``-week series.

    Blocks of ``block_weeks`` consecutive weeks, with random starts, are laid end to end and
    cut to ``n``, so resampled residuals keep their short-range autocorrelation (weekly MMM
    residuals are rarely independent, and an i.i.d. bootstrap would give too narrow intervals).
    """
    block = max(1, min(block_weeks, n))
    n_blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    rows = starts[:, :, None] + np.arange(block)[None, None, :]
    return rows.reshape(n_boot, n_blocks * block)[:, :n]


def adstock_hill_features(
    spend: np.ndarray,
    scale: np.ndarray,
    decay: np.ndarray,
    half_sat: np.ndarray,
    shape: np.ndarray,
    max_lag: int,
) -> np.ndarray:
    """(T, C) media features ``hill(geometric_adstock(spend / scale))``, one set of
    parameters per channel (arrays of length C). With normalised adstock weights a sustained
    weekly spend ``s`` maps to ``hill(s / scale)``, the steady state a ResponseSurface uses."""
    adstock = GeometricAdstock(max_lag=max_lag)
    scaled = np.asarray(spend, dtype=float) / scale[None, :]
    return np.column_stack(
        [
            hill(adstock(scaled[:, c], decay=decay[c]), half_sat[c], shape[c])
            for c in range(scaled.shape[1])
        ]
    )


def contributions_frame(
    week_start_date: np.ndarray,
    components: dict[str, np.ndarray],
    component_draws: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Long ``CONTRIBUTION_COLUMNS`` frame from weekly point values and per-draw values.

    components: name -> (T,) point contribution per week
    component_draws: name -> (D, T) per-draw contribution (missing or D = 0: no interval)
    The 90% band is widened to contain the point, as in :func:`roi_from_draws`.
    """
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    frames = []
    for name, value in components.items():
        draws = component_draws.get(name)
        if draws is None or len(draws) == 0:
            low = high = np.full(len(value), np.nan)
        else:
            low, high = np.quantile(draws, [lo_q, hi_q], axis=0)
        frames.append(
            pd.DataFrame(
                {
                    "week_start_date": week_start_date,
                    "component": name,
                    "value": value,
                    "low": np.fmin(low, value),
                    "high": np.fmax(high, value),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[CONTRIBUTION_COLUMNS]


def parameter_summary(
    channels: list[str], point: dict[str, np.ndarray], draws: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Long per-channel parameter table in the ``bayes_parameter_summary`` shape.

    point: parameter name -> (C,) point estimate; draws: name -> (D, C) bootstrap draws.
    ``mean`` holds the point estimate and ``sd``/``hdi_low``/``hdi_high`` the spread of the
    draws (a central 90% interval for bootstrap draws); sampler columns stay NaN.
    """
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    frames = []
    for name, value in point.items():
        sample = draws.get(name)
        has_draws = sample is not None and len(sample) > 0
        frames.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "channel": channels,
                    "mean": value,
                    "sd": sample.std(axis=0) if has_draws else np.nan,
                    "hdi_low": np.quantile(sample, lo_q, axis=0) if has_draws else np.nan,
                    "hdi_high": np.quantile(sample, hi_q, axis=0) if has_draws else np.nan,
                    "r_hat": np.nan,
                    "ess_bulk": np.nan,
                    "ess_tail": np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def media_share_problem(shares: np.ndarray) -> str | None:
    """A message when channel contributions add up to more than the whole KPI.

    That can only happen with a negative baseline, i.e. the model explains the KPI as media
    minus something; the numbers are then not a plausible attribution (DESIGN §5 critic:
    media 5-80% of KPI) even when the fit is good.
    """
    total = float(np.nansum(shares))
    if total > 1.0:
        return f"media contributions add up to {total:.0%} of the KPI (baseline negative)"
    return None


NEGLIGIBLE_SHARE = 1e-4  # a channel credited with < 0.01% of the KPI counts as zeroed


def negligible_channels(roi: pd.DataFrame) -> list[str]:
    """Channels of a ``roi()`` frame whose contribution is negligible. Shrinkage or a bound
    leaves such coefficients tiny rather than exactly zero, and "all channels tiny" is the
    same failure as "all channels zero"."""
    return roi.loc[~(roi["share"].abs() >= NEGLIGIBLE_SHARE), "channel"].tolist()
