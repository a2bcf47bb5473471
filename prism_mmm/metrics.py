"""Fit metrics for the ``model_fit_metrics`` table (definitions in docs/STATISTICS.md).

All metrics are pure functions of actual ``y`` and predicted ``yhat`` and are returned as
fractions, not percentages (``mape = 0.12`` means 12%), like every other ratio we publish
(``share``, ``r2``). A metric that is undefined for its input (an empty split, a constant
``y``) is NaN rather than a number that looks meaningful.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIT_METRIC_COLUMNS = ["split", "r2", "mape", "smape", "nrmse", "n_weeks"]


def _pair(y: np.ndarray, yhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    yhat = np.asarray(yhat, dtype=float)
    if y.shape != yhat.shape:
        raise ValueError(f"y and yhat differ in shape: {y.shape} vs {yhat.shape}")
    return y, yhat


def r2(y: np.ndarray, yhat: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (NaN when ``y`` is constant)."""
    y, yhat = _pair(y, yhat)
    ss_tot = float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - float(np.sum((y - yhat) ** 2)) / ss_tot


def mape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean absolute percentage error ``mean(|y - yhat| / |y|)`` as a fraction.

    Weeks with ``y == 0`` are left out (the ratio is undefined there); NaN if none remain.
    """
    y, yhat = _pair(y, yhat)
    nonzero = y != 0
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs(y[nonzero] - yhat[nonzero]) / np.abs(y[nonzero])))


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE ``mean(2 |y - yhat| / (|y| + |yhat|))`` as a fraction in [0, 2].

    A week where both are zero is a perfect prediction and counts as 0.
    """
    y, yhat = _pair(y, yhat)
    if not y.size:
        return float("nan")
    denominator = np.abs(y) + np.abs(yhat)
    safe = np.where(denominator > 0, denominator, 1.0)
    return float(np.mean(np.where(denominator > 0, 2.0 * np.abs(y - yhat) / safe, 0.0)))


def nrmse(y: np.ndarray, yhat: np.ndarray) -> float:
    """Range-normalised RMSE: ``RMSE / (max(y) - min(y))``, the normalisation Robyn uses.

    Dividing by the range of the actuals (not their mean) makes the number comparable across
    KPIs of different size; it is NaN when ``y`` is constant (range zero).
    """
    y, yhat = _pair(y, yhat)
    if not y.size:
        return float("nan")
    spread = float(np.max(y) - np.min(y))
    if spread == 0.0:
        return float("nan")
    return float(np.sqrt(np.mean((y - yhat) ** 2))) / spread


def fit_metrics(y: np.ndarray, yhat: np.ndarray, is_train: np.ndarray) -> pd.DataFrame:
    """One row per split (``train``, ``holdout``) with ``FIT_METRIC_COLUMNS``.

    ``is_train`` marks training weeks; every other week is holdout. A split without weeks
    still gets its row, with ``n_weeks = 0`` and NaN metrics, so the table shape is fixed.
    """
    y, yhat = _pair(y, yhat)
    is_train = np.asarray(is_train, dtype=bool)
    if is_train.shape != y.shape:
        raise ValueError(f"is_train has shape {is_train.shape}, expected {y.shape}")
    rows = []
    for split, mask in (("train", is_train), ("holdout", ~is_train)):
        rows.append(
            {
                "split": split,
                "r2": r2(y[mask], yhat[mask]),
                "mape": mape(y[mask], yhat[mask]),
                "smape": smape(y[mask], yhat[mask]),
                "nrmse": nrmse(y[mask], yhat[mask]),
                "n_weeks": int(mask.sum()),
            }
        )
    return pd.DataFrame(rows, columns=FIT_METRIC_COLUMNS)
