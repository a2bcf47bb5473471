"""BayesMMM: real PyMC sampling (small draws by default; full runs are marked slow).

The fast set fits one structure (the pymc-marketing known-truth example: 2 channels, 2
controls) so the compiled model is built once and every further fit is a warm refit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prism_mmm.config import (
    DEFAULT_CHANNELS,
    BayesModelConfig,
    BayesSamplingConfig,
    PrismConfig,
)
from prism_mmm.data import from_frame
from prism_mmm.models.base import CONTRIBUTION_COLUMNS, ROI_COLUMNS, MMMEstimator
from prism_mmm.models.bayes import BayesMMM
from prism_mmm.models.bayesian import graph, posterior
from prism_mmm.models.bayesian.design import Scales, design
from prism_mmm.models.bayesian.posterior import hdi
from prism_mmm.models.bayesian.priors import resolved_priors, roi_terms
from prism_mmm.priors import Z90, lognormal_from_interval

ROOT = Path(__file__).resolve().parents[2]
TRUTH_CSV = ROOT / "data" / "known_truth" / "pymc_marketing_mmm_example.csv"
ROAS_CSV = ROOT / "data" / "known_truth" / "pymc_marketing_mmm_roas_data.csv"
APPAREL_CSV = ROOT / "seeds" / "conjura_apparel_weekly.csv"
# data/SOURCES.md: share of total y and average ROAS (y units per spend unit)
TRUE_SHARE = {"x1": 0.291, "x2": 0.070}
TRUE_ROI = {"x1": 4968.0, "x2": 2275.0}
FAST = {"sampler_config": BayesSamplingConfig(chains=2, draws=300, tune=300,
                                              prior_predictive_draws=200)}


def truth_data():
    frame = pd.read_csv(TRUTH_CSV)
    return from_frame(frame, date_column="date_week", kpi="y", channels=["x1", "x2"],
                      controls=["event_1", "event_2"])


def apparel_data():
    """The bundled seed as production sees it: the known promo week 2022-05-30 gets its own
    event dummy (a known issue with action "flag" in the pipeline)."""
    frame = pd.read_csv(APPAREL_CSV)
    promo = "event_promo_2022_05_30"
    frame[promo] = (pd.to_datetime(frame["date"]) == "2022-05-30").astype(float)
    return from_frame(frame, date_column="date", kpi="revenue", channels=DEFAULT_CHANNELS,
                      controls=[promo])


def assert_truth_recovered(model: BayesMMM) -> pd.DataFrame:
    roi = model.roi().set_index("channel")
    total = model.data_.y.sum()
    for channel in ("x1", "x2"):
        row = roi.loc[channel]
        share_low, share_high = row.roi_low * row.spend / total, row.roi_high * row.spend / total
        assert share_low <= TRUE_SHARE[channel] <= share_high, (channel, share_low, share_high)
        assert row.roi_low <= TRUE_ROI[channel] <= row.roi_high, (channel, row.to_dict())
    return roi


@pytest.fixture(scope="module")
def truth_fit() -> BayesMMM:
    return BayesMMM(**FAST, random_state=7).fit(truth_data())


def test_truth_recovery_fast(truth_fit):
    assert_truth_recovered(truth_fit)
    gates = truth_fit.gates_.set_index("metric")
    assert gates.loc["divergences", "value"] == 0
    assert gates.loc["max_r_hat", "value"] <= 1.05  # 2 x 300 draws: warn band at worst


def test_result_contract(truth_fit, tmp_path):
    data = truth_fit.data_
    contributions = truth_fit.contributions()
    assert list(contributions.columns) == CONTRIBUTION_COLUMNS
    assert set(contributions["component"]) == {"baseline", "x1", "x2", "event_1", "event_2"}
    assert (contributions["low"] <= contributions["value"] + 1e-9).all()
    weekly_sum = contributions.groupby("week_start_date")["value"].sum().to_numpy()
    np.testing.assert_allclose(weekly_sum, truth_fit.predict(), rtol=1e-9)
    assert list(truth_fit.roi().columns) == ROI_COLUMNS

    surface = truth_fit.response_surface()
    assert surface.coef.shape == (2 * 300, 2)
    # Steady state: a constant weekly spend s returns beta * y_scale * hill(s / scale).
    s = data.spend.mean(axis=0)
    assert np.all(surface.point(s) > 0)

    diagnostics = truth_fit.diagnostics()
    assert diagnostics["status"] in {"ok", "warning"}
    assert list(diagnostics["parameters"].columns) == [
        "parameter", "channel", "mean", "sd", "hdi_low", "hdi_high", "r_hat", "ess_bulk",
        "ess_tail",
    ]
    assert {"g1", "g7"} <= set(diagnostics["gates"]["gate"])

    truth_fit.save(tmp_path)
    reloaded = MMMEstimator.load(tmp_path)  # nothing passed in again: params, data, state
    assert isinstance(reloaded, BayesMMM)
    assert reloaded.get_params() == truth_fit.get_params()
    pd.testing.assert_frame_equal(reloaded.roi(), truth_fit.roi())
    pd.testing.assert_frame_equal(reloaded.contributions(), truth_fit.contributions())
    pd.testing.assert_frame_equal(reloaded.gates_, truth_fit.gates_)


def test_numpy_twin_matches_graph(truth_fit):
    """The posterior summaries use NumPy; they must equal the PyMC graph's mean."""
    import pymc as pm
    import pytensor.tensor as pt
    from pytensor.graph.replace import graph_replace

    compiled = graph.compiled(truth_fit.structure_)
    model = compiled.model
    priors = resolved_priors(truth_fit._model(), truth_fit.data_, truth_fit.scales_)
    with model:  # later fits may have swapped the containers: restore this fit's values
        pm.set_data(truth_fit._data_values(truth_fit.data_, truth_fit.structure_, priors,
                                           truth_fit.roi_terms_))
    first = truth_fit.idata_.posterior.isel(chain=0, draw=0)
    fixed = {rv: pt.constant(first[rv.name].to_numpy()) for rv in model.free_RVs
             if rv.name != "sigma"}  # noise scale is not part of the mean
    graph_mu = graph_replace(compiled.mu, fixed).eval()  # every week
    numpy_mu = posterior.mu_draws(truth_fit._media(), truth_fit.draws_,
                                  truth_fit._scaled(truth_fit.data_))[0]
    np.testing.assert_allclose(graph_mu, numpy_mu, rtol=1e-8)


