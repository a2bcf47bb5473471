"""NlsMMM: analytic Jacobian, parameter recovery, diagnostics and known-truth recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prism_mmm.config import DEFAULT_CHANNELS, PrismConfig
from prism_mmm.data import from_frame
from prism_mmm.models.nls import LinearPart, NlsMMM
from prism_mmm.transforms import MediaTransform, hill

MEDIA = MediaTransform("geometric", "hill", max_lag=8)


def with_gradients(spend, theta, max_lag):
    """Features and gradients for (C, 3) ``theta`` = (decay, half_sat, shape) per channel."""
    media = MediaTransform("geometric", "hill", max_lag=max_lag)
    return media.with_gradients(spend, **dict(zip(media.params, theta.T)))

ROOT = Path(__file__).resolve().parents[2]
KNOWN_TRUTH = ROOT / "data" / "known_truth"


@pytest.fixture(scope="module")
def example_fit():
    frame = pd.read_csv(KNOWN_TRUTH / "pymc_marketing_mmm_example.csv")
    data = from_frame(
        frame,
        date_column="date_week",
        kpi="y",
        channels=["x1", "x2"],
        controls=["event_1", "event_2"],
    )
    return NlsMMM().fit(data)


@pytest.fixture(scope="module")
def apparel_data():
    """The bundled seed as production sees it, with the known promo week 2022-05-30 as an
    event dummy."""
    frame = pd.read_csv(ROOT / "seeds" / "conjura_apparel_weekly.csv")
    promo = "event_promo_2022_05_30"
    frame[promo] = (pd.to_datetime(frame["date"]) == "2022-05-30").astype(float)
    return from_frame(
        frame, date_column="date", kpi="revenue", channels=DEFAULT_CHANNELS, controls=[promo]
    )


def baseline_component(model) -> pd.DataFrame:
    contributions = model.contributions()
    return contributions[contributions["component"] == "baseline"].reset_index(drop=True)


@pytest.fixture(scope="module")
def synthetic():
    """Noise-free data from the model itself: NLS must find its parameters again."""
    rng = np.random.default_rng(3)
    n = 120
    weeks = pd.date_range("2020-01-06", periods=n, freq="W-MON")
    spend = rng.uniform(0.0, 1.0, size=(n, 2)) * np.array([100.0, 50.0])
    scale = spend[:-13].max(axis=0)
    features = MEDIA.features(spend, scale, decay=np.array([0.6, 0.2]),
                              half_sat=np.array([0.4, 0.7]), shape=np.array([1.5, 1.0]))
    y = 500.0 + 50.0 * np.arange(n) / (n - 1) + features @ np.array([300.0, 120.0])
    frame = pd.DataFrame({"date": weeks, "a": spend[:, 0], "b": spend[:, 1], "y": y})
    return from_frame(frame, date_column="date", kpi="y", channels=["a", "b"], fourier_order=0)


def test_analytic_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    spend = rng.uniform(0.0, 1.0, size=(40, 2))
    spend[:5, 1] = 0.0  # zero-spend weeks exercise the a = 0 branch
    theta = np.array([[0.4, 0.5, 1.3], [0.7, 0.3, 0.8]])
    _, gradients = with_gradients(spend, theta, 8)
    step = 1e-6
    for c in range(2):
        for j in range(3):
            up, down = theta.copy(), theta.copy()
            up[c, j] += step
            down[c, j] -= step
            numeric = (
                with_gradients(spend, up, 8)[0][:, c]
                - with_gradients(spend, down, 8)[0][:, c]
            ) / (2 * step)
            np.testing.assert_allclose(gradients[:, c, j], numeric, rtol=1e-4, atol=1e-7)


def test_features_match_the_shared_transforms():
    """The media block is the transform classes composed: adstock weights, then Hill,
    written out here from their definitions (x^k / (x^k + K^k))."""
    spend = np.random.default_rng(1).uniform(0.0, 2.0, size=(30, 2))
    theta = np.array([[0.3, 0.6, 2.0], [0.0, 1.2, 0.7]])
    features, _ = with_gradients(spend, theta, 6)
    expected = np.empty_like(spend)
    for c, (decay, half_sat, shape) in enumerate(theta):
        weights = decay ** np.arange(6) / (decay ** np.arange(6)).sum()
        adstocked = np.convolve(spend[:, c], weights)[: len(spend)]
        expected[:, c] = adstocked**shape / (adstocked**shape + half_sat**shape)
        np.testing.assert_allclose(hill(adstocked, half_sat, shape), expected[:, c], atol=1e-12)
    np.testing.assert_allclose(features, expected, atol=1e-12)


def test_constrained_linear_part_and_its_derivative():
    """LinearPart: the least-squares fit without a floor; with one, a non-negative baseline
    and a derivative d(fitted)/d(target) equal to the projection onto the active face (what the
    NLS Jacobian uses)."""
    rng = np.random.default_rng(5)
    n = 60
    trend = np.linspace(0.0, 1.0, n)
    z = np.column_stack([np.ones(n), rng.uniform(size=n), trend])  # intercept, control, trend
    floor = z.copy()
    floor[:, 1] = 0.0  # baseline = intercept + trend, the control is left out
    target = 5.0 * z[:, 1] - 3.0 * trend + rng.normal(0, 0.1, n)  # wants a negative baseline
    gamma, fitted, active = LinearPart(z, None).fit(target)
    np.testing.assert_allclose(gamma, np.linalg.lstsq(z, target, rcond=None)[0], atol=1e-10)
    assert not active.any() and (floor @ gamma).min() < 0

    part = LinearPart(z, floor)
    gamma, fitted, active = part.fit(target)
    np.testing.assert_allclose(fitted, z @ gamma, atol=1e-10)
    assert (floor @ gamma).min() >= -1e-10 and active.any()
    face = part.face_basis(active)
    numeric = np.empty((n, n))
    for i in range(n):
        step = np.zeros(n)
        step[i] = 1e-6
        numeric[:, i] = (part.fit(target + step)[1] - part.fit(target - step)[1]) / 2e-6
    np.testing.assert_allclose(numeric, face @ face.T, atol=1e-6)
    # Several right-hand sides at once (bootstrap refits) give the same answers.
    both = part.fit(np.column_stack([target, 2.0 * target]))[0]
    np.testing.assert_allclose(both, np.column_stack([gamma, 2.0 * gamma]), atol=1e-9)


def test_recovers_parameters_of_noise_free_data(synthetic):
    model = NlsMMM(n_boot=5).fit(synthetic)
    np.testing.assert_allclose(model.params_["decay"], [0.6, 0.2], atol=0.02)
    np.testing.assert_allclose(model.params_["half_sat"], [0.4, 0.7], rtol=0.05)
    np.testing.assert_allclose(model.params_["shape"], [1.5, 1.0], rtol=0.05)
    np.testing.assert_allclose(model.predict(), synthetic.y, rtol=1e-4)
    assert model.diagnostics()["status"] == "ok"


def test_holdout_kpi_does_not_change_the_fit(synthetic):
    y = synthetic.y.copy()
    y[~synthetic.is_train] += 1000.0
    a = NlsMMM(n_boot=3, n_starts=1).fit(synthetic)
    b = NlsMMM(n_boot=3, n_starts=1).fit(synthetic.with_y(y))
    np.testing.assert_allclose(a.coef_, b.coef_)


def test_from_config_reads_nls_settings():
    cfg = PrismConfig.model_validate(
        {
            "nls": {"n_starts": 2, "n_boot": 7, "block_weeks": 4},
            "transforms": {"max_lag": 6},
            "random_seed": 11,
        }
    )
    model = NlsMMM.from_config(cfg)
    assert (model.n_starts, model.n_boot, model.block_weeks, model.max_lag, model.random_state) == (
        2,
        7,
        4,
        6,
        11,
    )


def test_diagnostics_report_learned_parameters_and_bounds(example_fit):
    diagnostics = example_fit.diagnostics()
    parameters = diagnostics["parameters"]
    assert set(parameters["parameter"]) == {"decay", "half_sat", "shape", "coef"}
    assert (parameters["hdi_low"] <= parameters["hdi_high"]).all()
    assert len(diagnostics["start_costs"]) == example_fit.n_starts
    assert diagnostics["status"] in {"ok", "warning"}


def test_recovers_known_truth_on_pymc_marketing_example(example_fit):
    """True ROAS x1 4,968 / x2 2,275, shares 29.1% / 7.0% (data/SOURCES.md).

    Measured: x1 ROI 3,685 (-26%), share 21.5%; x2 ROI 2,426 (+7%), share 7.4%. x1 is never
    near zero spend in this data (U(0,1) halved), so its effect at low spend trades off
    against the intercept; unpenalised NLS lands on the low side (learned decay 0.39, true
    0.4). Inside the 30% bar, close to its edge; the 90% bootstrap interval for x1
    (about 3,200-4,850) does not quite reach the truth.
    """
    roi = example_fit.roi().set_index("channel")
    truth = {"x1": (4968.0, 0.291), "x2": (2275.0, 0.070)}
    for channel, (true_roi, true_share) in truth.items():
        assert roi.loc[channel, "roi"] == pytest.approx(true_roi, rel=0.30)
        assert roi.loc[channel, "share"] == pytest.approx(true_share, rel=0.30)
    # The true baseline is positive: the non-negativity constraint does not bind here.
    assert example_fit.diagnostics()["baseline_floor_weeks"] == 0


@pytest.mark.slow
def test_roas_data_with_unobserved_confounder():
    """mmm_roas_data: true ROAS x1 93.39, x2 171.41; z (unobserved) drives x1 and y.

    Measured without the prior penalty: x1 ROI 100 (+8%), x2 ROI 219 (+28%), both half_sat at
    the upper bound 5 (a nearly linear response), so diagnostics warn. With it (the default):
    x1 96 (+3%), x2 152 (-11%), no parameter on a bound, and the Hill parameters reported as
    weakly identified (held by their priors). Unlike Ridge (x1 2.5x the truth), NLS happens to
    land near the true x1 here. That is not a defence against confounding — no model here
    sees z — so we only assert what holds with margin: x1 is not below the truth by more than
    30% (the confounder can only add), x2 within 30%, and what the diagnostics say.
    """
    frame = pd.read_csv(KNOWN_TRUTH / "pymc_marketing_mmm_roas_data.csv")
    data = from_frame(frame, date_column="date", kpi="y", channels=["x1", "x2"])
    for model in (NlsMMM(regularize=False).fit(data), NlsMMM().fit(data)):
        roi = model.roi().set_index("channel")["roi"]
        assert roi["x1"] > 0.7 * 93.39
        assert roi["x2"] == pytest.approx(171.41, rel=0.30)
    unpenalised, penalised = (m.diagnostics() for m in (NlsMMM(regularize=False).fit(data),
                                                        model))
    assert unpenalised["status"] == "warning"
    assert "half_sat" in unpenalised["message"]
    assert penalised["at_bound"] == []
    assert {"x1.half_sat", "x2.half_sat"} <= set(penalised["weakly_identified"])


def test_bundled_data_fits_with_non_zero_roi(apparel_data):
    """Measured on the seed with the promo dummy: media 62.9% of revenue (154% without the
    baseline constraint); ROI meta_facebook 1.32, meta_instagram 4.52, google_video 28.2,
    google_shopping 24.6, meta_other 281; train/holdout R2 0.86/0.08, MAPE 20%/33%; the
    baseline sits at 0 in one (holdout) week."""
    model = NlsMMM.from_config(PrismConfig()).fit(apparel_data)
    assert (model.roi()["roi"] > 0).any()
    # 8 channels x 3 learned transforms on 119 weeks is poorly identified here: several
    # parameters sit on bounds, so the status must say "warning" rather than "ok".
    diagnostics = model.diagnostics()
    assert diagnostics["status"] == "warning"
    assert "parameters at bounds" in diagnostics["message"]
    # The baseline is >= 0 in every fit week, in the point fit and every bootstrap refit.
    baseline = baseline_component(model)
    fit = apparel_data.fit_mask
    tolerance = 1e-9 * apparel_data.y.mean()
    assert baseline.loc[fit, "value"].min() >= -tolerance
    assert baseline.loc[fit, "low"].min() >= -tolerance
    assert 0.0 < model.roi()["share"].sum() <= 1.0


def test_unconstrained_baseline_lets_media_exceed_the_kpi(apparel_data):
    """A quick fit with and without the constraint (measured 154% -> 63% of revenue), without
    the prior penalty; with it (the default) the unconstrained fit stays at 66%."""
    quick = {"n_starts": 1, "n_boot": 5, "regularize": False}
    free = NlsMMM(nonneg_baseline=False, **quick).fit(apparel_data)
    assert free.roi()["share"].sum() > 1.0
    assert "more than all of it" in free.diagnostics()["message"]
    floored = NlsMMM(**quick).fit(apparel_data)
    assert floored.roi()["share"].sum() <= 1.0
    assert baseline_component(floored)["value"].min() >= -1e-9 * apparel_data.y.mean()


def test_prior_penalty_is_the_priors_own_negative_log_density():
    """r^2 / 2 is the prior's negative log density above its mode (Beta and Gamma exactly,
    LogNormal on the log scale), and the slope is r's derivative: the penalised fit is a MAP
    estimate under the Bayesian model's priors. A Beta(2, 2) decay has no mass at 0, so the
    penalty grows without bound there; the moments' Gaussian would charge about 2 sd."""
    from scipy import stats

    from prism_mmm.models.nls import PriorPenalty

    penalty = PriorPenalty([("beta", {"alpha": 2.0, "beta": 2.0}),
                            ("gamma", {"alpha": 3.0625, "beta": 4.375}),
                            ("lognormal", {"mu": np.log(0.4), "sigma": 0.5})], n_channels=1)
    theta = np.array([[0.2, 1.3, 0.9]])
    r = penalty.residuals(theta)[0]
    densities = (stats.beta(2, 2), stats.gamma(3.0625, scale=1 / 4.375))
    for j, (dist, mode) in enumerate(zip(densities, (0.5, 2.0625 / 4.375))):
        assert r[j] ** 2 / 2 == pytest.approx(dist.logpdf(mode) - dist.logpdf(theta[0, j]))
    assert r[0] < 0 < r[1]  # below / above the mode
    assert r[2] == pytest.approx((np.log(0.9) - np.log(0.4)) / 0.5)
    step = 1e-6
    numeric = (penalty.residuals(theta + step) - penalty.residuals(theta - step)) / (2 * step)
    np.testing.assert_allclose(penalty.slopes(theta), numeric, rtol=1e-5)
    at_mode = np.array([[0.5, 2.0625 / 4.375, 0.4]])
    assert np.all(np.isfinite(penalty.slopes(at_mode)))
    assert abs(penalty.residuals(np.array([[1e-9, 1.0, 1.0]]))[0, 0]) > 5
