"""Rolling-origin cross-validation: how well a model forecasts weeks it has not seen, measured
on the training weeks only, so that choosing a model never looks at the final holdout.

With ``origins`` = 3 and ``window_weeks`` = 26 the last 26 training weeks are cut into three
consecutive blocks; for each block the model is refitted on every training week before it and
forecasts the block. The score is the mean sMAPE over the blocks (lower is better).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd

from prism_mmm.data import MMMData
from prism_mmm.metrics import smape

CV_COLUMNS = ["origin", "fit_weeks", "test_weeks", "smape"]


def origin_blocks(
    is_train: np.ndarray, origins: int, window_weeks: int
) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of the blocks forecast from each origin: the last
    ``window_weeks`` training weeks cut into ``origins`` consecutive blocks."""
    train_rows = np.flatnonzero(is_train)
    if len(train_rows) == 0 or origins < 1:
        return []
    end = int(train_rows[-1]) + 1
    window = min(window_weeks, len(train_rows) // 2)
    edges = np.linspace(end - window, end, origins + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]


def rolling_origin_cv(
    fit: Callable[[MMMData], object],
    data: MMMData,
    origins: int = 3,
    window_weeks: int = 26,
) -> pd.DataFrame:
    """One row per origin (``CV_COLUMNS``). ``fit(data)`` returns a fitted estimator whose
    ``predict()`` covers every week of ``data``; each refit sees only the weeks before its
    block (the block and everything after it are held out)."""
    rows = []
    for start, stop in origin_blocks(data.is_train, origins, window_weeks):
        before = data.is_train & (np.arange(data.n_weeks) < start)
        model = fit(dataclasses.replace(data, is_train=before))
        predicted = model.predict()[start:stop]
        actual = data.y[start:stop]
        kept = ~data.is_excluded[start:stop]
        rows.append({"origin": str(pd.Timestamp(data.week_start_date[start]).date()),
                     "fit_weeks": int((before & ~data.is_excluded).sum()),
                     "test_weeks": int(kept.sum()),
                     "smape": float(smape(actual[kept], predicted[kept]))})
    return pd.DataFrame(rows, columns=CV_COLUMNS)