def test_seeded_warm_refit_is_reproducible(truth_fit):
    n_compiled = len(graph._CACHE)
    again = BayesMMM(**FAST, random_state=7).fit(truth_fit.data_)
    assert len(graph._CACHE) == n_compiled  # same structure: no new compile
    assert "cached_model" in again.fit_seconds_  # the compiled model was reused
    pd.testing.assert_frame_equal(again.roi(), truth_fit.roi())
    other = BayesMMM(**FAST, random_state=8).fit(truth_fit.data_)
    assert not np.allclose(other.roi()["roi"], truth_fit.roi()["roi"])


def test_refit_with_new_data_reuses_the_compiled_sampler(truth_fit):
    """numpyro (the default) gets the data as arguments of one compiled program: a refit with
    a different KPI compiles nothing (XLA reports every backend compilation)."""
    import jax.monitoring

    assert truth_fit._sampling().engine == "numpyro"
    compiles, listening = [], [True]

    def on_event(event: str, duration: float, **kwargs) -> None:
        if listening[0] and event == "/jax/core/compile/backend_compile_duration":
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(on_event)
    try:
        refit = BayesMMM(**FAST, random_state=7).fit(truth_fit.data_.with_y(truth_fit.data_.y * 1.02))
    finally:
        listening[0] = False
    assert compiles == []
    assert not np.allclose(refit.roi()["roi"], truth_fit.roi()["roi"])


