"""The estimator contract, run over every model module in ``prism_mmm.models``.

A new model is picked up by adding its module: each module is imported on its own, so a
broken one fails its own cases and not the others. Models are built cheaply: through a
``for_tests()`` classmethod when the class has one (the Bayesian model should offer tiny
draws there), else through ``from_config`` with small bootstrap settings for the models
whose fits take well under a second. A model with neither is skipped, with the reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import prism_mmm.models
from prism_mmm.config import PrismConfig, deep_merge
from prism_mmm.data import from_frame
from prism_mmm.models.base import (
    CONTRIBUTION_COLUMNS,
    CURVE_COLUMNS,
    MODELS,
    ROI_COLUMNS,
    MMMEstimator,
    NotFittedError,
)

MODEL_MODULES = sorted(
    name for _, name, is_package in pkgutil.iter_modules(prism_mmm.models.__path__)
    if name != "base" and not is_package  # subpackages hold helpers (sampling), not models
)
# Models that are fast enough to build from configuration, with a small bootstrap.
CHEAP_FROM_CONFIG = {"ridge": {"ridge": {"n_boot": 30}}, "nls": {"nls": {"n_boot": 10}}}
CHANNELS = ["tv", "search"]


def _models_of(module_name: str) -> list[type[MMMEstimator]]:
    module = importlib.import_module(f"prism_mmm.models.{module_name}")
    return [cls for cls in MODELS.values() if cls.__module__ == module.__name__]


def _config() -> PrismConfig:
    return PrismConfig.model_validate(
        {"data": {"channels": CHANNELS, "controls": ["promo"]}, "random_seed": 5}
    )


def build(module_name: str) -> list[MMMEstimator]:
    estimators = []
    for cls in _models_of(module_name):
        if hasattr(cls, "for_tests"):
            estimators.append(cls.for_tests())
        elif cls.model_name in CHEAP_FROM_CONFIG:
            overrides = CHEAP_FROM_CONFIG[cls.model_name]
            cfg = PrismConfig.model_validate(deep_merge(_config().model_dump(), overrides))
            estimators.append(cls.from_config(cfg))
        else:
            pytest.skip(f"{cls.__name__}: no for_tests() factory and no cheap configuration")
    if not estimators:
        pytest.skip(f"prism_mmm.models.{module_name} registers no model")
    return estimators


@pytest.fixture(scope="module")
def data():
    """90 weeks, two channels with carry-over and saturation, one promo control."""
    rng = np.random.default_rng(0)
    n = 90
    spend = rng.gamma(2.0, 1.0, size=(n, 2)) * np.array([10.0, 3.0])
    promo = (rng.uniform(size=n) < 0.1).astype(float)
    carried = np.vstack([spend[:1], 0.5 * spend[:-1] + spend[1:]])
    media = 40.0 * carried[:, 0] / (carried[:, 0] + 20.0) + 25.0 * carried[:, 1] / (
        carried[:, 1] + 5.0
    )
    y = 100.0 + 10.0 * np.sin(np.arange(n) / 8.0) + media + 15.0 * promo + rng.normal(0, 3, n)
    frame = pd.DataFrame(
        {
            "week": pd.date_range("2021-01-04", periods=n, freq="W-MON"),
            "tv": spend[:, 0],
            "search": spend[:, 1],
            "promo": promo,
            "y": y,
        }
    )
    return from_frame(frame, date_column="week", kpi="y", channels=CHANNELS, controls=["promo"])


@pytest.fixture(scope="module", params=MODEL_MODULES)
def fitted_pair(request, data):
    """(unfitted estimator, fitted estimator) per model in the module."""
    return [(estimator, clone(estimator).fit(data)) for estimator in build(request.param)]


def test_result_methods_raise_before_fit(fitted_pair):
    for estimator, _ in fitted_pair:
        for call in (
            estimator.predict,
            estimator.contributions,
            estimator.roi,
            estimator.response_surface,
            estimator.diagnostics,
            partial(estimator.response_curve, CHANNELS[0], np.array([0.0, 1.0])),
        ):
            with pytest.raises(NotFittedError):
                call()


def test_init_only_stores_parameters(fitted_pair):
    for estimator, _ in fitted_pair:
        params = estimator.get_params()
        assert clone(estimator).get_params() == params
        assert not any(name.endswith("_") for name in vars(estimator))


def test_default_params_are_the_signature_defaults(fitted_pair):
    """``__init__`` resolves nothing: what ``get_params`` reports for a default instance is
    exactly what the signature says, so ``set_params`` and the constructor agree."""
    for estimator, _ in fitted_pair:
        cls = type(estimator)
        signature = inspect.signature(cls.__init__).parameters
        defaults = {name: p.default for name, p in signature.items() if name != "self"}
        assert cls().get_params() == defaults


def test_save_and_load_round_trip(fitted_pair, tmp_path):
    """A saved model loads completely from its directory alone: parameters, data, state."""
    for _, model in fitted_pair:
        target = model.save(tmp_path / model.model_name)
        loaded = MMMEstimator.load(target)
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        np.testing.assert_allclose(loaded.predict(), model.predict())
        pd.testing.assert_frame_equal(loaded.roi(), model.roi())
        pd.testing.assert_frame_equal(loaded.contributions(), model.contributions())
        np.testing.assert_allclose(loaded.response_surface().coef, model.response_surface().coef)
        assert loaded.diagnostics()["status"] == model.diagnostics()["status"]


def test_fit_returns_self(fitted_pair, data):
    for estimator, _ in fitted_pair:
        fresh = clone(estimator)
        assert fresh.fit(data) is fresh


def test_result_frames_have_the_documented_columns(fitted_pair, data):
    for _, model in fitted_pair:
        assert model.predict().shape == (data.n_weeks,)
        contributions = model.contributions()
        assert list(contributions.columns) == CONTRIBUTION_COLUMNS
        assert set(contributions["component"]) == {"baseline", *CHANNELS, "promo"}
        roi = model.roi()
        assert list(roi.columns) == ROI_COLUMNS
        assert roi["channel"].tolist() == CHANNELS
        curve = model.response_curve(CHANNELS[0], np.linspace(0.0, 40.0, 9))
        assert list(curve.columns) == CURVE_COLUMNS and len(curve) == 9
        diagnostics = model.diagnostics()
        assert diagnostics["status"] in {"ok", "warning", "failed"}
        assert isinstance(diagnostics["message"], str) and diagnostics["message"]


def test_intervals_contain_the_point(fitted_pair):
    for _, model in fitted_pair:
        roi = model.roi()
        assert (roi["roi_low"] <= roi["roi"]).all() and (roi["roi"] <= roi["roi_high"]).all()
        contributions = model.contributions()
        assert (contributions["low"] <= contributions["value"] + 1e-9).all()
        assert (contributions["value"] <= contributions["high"] + 1e-9).all()


def test_contributions_sum_to_prediction(fitted_pair):
    for _, model in fitted_pair:
        weekly = model.contributions().groupby("week_start_date", sort=True)["value"].sum()
        np.testing.assert_allclose(weekly.to_numpy(), model.predict(), rtol=1e-9, atol=1e-6)


def test_roi_is_contribution_over_spend(fitted_pair, data):
    for _, model in fitted_pair:
        roi = model.roi().set_index("channel")
        contributions = model.contributions().groupby("component")["value"].sum()
        for c, channel in enumerate(CHANNELS):
            assert roi.loc[channel, "spend"] == pytest.approx(data.spend[:, c].sum())
            assert roi.loc[channel, "contribution"] == pytest.approx(contributions[channel])
            assert roi.loc[channel, "share"] == pytest.approx(contributions[channel] / data.y.sum())


def test_same_random_state_gives_identical_numbers(fitted_pair, data):
    for estimator, model in fitted_pair:
        again = clone(estimator).fit(data)
        pd.testing.assert_frame_equal(again.roi(), model.roi())
        np.testing.assert_array_equal(again.predict(), model.predict())
        np.testing.assert_array_equal(again.response_surface().coef, model.response_surface().coef)
