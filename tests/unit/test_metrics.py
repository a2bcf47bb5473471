"""Fit metrics: hand-computed values, edge cases, and properties over random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from prism_mmm.metrics import FIT_METRIC_COLUMNS, fit_metrics, mape, nrmse, r2, smape

Y = np.array([10.0, 20.0, 30.0, 40.0])
YHAT = np.array([12.0, 18.0, 33.0, 40.0])


def test_values_match_hand_computation():
    # errors 2, -2, 3, 0; SS_res = 17; SS_tot = 500; range 30; RMSE = sqrt(17/4)
    assert r2(Y, YHAT) == pytest.approx(1 - 17 / 500)
    assert mape(Y, YHAT) == pytest.approx((2 / 10 + 2 / 20 + 3 / 30 + 0) / 4)
    assert smape(Y, YHAT) == pytest.approx((4 / 22 + 4 / 38 + 6 / 63 + 0) / 4)
    assert nrmse(Y, YHAT) == pytest.approx(math.sqrt(17 / 4) / 30)


def test_perfect_prediction():
    assert r2(Y, Y) == 1.0
    assert mape(Y, Y) == smape(Y, Y) == nrmse(Y, Y) == 0.0


def test_undefined_cases_are_nan_not_numbers():
    constant = np.full(3, 5.0)
    assert math.isnan(r2(constant, constant + 1))
    assert math.isnan(nrmse(constant, constant + 1))
    assert math.isnan(mape(np.zeros(3), np.ones(3)))
    empty = np.array([])
    assert all(math.isnan(f(empty, empty)) for f in (r2, mape, smape, nrmse))


def test_mape_skips_zero_actuals_and_smape_counts_double_zero_as_perfect():
    y, yhat = np.array([0.0, 10.0]), np.array([5.0, 12.0])
    assert mape(y, yhat) == pytest.approx(0.2)
    assert smape(np.array([0.0, 10.0]), np.array([0.0, 10.0])) == 0.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        r2(Y, YHAT[:3])


def test_fit_metrics_one_row_per_split():
    is_train = np.array([True, True, True, False])
    table = fit_metrics(Y, YHAT, is_train)
    assert list(table.columns) == FIT_METRIC_COLUMNS
    assert table["split"].tolist() == ["train", "holdout"]
    assert table["n_weeks"].tolist() == [3, 1]
    train = table.iloc[0]
    assert train["r2"] == pytest.approx(r2(Y[:3], YHAT[:3]))
    assert table.iloc[1]["mape"] == 0.0


def test_fit_metrics_keeps_empty_split_row():
    table = fit_metrics(Y, YHAT, np.ones(4, dtype=bool))
    holdout = table.set_index("split").loc["holdout"]
    assert holdout["n_weeks"] == 0
    assert math.isnan(holdout["r2"])


finite = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(arrays(float, 12, elements=finite), arrays(float, 12, elements=finite))
def test_metric_ranges(y, yhat):
    assert r2(y, yhat) <= 1.0 or math.isnan(r2(y, yhat))
    assert 0.0 <= smape(y, yhat) <= 2.0
    assert mape(y, yhat) >= 0.0
    assert nrmse(y, yhat) >= 0.0 or math.isnan(nrmse(y, yhat))