def test_roi_prior_shifts_the_prior():
    """The prior (drawn in NumPy for g1, same distributions as the graph) moves with the ROI
    range; no sampling needed."""
    data = truth_data()

    def prior_beta(roi_priors, media_share=None):
        model_config = BayesModelConfig(roi_priors=roi_priors, media_share=media_share)
        scales = Scales.of(data)
        media = BayesMMM(model_config=model_config)._media()
        scaled = design(data, scales, model_config)
        return posterior.prior_draws(
            media, resolved_priors(model_config, data, scales), data,
            scaled["spend_lags"][:, data.fit_mask], roi_terms(model_config, data, scales), 2000,
            np.random.default_rng(4), n_baseline=scaled["baseline_x"].shape[1])["beta"]

    low, high = prior_beta({"x1": (100.0, 200.0)}), prior_beta({"x1": (10_000.0, 20_000.0)})
    # ROI range x100 => the implied beta prior moves by roughly that factor (saturation varies)
    assert np.median(high[:, 0]) / np.median(low[:, 0]) > 30
    # without a media-share prior, channels without a range keep the HalfNormal beta prior
    np.testing.assert_allclose(low[:, 1], high[:, 1])
    scales = Scales.of(data)
    model = BayesMMM(model_config={"roi_priors": {"x1": (100.0, 200.0)}, "media_share": None})
    model_config = model._model()
    terms = roi_terms(model_config, data, scales)
    priors = resolved_priors(model_config, data, scales)
    assert model._structure(data, priors, terms).roi_mode == "mixed"
    # a channel's own range is its prior as given, whatever the spread
    assert np.exp(terms["roi_mu"][0] + np.array([-1, 1]) * Z90 * terms["roi_sigma"][0]) == \
        pytest.approx([100.0, 200.0])
    # by default every channel gets an ROI prior, scaled to the data: media at 5-80% of the
    # KPI at equal ROI, whatever the currency or KPI unit
    per_spend = data.y[data.fit_mask].sum() / data.spend[data.fit_mask].sum()

    def interval(model_config, c):
        terms = roi_terms(model_config, data, scales)
        return np.exp(terms["roi_mu"][c] + np.array([-1, 1]) * Z90 * terms["roi_sigma"][c])

    default = BayesMMM()._model()
    assert BayesMMM()._structure(data, resolved_priors(default, data, scales),
                                 roi_terms(default, data, scales)).roi_mode == "all"
    for c in range(2):
        assert interval(default, c) == pytest.approx([0.05 * per_spend, 0.80 * per_spend])
    # roi_spread adds the channels' spread around that average: the same median, and on the
    # log scale the two widths add in quadrature (one channel may return 10x another)
    spread = BayesMMM(model_config={"roi_spread": 10.0})._model()
    for c in range(2):
        low_roi, high_roi = interval(spread, c)
        assert np.sqrt(low_roi * high_roi) == pytest.approx(np.sqrt(0.05 * 0.80) * per_spend)
        assert np.log(high_roi / low_roi) == pytest.approx(np.hypot(np.log(16.0), np.log(10.0)))


def test_for_tests_is_cheap_and_overridable():
    model = BayesMMM.for_tests(random_state=9)
    sampling = model._sampling()
    assert sampling.chains == 2 and sampling.draws <= 100 and model.random_state == 9


def test_roi_lognormal_interval():
    from scipy import stats

    mu, sigma = lognormal_from_interval(0.5, 15.0)
    assert stats.lognorm(s=sigma, scale=np.exp(mu)).ppf([0.05, 0.95]) == pytest.approx([0.5, 15.0])
    with pytest.raises(ValueError):
        lognormal_from_interval(0.0, 1.0)


def test_hdi_covers_mass():
    draws = np.random.default_rng(0).normal(size=(40_000, 3))
    low, high = hdi(draws)
    inside = ((draws >= low) & (draws <= high)).mean(axis=0)
    assert np.all(np.abs(inside - 0.9) < 0.01)
    np.testing.assert_allclose(low, -1.645, atol=0.05)


