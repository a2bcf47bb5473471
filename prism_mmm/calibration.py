"""Experiments (lift tests) against each model: the lift a fitted model implies for a test.

A lift test raised (or cut, for a go-dark test) one channel's spend by ``spend_change_total``
over its window and measured ``lift_total`` incremental KPI with standard error
``lift_se_total`` (the ``knowledge_experiments`` table holds both as totals over the window,
whatever unit they were entered in). A model's implied lift for the same test is what it
predicts with the extra spend spread evenly over the window's weeks minus what it predicts
without it, summed from the window's first week to the end of the data, so the carry-over
after the test counts too. This works through any model's own adstock and saturation
(``MMMEstimator.predict`` on the shifted design), so the three models are judged alike.

Agreement: ``z = (implied - measured) / se``; |z| <= 2 pass, <= 3 warn, else fail.

Calibration: a test with ``calibrate`` set adds the same Gaussian term to every model's
objective, ``((measured - implied) / se)^2``: a likelihood term in the Bayesian model, and a
weighted pseudo-observation in Ridge and NLS, whose least-squares data term is divided by the
residual variance of their uncalibrated fit so that one test weighs as it does in the Bayesian
posterior (``sum(r^2) / sigma^2 + sum(((measured - implied) / se)^2)``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prism_mmm.data import MMMData

PASS_Z, WARN_Z = 2.0, 3.0
LIFT_COLUMNS = ["experiment_id", "channel", "calibrated", "measured_lift", "measured_lift_se",
                "implied_lift", "z_score", "status", "message"]


@dataclass(frozen=True)
class Experiment:
    """One lift test, figures as totals over its window (inclusive dates)."""

    experiment_id: str
    channel: str
    start: pd.Timestamp
    end: pd.Timestamp
    spend_change_total: float
    lift_total: float
    lift_se_total: float
    calibrate: bool = True


def experiments_from_table(frame: pd.DataFrame | None) -> tuple[Experiment, ...]:
    """The ``knowledge_experiments`` rows as :class:`Experiment` (empty for no table)."""
    if frame is None or frame.empty:
        return ()
    return tuple(Experiment(
        experiment_id=str(r.experiment_id), channel=str(r.channel),
        start=pd.Timestamp(r.start_date), end=pd.Timestamp(r.end_date),
        spend_change_total=float(r.spend_change_total), lift_total=float(r.lift_total),
        lift_se_total=float(r.lift_se_total),
        calibrate=bool(r.calibrate) if pd.notna(r.calibrate) else True,
    ) for r in frame.itertuples())


def with_calibration(experiments: tuple[Experiment, ...],
                     also: list[str]) -> tuple[Experiment, ...]:
    """``experiments`` with ``calibrate`` also set for the ids in ``also`` (the
    ``calibration.experiments`` setting); an id that is not among them is an error."""
    unknown = sorted(set(also) - {e.experiment_id for e in experiments})
    if unknown:
        raise ValueError(f"calibration.experiments names lift tests the knowledge layer does not "
                         f"hold: {', '.join(unknown)}")
    return tuple(dataclasses.replace(e, calibrate=True) if e.experiment_id in also else e
                 for e in experiments)


def experiments_to_json(experiments: tuple[Experiment, ...]) -> str:
    return json.dumps([{**dataclasses.asdict(e), "start": e.start.isoformat(),
                        "end": e.end.isoformat()} for e in experiments])


def experiments_from_json(text: str) -> tuple[Experiment, ...]:
    return tuple(Experiment(**{**row, "start": pd.Timestamp(row["start"]),
                               "end": pd.Timestamp(row["end"])}) for row in json.loads(text))


def calibrating(data: MMMData) -> tuple[Experiment, ...]:
    """The lift tests a model calibrates on: ``calibrate`` set, a channel of the data and a
    window inside its weeks (the others are only checked against, in ``experiment_lifts``)."""
    return tuple(e for e in data.experiments if e.calibrate and e.channel in data.channels
                 and window_weeks(data, e).any())


def window_weeks(data: MMMData, experiment: Experiment) -> np.ndarray:
    """Rows of the weeks (Monday-start, 7 days) that overlap the test window."""
    starts = pd.to_datetime(data.week_start_date)
    ends = starts + pd.Timedelta(days=6)
    return np.asarray((ends >= experiment.start) & (starts <= experiment.end))


def shifted_design(data: MMMData, experiment: Experiment) -> MMMData:
    """``data`` with the test's spend change spread evenly over its window's weeks."""
    rows = window_weeks(data, experiment)
    spend = data.spend.copy()
    column = data.channels.index(experiment.channel)
    spend[rows, column] = np.maximum(
        spend[rows, column] + experiment.spend_change_total / rows.sum(), 0.0)
    return dataclasses.replace(data, spend=spend)


def response_start(data: MMMData, experiment: Experiment) -> int:
    """The first row whose response the test changes: its window's first week (adstock is
    causal, so the weeks before add nothing)."""
    return int(np.flatnonzero(window_weeks(data, experiment))[0])


def implied_lift(estimator, data: MMMData, experiment: Experiment) -> float:
    """Incremental KPI the fitted ``estimator`` implies for ``experiment``: from the window's
    first week to the end of the data (the carry-over after the test included)."""
    difference = estimator.predict(shifted_design(data, experiment)) - estimator.predict(data)
    return float(difference[response_start(data, experiment):].sum())


def perturbed_lifts(tests: tuple[Experiment, ...], n_draws: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(n_draws, R) measured lifts redrawn within their standard errors: bootstrap refits of
    a calibrated model resample the experiments as well as the weeks, so its intervals carry
    the tests' own uncertainty."""
    lift = np.array([t.lift_total for t in tests])
    se = np.array([t.lift_se_total for t in tests])
    return lift[None, :] + rng.normal(size=(n_draws, len(tests))) * se[None, :]


