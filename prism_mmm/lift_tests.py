"""Lift tests across the rounds of one run: each model's fit before and after a test calibrated it.

``experiment_lifts`` holds, per (run_id, round), every model against every lift test and
whether that fit used the test (``calibrated``). In a loop run the Tuner can add a test the
models miss to ``calibration.experiments``, so the same test is only checked against in the
earlier rounds and calibrates the fits from a later round on. The report and the app show the
two side by side; this module pairs them, once for both.
"""

from __future__ import annotations

import pandas as pd

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