def test_from_config_and_bad_priors():
    cfg = PrismConfig.model_validate(
        {"bayes": {"priors": {"beta": {"distribution": "halfnormal", "params": {"sigma": 1.0}}},
                   "use_knowledge_roi_priors": False}}
    )
    model = BayesMMM.from_config(cfg, roi_priors={"google_search": (0.5, 15.0)})
    model_config = model._model()
    assert model_config.roi_priors == {} and model_config.priors["beta"].params == {"sigma": 1.0}
    assert model._sampling() == cfg.bayes.sampling and model.random_state == cfg.random_seed
    data = truth_data()
    with pytest.raises(ValueError, match="unknown parameters"):
        resolved_priors(BayesModelConfig(priors={"gamma_x": model_config.priors["beta"]}),
                        data, Scales.of(data))


def test_init_only_stores_and_target_accept_resolves_at_fit_time():
    """``set_params`` and the constructor mean the same thing: the engine's default
    target_accept is resolved from the sampler configuration whenever it is read."""
    built = BayesMMM(sampler_config={"engine": "nutpie"})
    changed = BayesMMM().set_params(sampler_config={"engine": "nutpie"})
    assert built.get_params() == changed.get_params()
    assert built._sampling().resolved_target_accept() == 0.99
    assert BayesMMM()._sampling().resolved_target_accept() == 0.9


@pytest.mark.slow
def test_truth_recovery_full():
    model = BayesMMM(random_state=11).fit(truth_data())
    roi = assert_truth_recovered(model)
    gates = model.gates_.set_index("metric")
    assert gates.loc["divergences", "value"] == 0 and gates.loc["max_r_hat", "value"] <= 1.01
    # point error within 25% of the true ROAS
    for channel in ("x1", "x2"):
        assert abs(roi.loc[channel, "roi"] / TRUE_ROI[channel] - 1) < 0.25


@pytest.mark.slow
def test_apparel_default_meets_convergence_targets():
    """Production settings (prism.yml defaults, knowledge ROI priors, promo dummy): the
    convergence targets (R-hat <= 1.01, bulk ESS >= 400, 0 divergences, g1 pass) on three seeds (the second and third on a KPI perturbed by 1%, i.e.
    warm refits of the compiled model)."""
    from prism_mmm.knowledge.local import expected_roi_ranges, knowledge_directory

    cfg = PrismConfig()
    roi_priors = expected_roi_ranges(knowledge_directory(cfg))
    data = apparel_data()
    rng = np.random.default_rng(0)
    for seed in (cfg.random_seed, 1, 2):
        model = BayesMMM.from_config(cfg, roi_priors=roi_priors).set_params(random_state=seed)
        fit_data = data if seed == cfg.random_seed else data.with_y(
            data.y * (1 + 0.01 * rng.standard_normal(data.n_weeks)))
        model.fit(fit_data)
        gates = model.gates_.set_index("metric")
        assert gates.loc["max_r_hat", "value"] <= 1.01, seed
        assert gates.loc["min_ess_bulk", "value"] >= 400, seed
        assert gates.loc["divergences", "value"] == 0, seed
        assert gates.loc["plausibility_ratio", "status"] == "pass", seed


@pytest.mark.slow
def test_roas_confounded_x1_measured():
    """x1 is driven by an unobserved z that also raises y, so an upward bias on x1 was
    expected. Measured (seed 5, defaults): x1 ROI 91.7 [70.2, 117.1] vs true 93.39, x2 168.9
    [122.5, 230.8] vs 171.41: trend + seasonality absorb enough of z here that the bias is not
    visible. This pins that finding; a change that moves x1 off the truth shows up here."""
    frame = pd.read_csv(ROAS_CSV)
    data = from_frame(frame, date_column="date", kpi="y", channels=["x1", "x2"])
    roi = BayesMMM(random_state=5).fit(data).roi().set_index("channel")
    for channel, truth in {"x1": 93.39, "x2": 171.41}.items():
        assert roi.loc[channel, "roi_low"] <= truth <= roi.loc[channel, "roi_high"]
        assert abs(roi.loc[channel, "roi"] / truth - 1) < 0.15
