"""Bayesian MMM (PyMC): compiled once per model structure, refitted by swapping data.

Model, on scaled data (fit weeks = ``data.fit_mask``)::

    y_t / y_scale = intercept + baseline_t @ baseline_coef + controls_t @ control_coef
                    + sum_c beta_c * sat(adstock(x_tc / spend_scale_c; decay_c); sat params_c)
                    + Normal(0, sigma)

- ``y_scale`` is the mean KPI over fit weeks, so the scaled KPI averages 1 and the default
  priors mean the same thing for every brand. ``spend_scale_c`` is the channel's maximum weekly
  spend over fit weeks (the all-weeks maximum if the channel never spent in them, else 1).
  Controls are divided by their maximum absolute value over fit weeks (0/1 dummies unchanged).
- Geometric adstock over ``max_lag`` weeks with weights summing to one (zeros before the first
  week), so a constant weekly spend ``s`` settles at ``adstock = s`` and its weekly response is
  ``beta_c * y_scale * sat(s / spend_scale_c)``: the :class:`ResponseSurface` contract.
- Priors: the transforms' ``Param.prior`` (decay, half_sat, shape / lam) and ``DEFAULT_PRIORS``
  below, each overridable by name (``priors=`` / ``cfg.bayes.priors``). ``beta`` with a
  HalfNormal prior is non-centred (``beta = sigma * z``, ``z ~ HalfNormal(1)``).
- ``roi_priors={channel: (low, high)}`` (the knowledge layer's expected ROI ranges) switches
  those channels to a Meridian-style parametrisation: ROI_c ~ LogNormal whose central 90%
  interval is ``(low, high)`` (non-centred on the log scale), and
  ``beta_c = ROI_c * spend_c / (y_scale * sum_t sat_tc)`` over fit weeks, so the prior sits on
  the quantity the business has a view on. Channels without a range keep the ``beta`` prior.

Compile once: prior hyper-parameters and ROI terms live in one packed ``hyper`` data vector and
the fit-week design in ``spend_lags``/``baseline_x``/``controls_x``/``y``, so the graph depends
only on the *structure* (channel/control/baseline counts, fit weeks, adstock lag, saturation,
prior families, which channels carry ROI priors, sampler). One model and one compiled sampler
per structure are cached in-process; a refit with new data or prior values only swaps values
(numpyro: data are arguments of the compiled sampler,
:mod:`prism_mmm.models.sampling.numpyro_sampler`;
nutpie ``with_data``; PyMC ``pm.set_data``).

Sampler, chosen by measurement (``python -m bench``, 4 chains x 1000/1000, bundled apparel data,
2 cores, every compile cache empty):

- numpyro (default): the PyMC log density converted to JAX once per structure, chains in
  parallel on XLA host devices: 9-11 s cold including compilation, 3.4-4.5 s for a refit with
  new data, 0 divergences at target_accept 0.8-0.9 with a diagonal mass matrix (dense: ~3x
  fewer leapfrog steps but 1-4 divergences per fit). ``pm.sample(nuts_sampler="numpyro")`` on
  the same model recompiles for every new data set; chains vectorised took 35 s cold, run
  sequentially 21 s.
- nutpie (numba): ~25 s of numba compilation with empty caches (10 s with pytensor's kernel
  cache warm) because its C callback for the whole logp graph cannot be cached on disk, then
  ~5 s per refit in-process (needs target_accept 0.99 and a low-rank mass matrix), slower than
  numpyro's 3.4-4.5 s. Adstock + saturation are one fused Op there
  (:mod:`prism_mmm.models.sampling.media_op`).
- pymc: the reference implementation (C backend, Python NUTS), several times slower.

Posterior summaries (``beta``, contributions, ROI, predictions, log-likelihood, posterior and
prior predictive) are computed in NumPy from the draws with the same maths as the graph (a
test checks the two agree), so nothing is compiled after sampling: the g1 prior predictive
draws each prior with NumPy (the same distributions as the graph) instead of compiling
``pm.sample_prior_predictive`` (0.3-0.8 s with a warm pytensor cache, a C compile when cold).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prism_mmm.data import MMMData
from prism_mmm.models.base import (
    CONTRIBUTION_COLUMNS,
    INTERVAL_MASS,
    MMMEstimator,
    register,
    roi_from_draws,
)
from prism_mmm.transforms import GeometricAdstock, HillSaturation, LogisticSaturation, Prior

# Priors on the scaled model (KPI mean = 1, spend max = 1) that the transforms do not own.
DEFAULT_PRIORS: dict[str, Prior] = {
    "intercept": Prior("normal", mu=0.5, sigma=0.5),
    "baseline_coef": Prior("normal", mu=0.0, sigma=0.5),
    "control_coef": Prior("normal", mu=0.0, sigma=1.0),
    "beta": Prior("halfnormal", sigma=0.5),
    "sigma": Prior("halfnormal", sigma=0.5),
}
SATURATIONS = {"hill": HillSaturation, "logistic": LogisticSaturation}
# family -> (PyMC class name, canonical parameter names)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "normal": ("Normal", ("mu", "sigma")),
    "halfnormal": ("HalfNormal", ("sigma",)),
    "lognormal": ("LogNormal", ("mu", "sigma")),
    "gamma": ("Gamma", ("alpha", "beta")),
    "beta": ("Beta", ("alpha", "beta")),
}
Z90 = 1.6448536269514722  # standard normal 95% quantile: a central 90% interval is mu ± Z90·sd
PARAMETERS = ("intercept", "baseline_coef", "control_coef", "beta", "sigma")
LOG_EPS = 1e-12  # keeps log(adstock) finite at zero spend and sums of zeros divisible
# nutpie settings (when bayes.sampler is nutpie) chosen by measurement (4 chains x 1000/1000;
# apparel = bundled data with the
# promo dummy and knowledge ROI priors, seeds 1-6 with the KPI perturbed by 1% after the first;
# truth = pymc_marketing_mmm_example.csv, seeds 11-13):
# - low-rank modified mass matrix: it captures the correlations between a channel's Hill
#   shape, half-saturation and ROI (|r| 0.74-0.84 for meta_facebook). Apparel at
#   target_accept 0.98: min bulk ESS 910-1393 and R-hat <= 1.008 vs ESS 281-390 and R-hat up
#   to 1.019 with the diagonal mass matrix; truth: ~30 leapfrog steps per draw instead of ~98.
# - target_accept 0.99 (nutpie's default): with the low-rank mass matrix 0.95 and 0.97 left
#   1 divergence in 4-6 apparel seeds, 0.98 one in 11 apparel seeds and 5 on truth seed 11;
#   0.99 none in 4 apparel + 3 truth seeds (apparel min ESS 639-1124, R-hat <= 1.006).
# - tried and rejected: LogNormal instead of Gamma priors on the Hill shape/half-saturation
#   (same mean and sd, heavier right tail): 6 and 1 divergences in 4 seeds.
NUTPIE_SETTINGS: dict[str, Any] = {"low_rank_modified_mass_matrix": True}
# numpyro (the default sampler), measured the same way (apparel seeds 1-6, truth seeds 1-4,
# target_accept 0.9, diagonal mass matrix):
# - max_tree_depth 7 (127 leapfrog steps per iteration at most; numpyro's default is 10):
#   refits 3.4-3.8 s instead of 4.1-4.5 s on apparel, 3.2-3.5 s instead of 3.8 s on truth,
#   with the same min bulk ESS (apparel 1397-1859, truth 1080-1456) and 0 divergences. Most of
#   the saving is in early warm-up, where the first 100 iterations averaged 222 steps.
# - tried and rejected: dense mass matrix (3x fewer steps but 1-4 divergences per fit).
NUMPYRO_SETTINGS: dict[str, Any] = {"max_tree_depth": 7}


def canonical_prior(prior: Prior) -> tuple[str, dict[str, float]]:
    """``(family, params)`` with canonical parameter names (gamma ``mu``/``sigma`` and beta
    ``mu``/``sigma`` are converted to ``alpha``/``beta``)."""
    family = prior.distribution.lower().replace("_", "")
    if family not in FAMILIES:
        raise ValueError(f"unsupported prior family {prior.distribution!r}; known: {sorted(FAMILIES)}")
    kwargs = {k: float(v) for k, v in prior.kwargs.items()}
    if family == "gamma" and set(kwargs) == {"mu", "sigma"}:
        mu, sd = kwargs["mu"], kwargs["sigma"]
        kwargs = {"alpha": mu**2 / sd**2, "beta": mu / sd**2}
    if family == "beta" and set(kwargs) == {"mu", "sigma"}:
        mu, sd = kwargs["mu"], kwargs["sigma"]
        kappa = mu * (1 - mu) / sd**2 - 1
        kwargs = {"alpha": mu * kappa, "beta": (1 - mu) * kappa}
    expected = set(FAMILIES[family][1])
    if set(kwargs) != expected:
        raise ValueError(f"{family} prior needs {sorted(expected)}, got {sorted(kwargs)}")
    return family, kwargs


def support_point(family: str, params: dict[str, float]) -> float:
    """PyMC's default starting value of a canonical prior."""
    if family == "normal":
        return params["mu"]
    if family == "halfnormal":
        return params["sigma"]
    if family == "lognormal":
        return float(np.exp(params["mu"] + params["sigma"] ** 2 / 2))
    if family == "gamma":
        return params["alpha"] / params["beta"]
    return params["alpha"] / (params["alpha"] + params["beta"])


