"""The modelling input as arrays: built once from the ``mmm_input`` mart, shared by all models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from prism_mmm.config import PrismConfig

if TYPE_CHECKING:
    from prism_mmm.calibration import Experiment

SPEND_PREFIX = "spend_"
CONTROL_PREFIX = "ctrl_"
EVENT_PREFIX = "event_"
SEASON_PREFIXES = ("season_sin_", "season_cos_")


@dataclass(frozen=True)
class MMMData:
    """Weekly design for one series. Row order is time order.

    spend      (T, C) spend in currency units, columns = ``channels``
    controls   (T, K) user controls, then 0/1 event dummies (``event_<id>``; ``control_names``); a
               continuous control is centred on its mean over the fit weeks
               (:func:`center_controls`), a 0/1 event is kept as it is
    baseline   (T, B) trend and Fourier seasonality terms (``baseline_names``)
    y          (T,)   KPI
    is_train   (T,)   True for training weeks (False = holdout)
    is_excluded(T,)   True for weeks a known issue says to exclude from fitting
    experiments       lift tests (:class:`prism_mmm.calibration.Experiment`) a model may use
                      to calibrate itself; every model is checked against them afterwards
    """

    week_start_date: np.ndarray
    channels: list[str]
    spend: np.ndarray
    control_names: list[str]
    controls: np.ndarray
    baseline_names: list[str]
    baseline: np.ndarray
    y: np.ndarray
    is_train: np.ndarray
    is_excluded: np.ndarray
    experiments: tuple[Experiment, ...] = ()

    @property
    def fit_mask(self) -> np.ndarray:
        return self.is_train & ~self.is_excluded

    @property
    def n_weeks(self) -> int:
        return len(self.y)

    def with_y(self, y: np.ndarray) -> MMMData:
        """Same design, new KPI (bootstrap and simulation use this)."""
        return MMMData(**{**self.__dict__, "y": np.asarray(y, dtype=float)})


def is_binary(column: np.ndarray) -> bool:
    """A 0/1 indicator (an event, a promotion week), as opposed to a level (price, weather)."""
    return bool(np.isin(column, (0.0, 1.0)).all())


def center_controls(controls: np.ndarray, fit_mask: np.ndarray) -> np.ndarray:
    """Continuous controls minus their mean over the fit weeks; 0/1 events unchanged.

    A control's contribution is then measured against its average (price against the
    average price), the same in every model, and the baseline holds the KPI at average
    conditions -- so the baseline and its prior do not depend on a control's level or units.
    An event's contribution stays the effect of the event against its absence."""
    out = np.array(controls, dtype=float, copy=True)
    for k in range(out.shape[1]):
        if not is_binary(out[:, k]) and fit_mask.any():
            out[:, k] -= out[fit_mask, k].mean()
    return out


def from_mmm_input(mmm_input: pd.DataFrame, cfg: PrismConfig) -> MMMData:
    """Build :class:`MMMData` from the ``mmm_input`` mart (one row per week)."""
    frame = mmm_input.sort_values("week_start_date").reset_index(drop=True)
    missing = [f"{SPEND_PREFIX}{c}" for c in cfg.channels if f"{SPEND_PREFIX}{c}" not in frame]
    if missing:
        raise ValueError(f"mmm_input lacks configured spend columns: {missing}")
    spend = frame[[f"{SPEND_PREFIX}{c}" for c in cfg.channels]].to_numpy(dtype=float)

    excluded = (
        frame["known_issue_action"].eq("exclude").to_numpy()
        if "known_issue_action" in frame
        else np.zeros(len(frame), dtype=bool)
    )
    is_train = frame["split"].eq("train").to_numpy()
    # Events (calendar, campaigns, flagged known issues) are 0/1 controls, so a demand peak
    # or a one-off spike is absorbed by its dummy instead of being attributed to media. An
    # event that never occurs in the fit weeks cannot be learned and is left out.
    events = [c for c in frame.columns if c.startswith(EVENT_PREFIX)
              and frame.loc[is_train & ~excluded, c].abs().sum() > 0]
    control_cols = [f"{CONTROL_PREFIX}{c}" for c in cfg.controls] + events
    controls = (frame[control_cols].to_numpy(dtype=float) if control_cols
                else np.zeros((len(frame), 0)))
    control_names = list(cfg.controls) + events

    baseline_cols = ["trend"] + [
        c for c in frame.columns if c.startswith(SEASON_PREFIXES)
    ]
    baseline_cols = [c for c in baseline_cols if c in frame]
    return MMMData(
        week_start_date=pd.to_datetime(frame["week_start_date"]).to_numpy(),
        channels=list(cfg.channels),
        spend=spend,
        control_names=control_names,
        controls=center_controls(controls, is_train & ~excluded),
        baseline_names=baseline_cols,
        baseline=frame[baseline_cols].to_numpy(dtype=float),
        y=frame["kpi"].to_numpy(dtype=float),
        is_train=is_train,
        is_excluded=excluded,
    )


def seasonality_features(weeks: pd.Series, fourier_order: int) -> pd.DataFrame:
    """Trend in [0, 1] and yearly Fourier pairs; mirrors ``int_weekly_features_added.sql``
    (a test checks the two agree on the bundled data)."""
    weeks = pd.to_datetime(pd.Series(weeks)).reset_index(drop=True)
    n = len(weeks)
    features = {"trend": np.arange(n) / max(n - 1, 1)}
    day_of_year = weeks.dt.day_of_year.to_numpy(dtype=float)
    for k in range(1, fourier_order + 1):
        angle = 2 * np.pi * k * day_of_year / 365.25
        features[f"season_sin_{k}"] = np.sin(angle)
        features[f"season_cos_{k}"] = np.cos(angle)
    return pd.DataFrame(features)


def from_frame(
    frame: pd.DataFrame,
    *,
    date_column: str,
    kpi: str,
    channels: list[str],
    controls: list[str] = (),
    holdout_weeks: int = 13,
    fourier_order: int = 2,
) -> MMMData:
    """Build :class:`MMMData` straight from a clean weekly frame (tests, known-truth data)."""
    frame = frame.sort_values(date_column).reset_index(drop=True)
    features = seasonality_features(frame[date_column], fourier_order)
    n = len(frame)
    is_train = np.arange(n) < n - holdout_weeks
    return MMMData(
        week_start_date=pd.to_datetime(frame[date_column]).to_numpy(),
        channels=list(channels),
        spend=frame[list(channels)].to_numpy(dtype=float),
        control_names=list(controls),
        controls=center_controls(frame[list(controls)].to_numpy(dtype=float), is_train)
        if controls else np.zeros((n, 0)),
        baseline_names=list(features.columns),
        baseline=features.to_numpy(dtype=float),
        y=frame[kpi].to_numpy(dtype=float),
        is_train=is_train,
        is_excluded=np.zeros(n, dtype=bool),
    )
