"""The calibration benchmark's machinery (bench/calibration.py): real subprocess fits of our
fast models with tiny settings, no pymc-marketing; the Bayesian model and the peer run at
production settings in ``python -m bench calibration``."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.calibration import (
    BIASED,
    COLUMNS,
    STATES,
    inputs,
    peer_lift_rows,
    run_calibration,
    summary,
)
from prism_mmm.calibration import window_weeks

TINY = {"chains": 2, "draws": 30, "tune": 30}
# One ridge penalty and a few bootstrap refits: the machinery, not the intervals, is tested.
FAST = {"ridge": {"n_boot": 5, "cv_splits": 2, "alphas": [1.0]}, "nls": {"n_boot": 5}}


@pytest.mark.slow
def test_plain_and_calibrated_fits_of_ours_give_every_channel_row_and_a_report(tmp_path):
    engines = ("ridge", "nls")
    table = run_calibration(TINY, tmp_path, engines=engines, overrides=FAST,
                            log=lambda *a, **k: None)
    assert list(table.columns) == COLUMNS
    assert (table["status"] == "ok").all()
    _, _, truth, _, _ = inputs()
    for model in engines:
        for state in STATES:
            rows = table[(table.model == model) & (table.state == state)]
            assert sorted(rows.channel) == sorted(truth), (model, state)
            # plain fits are scored against the tests without using them; calibrated use them
            assert rows.lift_calibrated.eq(state == "calibrated").all(), (model, state)
            assert rows.lift_z.notna().all() and (rows.roi_low <= rows.roi).all()
    assert (table.abs_error - (table.roi - table.true_roi).abs()).abs().max() < 1e-12
    summ = summary(table).set_index("model")
    assert list(summ.index) == list(engines) and (summ.channel == BIASED).all()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "calibration_latest.md" in names
    assert any(n.startswith("calibration_") and n.endswith(".csv") for n in names)
    report = (tmp_path / "calibration_latest.md").read_text()
    assert "## Targets" in report and "| ridge | calibrated | search |" in report
    assert pd.read_csv(tmp_path / next(n for n in names if n.endswith(".csv"))).shape[0] == 12


def test_peer_lift_rows_are_per_week_figures_of_the_same_tests():
    _, _, _, data, tests = inputs()
    rows = peer_lift_rows(data, tests).set_index("channel")
    for test in tests:
        weeks = window_weeks(data, test)
        n = int(weeks.sum())
        row = rows.loc[test.channel]
        assert n == 4  # the dataset's tests are 4 Monday-start weeks
        assert row.delta_x == pytest.approx(test.spend_change_total / n)
        assert row.delta_y == pytest.approx(test.lift_total / n)
        assert row.sigma == pytest.approx(test.lift_se_total / n)
        assert row.x == pytest.approx(data.spend[weeks, data.channels.index(test.channel)].mean())