def roi_lognormal(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the LogNormal whose central 90% interval is ``(low, high)``."""
    if not 0 < low < high:
        raise ValueError(f"ROI range must satisfy 0 < low < high, got ({low}, {high})")
    return (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / (2 * Z90)


def _draw(rng: np.random.Generator, family: str, params: dict[str, float],
          size: tuple[int, ...]) -> np.ndarray:
    """NumPy draws from a canonical prior (PyMC's parametrisations)."""
    if family == "normal":
        return rng.normal(params["mu"], params["sigma"], size)
    if family == "halfnormal":
        return np.abs(rng.normal(0.0, params["sigma"], size))
    if family == "lognormal":
        return np.exp(rng.normal(params["mu"], params["sigma"], size))
    if family == "gamma":
        return rng.gamma(params["alpha"], 1.0 / params["beta"], size)
    return rng.beta(params["alpha"], params["beta"], size)


def lag_stack(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(L, T, C) with ``out[l, t] = x[t - l]`` (zeros before the first week)."""
    out = np.zeros((max_lag, *x.shape))
    for lag in range(max_lag):
        out[lag, lag:] = x[: x.shape[0] - lag]
    return out


def hdi(draws: np.ndarray, mass: float = INTERVAL_MASS) -> tuple[np.ndarray, np.ndarray]:
    """Highest-density interval along axis 0 (vectorised over the other axes)."""
    ordered = np.sort(draws, axis=0)
    n = ordered.shape[0]
    width = int(np.floor(mass * n))
    spans = ordered[width:] - ordered[: n - width]
    start = np.argmin(spans, axis=0)
    low = np.take_along_axis(ordered, start[None], axis=0)[0]
    high = np.take_along_axis(ordered, (start + width)[None], axis=0)[0]
    return low, high


def saturate(x: np.ndarray, saturation: str, params: dict[str, np.ndarray]) -> np.ndarray:
    """NumPy twin of the graph's saturation; Hill as a logistic in log-space (stable at 0)."""
    if saturation == "hill":
        z = params["shape"] * (np.log(np.maximum(x, 0.0) + LOG_EPS) - np.log(params["half_sat"]))
        return 1.0 / (1.0 + np.exp(-z))
    return np.tanh(params["lam"] * np.maximum(x, 0.0) / 2.0)  # == (1 - e^-lx) / (1 + e^-lx)


@dataclass
class _Structure:
    """What the compiled graph depends on; equal structures share one compiled model."""

    n_channels: int
    n_fit: int
    n_controls: int
    n_baseline: int
    max_lag: int
    saturation: str
    families: tuple[tuple[str, str], ...]
    roi_mode: str  # "all" | "none" | "mixed": which channels carry an ROI prior
    sampler: str

    def key(self) -> tuple:
        return tuple(self.__dict__.values())

    def channel_params(self) -> list[str]:
        return ["decay", *SATURATIONS[self.saturation].params]

    def hyper_layout(self) -> list[tuple[str, int]]:
        """Order and length of every entry of the packed ``hyper`` data vector: prior
        hyper-parameters ``prior_<name>_<param>`` and the per-channel ROI terms."""
        c = self.n_channels
        sizes = {"intercept": 1, "sigma": 1, "baseline_coef": self.n_baseline,
                 "control_coef": self.n_controls}
        families = dict(self.families)
        names = [*self.channel_params(), "intercept", "baseline_coef", "control_coef", "sigma"]
        if self.roi_mode != "all":
            names.append("beta")
        layout = []
        for name in names:
            size = sizes.get(name, c)
            if size:
                layout += [(f"prior_{name}_{p}", size) for p in FAMILIES[families[name]][1]]
        if self.roi_mode != "none":
            layout += [("roi_mu", c), ("roi_sigma", c), ("roi_factor", c)]
        if self.roi_mode == "mixed":
            layout.append(("use_roi", c))
        return layout


@dataclass
class _Compiled:
    model: Any
    sampler_fn: Any  # nutpie CompiledModel, NumpyroSampler, else None (pm.sample compiles)
    mu: Any  # scaled expected KPI on fit weeks (for the NumPy-twin test)


_CACHE: dict[tuple, _Compiled] = {}


def clear_cache() -> None:
    """Forget every compiled model (tests use it to measure cold fits)."""
    _CACHE.clear()


def _build_model(structure: _Structure) -> Any:
    """The PyMC model for one structure (see the module docstring for the choices)."""
    import pymc as pm
    import pytensor.tensor as pt

    s = structure
    coords = {
        "channel": np.arange(s.n_channels),
        "obs": np.arange(s.n_fit),
        "control": np.arange(s.n_controls),
        "baseline": np.arange(s.n_baseline),
    }
    families = dict(s.families)
    # check_bounds=False: the hyper-parameters are validated in Python (canonical_prior,
    # roi_lognormal), so the logp graph needs no parameter checks (fewer nodes to compile).
    with pm.Model(coords=coords, check_bounds=False) as model:
        spend = pm.Data("spend_lags", np.zeros((s.max_lag, s.n_fit, s.n_channels)))
        y = pm.Data("y", np.ones(s.n_fit))
        layout = s.hyper_layout()
        hyper_data = pm.Data("hyper", np.ones(sum(n for _, n in layout)))
        hyper, offset = {}, 0
        for name, size in layout:
            hyper[name] = hyper_data[offset:offset + size]
            offset += size

        def rv(name: str, dim: str | None, var: str = "") -> Any:
            cls_name, pnames = FAMILIES[families[name]]
            kwargs = {p: hyper[f"prior_{name}_{p}"] for p in pnames}
            if dim is None:
                kwargs = {p: v[0] for p, v in kwargs.items()}
            return getattr(pm, cls_name)(var or name, **kwargs, dims=dim)

        params = {name: rv(name, "channel") for name in s.channel_params()}
        sat_params = [params[name] for name in SATURATIONS[s.saturation].params]
        if s.sampler == "nutpie":
            from prism_mmm.models.sampling.media_op import media_response

            sat = media_response(s.saturation, params["decay"], sat_params, spend)
        else:
            sat = _plain_media_response(s.saturation, params["decay"], sat_params, spend)

        if s.roi_mode != "none":
            roi_z = pm.Normal("roi_z", 0.0, 1.0, dims="channel")
            roi = pt.exp(hyper["roi_mu"] + hyper["roi_sigma"] * roi_z)
            beta_roi = roi * hyper["roi_factor"] / (sat.sum(axis=0) + LOG_EPS)
        if s.roi_mode != "all":
            if families["beta"] == "halfnormal":  # non-centred
                beta_plain = hyper["prior_beta_sigma"] * pm.HalfNormal("beta_z", 1.0, dims="channel")
            else:
                beta_plain = rv("beta", "channel", var="beta_free")
        beta = {"all": lambda: beta_roi, "none": lambda: beta_plain,
                "mixed": lambda: pt.switch(hyper["use_roi"] > 0.5, beta_roi, beta_plain)}[s.roi_mode]()

        mu = rv("intercept", None) + pt.dot(sat, beta)
        if s.n_baseline:
            baseline = pm.Data("baseline_x", np.zeros((s.n_fit, s.n_baseline)))
            mu = mu + pt.dot(baseline, rv("baseline_coef", "baseline"))
        if s.n_controls:
            controls = pm.Data("controls_x", np.zeros((s.n_fit, s.n_controls)))
            mu = mu + pt.dot(controls, rv("control_coef", "control"))
        sigma = rv("sigma", None)
        pm.Normal("y_obs", mu=mu, sigma=sigma, observed=y, dims="obs")
    return model, mu


def _plain_media_response(saturation: str, decay, sat_params: list, spend) -> Any:
    """(N, C) saturated adstock as ordinary PyTensor (PyMC and numpyro samplers; the
    reference for :mod:`prism_mmm.models.sampling.media_op`, the PyTensor twin of :func:`saturate`)."""
    import pytensor.tensor as pt

    powers = decay[None, :] ** pt.arange(spend.shape[0])[:, None]  # (L, C)
    weights = powers / powers.sum(axis=0)
    adstocked = (weights[:, None, :] * spend).sum(axis=0)  # (N, C)
    if saturation == "hill":
        half_sat, shape = sat_params
        return pt.sigmoid(shape * (pt.log(adstocked + LOG_EPS) - pt.log(half_sat)))
    (lam,) = sat_params
    return pt.tanh(lam * adstocked / 2.0)


def _compiled(structure: _Structure) -> _Compiled:
    key = structure.key()
    if key not in _CACHE:
        model, mu = _build_model(structure)
        sampler_fn = None
        if structure.sampler == "nutpie":
            import nutpie

            # Store only the free variables: every derived quantity (beta, contributions)
            # is computed in NumPy afterwards, so the expand function stays trivial.
            sampler_fn = nutpie.compile_pymc_model(
                model, backend="numba", var_names=[rv.name for rv in model.free_RVs]
            )
        elif structure.sampler == "numpyro":
            from prism_mmm.models.sampling.numpyro_sampler import NumpyroSampler

            sampler_fn = NumpyroSampler.build(model)
        _CACHE[key] = _Compiled(model=model, sampler_fn=sampler_fn, mu=mu)
    return _CACHE[key]


@register
class BayesMMM(MMMEstimator):
    """Bayesian MMM with stage-gated diagnostics (see the module docstring for the model).

    Parameters
    ----------
    chains, draws, tune, target_accept
        NUTS settings; ``target_accept=None`` takes the sampler's measured default
        (:data:`prism_mmm.config.DEFAULT_TARGET_ACCEPT`).
    sampler
        ``"numpyro"`` (JAX; fastest cold, warm and in new processes), ``"nutpie"`` (numba;
        a long compile per process) or ``"pymc"`` (see the module docstring).
    max_lag
        Adstock window in weeks.
    saturation
        ``"hill"`` or ``"logistic"``.
    priors
        Overrides by name (``decay``, ``half_sat``, ``shape``/``lam``, ``beta``, ``intercept``,
        ``baseline_coef``, ``control_coef``, ``sigma``) as :class:`Prior` objects.
    roi_priors
        ``{channel: (roi_low, roi_high)}`` expected ROI ranges (KPI per spend unit) turned into
        LogNormal ROI priors with that 90% interval; ``None`` keeps the ``beta`` prior.
    prior_predictive_draws
        Draws for the g1 prior predictive check (0 skips it).
    gating
        ``"strict"``, ``"warn"`` or ``"off"`` (see :func:`prism_mmm.gates.apply_gating`).
    random_state
        Seed: the same data and seed give the same numbers.
    """

    model_name = "bayes"

    def __init__(
        self,
        chains: int = 4,
        draws: int = 1000,
        tune: int = 1000,
        target_accept: float | None = None,
        sampler: str = "numpyro",
        max_lag: int = 8,
        saturation: str = "hill",
        priors: dict[str, Prior] | None = None,
        roi_priors: dict[str, tuple[float, float]] | None = None,
        prior_predictive_draws: int = 500,
        gating: str = "warn",
        random_state: int = 0,
    ) -> None:
        self.chains = chains
        self.draws = draws
        self.tune = tune
        if target_accept is None:
            from prism_mmm.config import DEFAULT_TARGET_ACCEPT

            target_accept = DEFAULT_TARGET_ACCEPT.get(sampler, 0.99)
        self.target_accept = target_accept
        self.sampler = sampler
        self.max_lag = max_lag
        self.saturation = saturation
        self.priors = priors
        self.roi_priors = roi_priors
        self.prior_predictive_draws = prior_predictive_draws
        self.gating = gating
        self.random_state = random_state

    @classmethod
    def for_tests(cls, **overrides: Any) -> BayesMMM:
        """A cheap instance for tests: 2 chains x 100/100 draws, 100 prior predictive draws
        (real sampling, so results are noisy; the compiled model is still cached per
        structure)."""
        settings = {"chains": 2, "draws": 100, "tune": 100, "prior_predictive_draws": 100,
                    "random_state": 5}
        return cls(**{**settings, **overrides})

    @classmethod
    def from_config(cls, cfg, roi_priors: dict[str, tuple[float, float]] | None = None) -> BayesMMM:
        """Build from :class:`~prism_mmm.config.PrismConfig`; ``roi_priors`` are used only when
        ``cfg.bayes.use_knowledge_roi_priors`` is on."""
        if cfg.transforms.adstock != "geometric":
            raise ValueError("the Bayesian model supports geometric adstock only")
        b = cfg.bayes
        return cls(
            chains=b.chains,
            draws=b.draws,
            tune=b.tune,
            target_accept=b.target_accept,
            sampler=b.sampler,
            max_lag=cfg.transforms.max_lag,
            saturation=cfg.transforms.saturation,
            priors={k: Prior(p.distribution, **p.params) for k, p in b.priors.items()},
            roi_priors=roi_priors if b.use_knowledge_roi_priors else None,
            prior_predictive_draws=b.prior_predictive_draws,
            gating=cfg.diagnostics_gating,
            random_state=cfg.random_seed,
        )

    # -- priors and data ---------------------------------------------------------------------
    def _resolved_priors(self) -> dict[str, tuple[str, dict[str, float]]]:
        if self.saturation not in SATURATIONS:
            raise ValueError(f"unknown saturation {self.saturation!r}; known: {sorted(SATURATIONS)}")
        priors = dict(DEFAULT_PRIORS)
        priors["decay"] = GeometricAdstock.params["decay"].prior
        for name, param in SATURATIONS[self.saturation].params.items():
            priors[name] = param.prior
        unknown = set(self.priors or {}) - set(priors)
        if unknown:
            raise ValueError(f"priors for unknown parameters {sorted(unknown)}; known: {sorted(priors)}")
        priors.update(self.priors or {})
        return {name: canonical_prior(prior) for name, prior in priors.items()}

    def _scales(self, data: MMMData) -> None:
        fit = data.fit_mask
        if not fit.any():
            raise ValueError("no fit weeks: data.fit_mask is all False")
        self.y_scale_ = float(np.mean(data.y[fit]))
        if self.y_scale_ <= 0:
            raise ValueError("the KPI's mean over fit weeks must be positive")
        fit_max = data.spend[fit].max(axis=0) if data.spend.size else np.zeros(0)
        all_max = data.spend.max(axis=0) if data.spend.size else np.zeros(0)
        self.spend_scale_ = np.where(fit_max > 0, fit_max, np.where(all_max > 0, all_max, 1.0))
        ctrl_max = np.abs(data.controls[fit]).max(axis=0) if data.controls.shape[1] else np.zeros(0)
        self.control_scale_ = np.where(ctrl_max > 0, ctrl_max, 1.0)

    def _design(self, data: MMMData) -> dict[str, np.ndarray]:
        """Scaled arrays for every week of ``data`` (fit-time scales)."""
        return {
            "spend_lags": lag_stack(data.spend / self.spend_scale_, self.max_lag),
            "baseline_x": np.asarray(data.baseline, dtype=float),
            "controls_x": data.controls / self.control_scale_,
        }

    def _roi_terms(self, data: MMMData) -> dict[str, np.ndarray]:
        """Per-channel ROI prior terms: ``use_roi`` mask, LogNormal ``roi_mu``/``roi_sigma``
        and ``roi_factor`` = fit-week spend / y_scale (so beta = ROI * factor / sum sat)."""
        roi = self.roi_priors or {}
        unknown = set(roi) - set(data.channels)
        if unknown:
            raise ValueError(f"roi_priors for unknown channels {sorted(unknown)}")
        mus_sigmas = [roi_lognormal(*roi[ch]) if ch in roi else (0.0, 1.0) for ch in data.channels]
        return {
            "use_roi": np.array([float(ch in roi) for ch in data.channels]),
            "roi_mu": np.array([m for m, _ in mus_sigmas]),
            "roi_sigma": np.array([s for _, s in mus_sigmas]),
            "roi_factor": data.spend[data.fit_mask].sum(axis=0) / self.y_scale_,
        }

    def _structure(self, data: MMMData, priors: dict) -> _Structure:
        use_roi = self._roi_terms(data)["use_roi"]
        roi_mode = "all" if use_roi.all() else "none" if not use_roi.any() else "mixed"
        return _Structure(
            n_channels=len(data.channels),
            n_fit=int(data.fit_mask.sum()),
            n_controls=data.controls.shape[1],
            n_baseline=data.baseline.shape[1],
            max_lag=self.max_lag,
            saturation=self.saturation,
            families=tuple(sorted((k, fam) for k, (fam, _) in priors.items())),
            roi_mode=roi_mode if len(data.channels) else "none",
            sampler=self.sampler,
        )

    def _data_values(self, data: MMMData, priors: dict) -> dict[str, np.ndarray]:
        """Values of the model's data containers for ``data`` (fit weeks only)."""
        structure = self._structure(data, priors)
        fit = data.fit_mask
        design = self._design(data)
        values = {
            "spend_lags": design["spend_lags"][:, fit],
            "y": data.y[fit] / self.y_scale_,
            "baseline_x": design["baseline_x"][fit],
            "controls_x": design["controls_x"][fit],
        }
        terms = self._roi_terms(data)
        hyper = []
        for name, size in structure.hyper_layout():
            if name.startswith("prior_"):
                prior, _, pname = name[len("prior_"):].rpartition("_")
                hyper.append(np.full(size, priors[prior][1][pname]))
            else:
                hyper.append(terms[name])
        values["hyper"] = np.concatenate(hyper) if hyper else np.zeros(0)
        if not structure.n_baseline:
            values.pop("baseline_x")
        if not structure.n_controls:
            values.pop("controls_x")
        return values

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, data: MMMData) -> BayesMMM:
        import time

        import pymc as pm

        from prism_mmm.gates import compute_gates

        tick = time.perf_counter()
        seconds = {}
        priors = self._resolved_priors()
        self._scales(data)
        structure = self._structure(data, priors)
        cold = structure.key() not in _CACHE
        if self.sampler == "numpyro":
            from prism_mmm.models.sampling.numpyro_sampler import ensure_host_devices

            ensure_host_devices(self.chains)  # before JAX's first import: parallel chains
        compiled = _compiled(structure)
        seconds["compile" if cold else "cached_model"] = time.perf_counter() - tick
        values = self._data_values(data, priors)
        with compiled.model:
            pm.set_data(values)
        tick = time.perf_counter()
        posterior = self._sample(compiled, values, priors)
        seconds["sample"] = time.perf_counter() - tick

        tick = time.perf_counter()
        self.data_ = data
        self.structure_ = structure
        self.roi_terms_ = self._roi_terms(data)
        self.idata_ = self._relabel(posterior, data)
        self.draws_ = self._flat_draws(self.idata_)
        self._add_predictive_groups(data, priors)
        self.gates_ = compute_gates(self.idata_)
        seconds["post"] = time.perf_counter() - tick
        self.fit_seconds_ = seconds
        return self

    def _sample(self, compiled: _Compiled, values: dict[str, np.ndarray], priors: dict):
        import pymc as pm

        seed = int(self.random_state)
        if self.sampler == "nutpie":
            import nutpie

            return nutpie.sample(
                compiled.sampler_fn.with_data(**values),
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                cores=min(self.chains, os.cpu_count() or 1),
                seed=seed,
                target_accept=self.target_accept,
                save_warmup=False,
                progress_bar=False,
                **NUTPIE_SETTINGS,
            )
        if self.sampler == "numpyro":
            return compiled.sampler_fn.sample(
                values, self._start_point(priors), chains=self.chains, draws=self.draws,
                tune=self.tune, target_accept=self.target_accept, seed=seed,
                settings=NUMPYRO_SETTINGS)
        if self.sampler != "pymc":
            raise ValueError(f"unknown sampler {self.sampler!r}; known: nutpie, numpyro, pymc")
        with compiled.model:
            return pm.sample(
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                cores=min(self.chains, os.cpu_count() or 1),
                target_accept=self.target_accept,
                random_seed=seed,
                progressbar=False,
                compute_convergence_checks=False,
            )

    def _start_point(self, priors: dict) -> dict[str, np.ndarray]:
        """A central value of each prior (PyMC's support points: the mean, the scale for a
        HalfNormal), computed in NumPy so no initial-point function is compiled."""
        central = {name: support_point(*prior) for name, prior in priors.items()}
        return {**central, "roi_z": 0.0, "beta_z": 1.0, "beta_free": central["beta"]}

    def _relabel(self, idata, data: MMMData):
        """Posterior (free variables + ``beta`` derived in NumPy) and sample_stats, with the
        data's labels on the generic model dims."""
        import arviz as az

        labels = {
            "channel": list(data.channels),
            "control": list(data.control_names),
            "baseline": list(data.baseline_names),
        }
        posterior = idata.posterior
        posterior = posterior.assign_coords(
            {k: v for k, v in labels.items() if k in posterior.dims}
        )
        shape = (posterior.sizes["chain"], posterior.sizes["draw"])
        flat = {name: arr.to_numpy().reshape(-1, *arr.shape[2:])
                for name, arr in posterior.data_vars.items()}
        beta = self._beta(flat, data).reshape(*shape, -1)
        posterior["beta"] = (("chain", "draw", "channel"), beta)
        posterior = posterior.assign_coords(channel=list(data.channels))
        posterior.attrs = {
            "y_scale": self.y_scale_,
            "spend_scale": json.dumps(self.spend_scale_.tolist()),
            "control_scale": json.dumps(self.control_scale_.tolist()),
            "sampler": self.sampler,
            "saturation": self.saturation,
            "max_lag": self.max_lag,
        }
        return az.InferenceData(posterior=posterior, sample_stats=idata.sample_stats)

    def _beta(self, d: dict[str, np.ndarray], data: MMMData) -> np.ndarray:
        """(D, C) media coefficients from free-variable draws: ROI channels
        ``ROI * roi_factor / sum_fit sat`` (the graph's formula), the others ``beta_z`` scaled
        by the HalfNormal prior sigma or ``beta_free``."""
        terms = self._roi_terms(data)
        n_draws, n_channels = len(d["sigma"]), len(data.channels)
        beta = np.zeros((n_draws, n_channels))
        if terms["use_roi"].any():
            sat = self._saturation_draws(d, self._design(data)["spend_lags"][:, data.fit_mask])
            roi = np.exp(terms["roi_mu"] + terms["roi_sigma"] * d["roi_z"])
            beta = roi * terms["roi_factor"] / (sat.sum(axis=1) + LOG_EPS)
        if not terms["use_roi"].all():
            if "beta_z" in d:
                params = self._resolved_priors()["beta"][1]
                plain = params["sigma"] * d["beta_z"]
            else:
                plain = d["beta_free"]
            beta = np.where(terms["use_roi"] > 0.5, beta, plain)
        return beta

    def _flat_draws(self, idata) -> dict[str, np.ndarray]:
        """name -> (D, ...) posterior draws with chains stacked."""
        out = {}
        for name in idata.posterior.data_vars:
            arr = idata.posterior[name].to_numpy()
            out[name] = arr.reshape(-1, *arr.shape[2:])
        return out

    # -- NumPy forward pass ------------------------------------------------------------------
    def _saturation_draws(self, d: dict[str, np.ndarray], spend_lags: np.ndarray) -> np.ndarray:
        """(D, T, C) saturated adstock per draw for scaled lagged spend (L, T, C)."""
        lags = np.arange(self.max_lag)
        weights = d["decay"][:, None, :] ** lags[None, :, None]  # (D, L, C)
        weights = weights / weights.sum(axis=1, keepdims=True)
        adstocked = np.einsum("dlc,ltc->dtc", weights, spend_lags, optimize=True)
        params = {k: d[k][:, None, :] for k in SATURATIONS[self.saturation].params}
        return saturate(adstocked, self.saturation, params)

    def _components(self, data: MMMData, draws: dict[str, np.ndarray] | None = None) -> dict:
        """Scaled components per draw for every week of ``data``: media (D, T, C),
        base (D, T) = intercept + trend + seasonality, controls (D, T, K)."""
        d = self.draws_ if draws is None else draws
        design = self._design(data)
        media = d["beta"][:, None, :] * self._saturation_draws(d, design["spend_lags"])
        base = np.repeat(d["intercept"][:, None], data.n_weeks, axis=1)
        if "baseline_coef" in d:
            base = base + d["baseline_coef"] @ design["baseline_x"].T
        n_draws = len(d["intercept"])
        controls = np.zeros((n_draws, data.n_weeks, data.controls.shape[1]))
        if "control_coef" in d:
            controls = d["control_coef"][:, None, :] * design["controls_x"][None]
        return {"media": media, "base": base, "controls": controls}

    def _mu_draws(self, data: MMMData, draws: dict[str, np.ndarray] | None = None) -> np.ndarray:
        parts = self._components(data, draws)
        return parts["base"] + parts["media"].sum(axis=2) + parts["controls"].sum(axis=2)

    def _add_predictive_groups(self, data: MMMData, priors: dict) -> None:
        """Prior predictive (g1), posterior predictive and pointwise log-likelihood (g5, g6)
        on fit weeks, all on the scaled KPI, all in NumPy (nothing to compile)."""
        import arviz as az
        from scipy import stats

        fit = data.fit_mask
        y_obs = data.y[fit] / self.y_scale_
        mu = self._mu_draws(data)[:, fit]
        sigma = self.draws_["sigma"][:, None]
        rng = np.random.default_rng(int(self.random_state) + 2)
        shape = (self.idata_.posterior.sizes["chain"], self.idata_.posterior.sizes["draw"])
        ppc = (mu + sigma * rng.standard_normal(mu.shape)).reshape(*shape, -1)
        loglik = stats.norm.logpdf(y_obs[None], mu, sigma).reshape(*shape, -1)
        groups = {
            "posterior_predictive": {"y_obs": ppc},
            "log_likelihood": {"y_obs": loglik},
            "observed_data": {"y_obs": y_obs},
        }
        if self.prior_predictive_draws:
            prior = self._prior_draws(data, priors, int(self.prior_predictive_draws))
            prior_mu = self._mu_draws(data, prior)[:, fit]
            noise = np.random.default_rng(int(self.random_state) + 3).standard_normal(prior_mu.shape)
            groups["prior"] = {"beta": prior["beta"][None], "intercept": prior["intercept"][None]}
            groups["prior_predictive"] = {"y_obs": (prior_mu + prior["sigma"][:, None] * noise)[None]}
        extra = az.from_dict(**groups, dims={"y_obs": ["obs"], "beta": ["channel"]},
                             coords={"channel": list(data.channels)})
        self.idata_.extend(extra)

    def _prior_draws(self, data: MMMData, priors: dict, n: int) -> dict[str, np.ndarray]:
        """``n`` joint draws from the prior (same distributions as the graph), NumPy only."""
        rng = np.random.default_rng(int(self.random_state) + 1)
        c = len(data.channels)
        sizes = {"intercept": None, "sigma": None, "baseline_coef": data.baseline.shape[1],
                 "control_coef": data.controls.shape[1]}
        out = {}
        names = ["decay", *SATURATIONS[self.saturation].params, "intercept", "baseline_coef",
                 "control_coef", "sigma", "beta"]
        for name in names:
            size = sizes.get(name, c)
            if size == 0:
                continue
            family, params = priors[name]
            out[name] = _draw(rng, family, params, (n,) if size is None else (n, size))
        out["roi_z"] = rng.standard_normal((n, c))
        if "beta" in out and priors["beta"][0] == "halfnormal":
            out["beta_z"] = out["beta"] / priors["beta"][1]["sigma"]
        else:
            out["beta_free"] = out.pop("beta")
        out["beta"] = self._beta(out, data)
        return out

    # -- results -----------------------------------------------------------------------------
    def predict(self, data: MMMData | None = None) -> np.ndarray:
        """(T,) posterior-mean expected KPI for every week of ``data`` (default: fit data)."""
        self._check_fitted()
        return self._mu_draws(self.data_ if data is None else data).mean(axis=0) * self.y_scale_

    def contributions(self) -> pd.DataFrame:
        """Weekly components in KPI units: posterior mean and 90% HDI (``CONTRIBUTION_COLUMNS``)."""
        self._check_fitted()
        parts = self._components(self.data_)
        names = ["baseline", *self.data_.channels, *self.data_.control_names]
        stacked = np.concatenate(
            [parts["base"][:, :, None], parts["media"], parts["controls"]], axis=2
        ) * self.y_scale_  # (D, T, 1 + C + K)
        low, high = hdi(stacked)
        weeks = self.data_.week_start_date
        frame = pd.DataFrame(
            {
                "week_start_date": np.tile(weeks, len(names)),
                "component": np.repeat(names, len(weeks)),
                "value": stacked.mean(axis=0).T.ravel(),
                "low": low.T.ravel(),
                "high": high.T.ravel(),
            }
        )
        return frame[CONTRIBUTION_COLUMNS]

    def roi(self) -> pd.DataFrame:
        """ROI per channel over all weeks of the fit data; interval = central 90% of draws."""
        self._check_fitted()
        totals = self._components(self.data_)["media"].sum(axis=1) * self.y_scale_  # (D, C)
        return roi_from_draws(
            self.data_.channels, self.data_.spend, totals, totals.mean(axis=0), float(self.data_.y.sum())
        )

    def response_surface(self):
        from prism_mmm.response import ResponseSurface

        self._check_fitted()
        return ResponseSurface(
            model=self.model_name,
            channels=list(self.data_.channels),
            saturation=self.saturation,
            scale=np.asarray(self.spend_scale_, dtype=float),
            coef=self.draws_["beta"] * self.y_scale_,
            sat_params={k: self.draws_[k] for k in SATURATIONS[self.saturation].params},
            current_weekly_spend=self.data_.spend.mean(axis=0),
        )

    def parameter_summary(self) -> pd.DataFrame:
        """One row per scalar parameter: mean, sd, 90% HDI, R-hat, bulk/tail ESS."""
        import arviz as az

        self._check_fitted()
        names = [n for n in ["decay", *SATURATIONS[self.saturation].params, *PARAMETERS]
                 if n in self.idata_.posterior]
        summary = az.summary(self.idata_, var_names=names, hdi_prob=INTERVAL_MASS)
        rows = []
        for label, row in summary.iterrows():
            base, _, index = label.partition("[")
            index = index.rstrip("]")
            channel = index if index in self.data_.channels else None
            rows.append(
                {
                    "parameter": base if channel or not index else label,
                    "channel": channel,
                    "mean": row["mean"],
                    "sd": row["sd"],
                    "hdi_low": row.iloc[2],
                    "hdi_high": row.iloc[3],
                    "r_hat": row["r_hat"],
                    "ess_bulk": row["ess_bulk"],
                    "ess_tail": row["ess_tail"],
                }
            )
        return pd.DataFrame(rows)

    def diagnostics(self) -> dict:
        """``status``/``message`` from the gates under ``gating``, plus the ``gates`` and
        ``parameters`` frames. Strict gating raises :class:`prism_mmm.gates.GateFailure`."""
        from prism_mmm.gates import apply_gating

        self._check_fitted()
        status, message = apply_gating(self.gates_, self.gating)
        return {
            "status": status,
            "message": message,
            "gates": self.gates_,
            "parameters": self.parameter_summary(),
        }

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``idata.nc`` (posterior with scales in its attrs, predictive groups, stats)."""
        self._check_fitted()
        path = Path(directory) / "idata.nc"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.idata_.to_netcdf(str(path))
        return path

    @classmethod
    def load(cls, directory: str | Path, data: MMMData, **params: Any) -> BayesMMM:
        """Rebuild a fitted model from ``save`` output and the data it was fitted on."""
        import arviz as az

        from prism_mmm.gates import compute_gates

        idata = az.from_netcdf(str(Path(directory) / "idata.nc"))
        idata.load()
        attrs = idata.posterior.attrs
        model = cls(sampler=attrs["sampler"], saturation=attrs["saturation"],
                    max_lag=int(attrs["max_lag"]), **params)
        model.y_scale_ = float(attrs["y_scale"])
        model.spend_scale_ = np.asarray(json.loads(attrs["spend_scale"]))
        model.control_scale_ = np.asarray(json.loads(attrs["control_scale"]))
        model.data_ = data
        model.idata_ = idata
        model.draws_ = model._flat_draws(idata)
        model.gates_ = compute_gates(idata)
        return model