def calibration_note(experiment_ids: list[str]) -> str:
    """The diagnostics message's note on the lift tests a fit was calibrated on ('' for none)."""
    if not experiment_ids:
        return ""
    return f"; calibrated on {len(experiment_ids)} lift test(s): {', '.join(experiment_ids)}"


def lift_agreement(estimator, data: MMMData,
                   experiments: tuple[Experiment, ...]) -> pd.DataFrame:
    """One row per experiment (``LIFT_COLUMNS``): whether the fit calibrated on it (those of
    ``data.experiments`` that :func:`calibrating` keeps), measured and implied lift, z and status. A
    test outside the data's weeks or on a channel the model lacks is a 'fail' row that says
    so, never dropped."""
    rows = []
    used = {e.experiment_id for e in calibrating(data)}
    for exp in experiments:
        row = {"experiment_id": exp.experiment_id, "channel": exp.channel,
               "calibrated": exp.experiment_id in used,
               "measured_lift": exp.lift_total, "measured_lift_se": exp.lift_se_total,
               "implied_lift": np.nan, "z_score": np.nan}
        if exp.channel not in data.channels:
            rows.append({**row, "status": "fail", "message": "channel not in the model"})
            continue
        if not window_weeks(data, exp).any():
            rows.append({**row, "status": "fail", "message": (
                f"window {exp.start.date()} to {exp.end.date()} is outside the data's weeks")})
            continue
        implied = implied_lift(estimator, data, exp)
        z = (implied - exp.lift_total) / exp.lift_se_total
        status = "pass" if abs(z) <= PASS_Z else "warn" if abs(z) <= WARN_Z else "fail"
        rows.append({**row, "implied_lift": implied, "z_score": z, "status": status,
                     "message": f"implied {implied:.4g} vs measured {exp.lift_total:.4g} "
                                f"(se {exp.lift_se_total:.4g}): z = {z:.2f}"})
    return pd.DataFrame(rows, columns=LIFT_COLUMNS)


# --- across the rounds of one run ------------------------------------------------------------
# In a loop run the Tuner can add a test the models miss to ``calibration.experiments``, so the
# same test is only checked against in earlier rounds and calibrates the fits from a later
# round on. The report and the app show the two side by side; ``with_before`` pairs them.

BEFORE_COLUMNS = ["before_round", "before_implied_lift", "before_z_score", "before_status"]


def with_before(history: pd.DataFrame, round_: int) -> pd.DataFrame:
    """The rows of ``round_`` in ``history`` (``experiment_lifts`` of one run, any rounds), each
    with its fit before calibration: ``before_round``, ``before_implied_lift``,
    ``before_z_score`` and ``before_status`` of the first earlier round in which the test did
    not calibrate that model's fit.

    They are null when ``round_``'s fit did not use the test (nothing to compare) and when no
    earlier round fitted the model without it (the test calibrated the fits from the first
    round it appears in). A history without the ``calibrated`` column (a warehouse from before
    it existed) has no before either.
    """
    if history.empty:
        return pd.DataFrame(columns=[*history.columns, *BEFORE_COLUMNS])
    now = history[history["round"] == round_].reset_index(drop=True)
    if "calibrated" not in history:
        return now.assign(before_round=float("nan"), before_implied_lift=float("nan"),
                          before_z_score=float("nan"), before_status=None)
    earlier = history[(history["round"] < round_) & ~history["calibrated"].astype(bool)]
    first = (earlier.sort_values("round")
             .drop_duplicates(["model", "experiment_id"])
             [["model", "experiment_id", "round", "implied_lift", "z_score", "status"]]
             .set_axis(["model", "experiment_id", *BEFORE_COLUMNS], axis=1))
    out = now.merge(first, on=["model", "experiment_id"], how="left")
    used = out["calibrated"].astype(bool)
    out.loc[~used, BEFORE_COLUMNS] = None
    return out
