"""Rolling-origin CV: blocks cover the last training weeks and no refit sees its block."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from prism_mmm.data import from_frame
from prism_mmm.validation import origin_blocks, rolling_origin_cv


def test_blocks_cut_the_last_training_weeks():
    is_train = np.arange(120) < 107
    assert origin_blocks(is_train, 3, 26) == [(81, 90), (90, 98), (98, 107)]
    assert origin_blocks(is_train, 0, 26) == []
    # Short data: the window shrinks to half of the training weeks.
    assert origin_blocks(np.arange(20) < 20, 2, 26) == [(10, 15), (15, 20)]


class Recorder:
    """A stand-in estimator that predicts the mean of the KPI it was fitted on and records
    which weeks it saw."""

    seen: ClassVar[list[np.ndarray]] = []

    def fit(self, data):
        Recorder.seen.append(data.fit_mask.copy())
        self.level_, self.n_ = data.y[data.fit_mask].mean(), data.n_weeks
        return self

    def predict(self):
        return np.full(self.n_, self.level_)


def test_no_refit_sees_the_block_it_forecasts():
    weeks = pd.date_range("2022-01-03", periods=60, freq="W-MON")
    frame = pd.DataFrame({"week": weeks, "y": np.arange(60.0) + 100, "tv": 1.0})
    data = from_frame(frame, date_column="week", kpi="y", channels=["tv"], holdout_weeks=13)
    Recorder.seen.clear()
    scores = rolling_origin_cv(lambda d: Recorder().fit(d), data, origins=3, window_weeks=12)
    assert list(scores["test_weeks"]) == [4, 4, 4]
    for (start, _), seen in zip(origin_blocks(data.is_train, 3, 12), Recorder.seen, strict=True):
        assert not seen[start:].any() and seen[:start].all()
    # A rising KPI forecast by the past mean: the error is positive and shrinks with more data.
    assert (scores["smape"] > 0).all() and scores["fit_weeks"].is_monotonic_increasing
