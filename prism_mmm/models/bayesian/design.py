"""The scaled design of the Bayesian MMM: what the graph and the NumPy summaries compute on.

Every week of the data is in the design; the fit weeks are a 0/1 weight on the likelihood
(``obs_weight``). So the holdout, a rolling-origin CV origin or a refit with new data of the
same length change values only, never the compiled graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prism_mmm.calibration import calibrating, shifted_design
from prism_mmm.config import BayesModelConfig
from prism_mmm.data import MMMData, is_binary
from prism_mmm.transforms import MediaTransform, lag_stack

TREND = "trend"


@dataclass(frozen=True)
class Scales:
    """The scales that make priors mean the same thing for every dataset.

    y: mean KPI over fit weeks; y_sd: standard deviation of KPI / y over fit weeks; spend:
    each channel's largest fit-week spend (its largest week overall if it never spent in the
    fit weeks, else 1); controls: standard deviation over fit weeks of a continuous control,
    1 for a 0/1 event."""

    y: float
    y_sd: float
    spend: np.ndarray
    controls: np.ndarray
    binary_controls: np.ndarray

    @classmethod
    def of(cls, data: MMMData) -> Scales:
        fit = data.fit_mask
        if not fit.any():
            raise ValueError("no fit weeks: every week is held out or excluded")
        y = float(np.mean(data.y[fit]))
        if y <= 0:
            raise ValueError("the KPI's mean over fit weeks must be positive")
        # A floor keeps the priors proper for a (nearly) constant KPI.
        y_sd = max(float(np.std(data.y[fit]) / y), 1e-3)
        fit_max = data.spend[fit].max(axis=0) if data.spend.size else np.zeros(0)
        all_max = data.spend.max(axis=0) if data.spend.size else np.zeros(0)
        spend = np.where(fit_max > 0, fit_max, np.where(all_max > 0, all_max, 1.0))
        binary = np.array([is_binary(data.controls[:, k]) for k in range(data.controls.shape[1])],
                          dtype=bool)
        sd = data.controls[fit].std(axis=0) if data.controls.shape[1] else np.zeros(0)
        controls = np.where(binary | (sd <= 0), 1.0, sd)
        return cls(y=y, y_sd=y_sd, spend=spend, controls=controls, binary_controls=binary)


def media_transform(model_config: BayesModelConfig) -> MediaTransform:
    return MediaTransform(model_config.adstock, model_config.saturation, model_config.max_lag)


def baseline_design(data: MMMData, model_config: BayesModelConfig) -> tuple[list[str], np.ndarray]:
    """Names and (T, B) columns of the baseline: the data's Fourier terms and the trend as
    configured. ``linear``: the data's trend (0 at the first week, 1 at the last);
    ``piecewise``: plus a hinge ``max(0, trend - k / (K + 1))`` at each of K changepoints,
    whose coefficient is the change of slope there; ``none``: no trend."""
    names = [n for n in data.baseline_names if n != TREND]
    columns = [data.baseline[:, data.baseline_names.index(n)] for n in names]
    if model_config.trend != "none" and TREND in data.baseline_names:
        trend = data.baseline[:, data.baseline_names.index(TREND)]
        names.insert(0, TREND)
        columns.insert(0, trend)
        if model_config.trend == "piecewise":
            for k in range(1, model_config.changepoints + 1):
                names.append(f"trend_change_{k}")
                columns.append(np.maximum(0.0, trend - k / (model_config.changepoints + 1)))
    matrix = np.column_stack(columns) if columns else np.zeros((data.n_weeks, 0))
    return names, matrix


def design(data: MMMData, scales: Scales, model_config: BayesModelConfig) -> dict[str, np.ndarray]:
    """Scaled arrays for every week of ``data`` (fit-time scales), and the fit weights."""
    return {
        "spend_lags": lag_stack(data.spend / scales.spend, model_config.max_lag),
        "baseline_x": baseline_design(data, model_config)[1],
        "controls_x": data.controls / scales.controls,
        "obs_weight": data.fit_mask.astype(float),
    }


def lift_test_design(data: MMMData, scales: Scales,
                     model_config: BayesModelConfig) -> dict[str, np.ndarray]:
    """For each calibrating lift test (fit time only): its shifted spend, and its measured
    lift and error, scaled like y; empty without one."""
    tests = calibrating(data)
    if not tests:
        return {}
    return {
        "lift_test_spend_lags": np.stack([
            lag_stack(shifted_design(data, t).spend / scales.spend, model_config.max_lag)
            for t in tests]),
        "lift_test_lift": np.array([t.lift_total for t in tests]) / scales.y,
        "lift_test_se": np.array([t.lift_se_total for t in tests]) / scales.y,
    }
