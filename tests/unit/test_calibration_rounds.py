"""Pairing each model's fit of a lift test with its fit before the test calibrated it."""

from __future__ import annotations

import pandas as pd

from prism_mmm.calibration import BEFORE_COLUMNS, with_before


def _row(round_, model, experiment_id, calibrated, z):
    return {"round": round_, "model": model, "experiment_id": experiment_id, "channel": "search",
            "calibrated": calibrated, "measured_lift": 100.0, "measured_lift_se": 10.0,
            "implied_lift": 100.0 + 10.0 * z, "z_score": z,
            "status": "pass" if abs(z) <= 2 else "fail", "message": ""}


HISTORY = pd.DataFrame([
    _row(1, "ridge", "geo", False, 5.0), _row(1, "bayes", "geo", False, 4.0),
    _row(2, "ridge", "geo", False, 4.5),  # still uncalibrated: round 1 is the first
    _row(3, "ridge", "geo", True, 0.8), _row(3, "bayes", "geo", True, 0.5),
    _row(1, "ridge", "holdout_test", True, 1.0), _row(3, "ridge", "holdout_test", True, 1.1),
    _row(3, "ridge", "checked_only", False, 2.5),
    _row(4, "ridge", "geo", False, 9.0),  # a later round is never "before"
])


def test_a_calibrated_fit_gets_the_first_earlier_uncalibrated_round():
    rows = with_before(HISTORY, 3).set_index(["model", "experiment_id"])
    assert len(rows) == 4 and set(rows["round"]) == {3}
    ridge = rows.loc[("ridge", "geo")]
    assert (ridge["before_round"], ridge["before_z_score"], ridge["before_implied_lift"],
            ridge["before_status"]) == (1, 5.0, 150.0, "fail")
    assert rows.loc[("bayes", "geo"), "before_z_score"] == 4.0
    # Calibrated from the first round it appears in, or never calibrated: nothing before.
    for key in (("ridge", "holdout_test"), ("ridge", "checked_only")):
        assert rows.loc[key, BEFORE_COLUMNS].isna().all(), key


def test_no_rows_or_an_old_table_without_the_calibrated_column():
    assert with_before(HISTORY.iloc[0:0], 1).empty
    assert list(with_before(HISTORY.iloc[0:0], 1).columns)[-4:] == BEFORE_COLUMNS
    old = with_before(HISTORY.drop(columns="calibrated"), 3)
    assert len(old) == 4 and old[BEFORE_COLUMNS].isna().all().all()
