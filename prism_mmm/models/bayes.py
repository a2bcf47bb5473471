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

Compile once: prior parameters, the ROI switch and all data live in ``pm.Data`` containers,
so the graph depends only on the *structure* (channel/control/baseline counts, weeks, fit
weeks, adstock lag, saturation, prior families, sampler). One model and one compiled sampler
per structure are cached in-process; a refit with new data or prior values only swaps values
(nutpie ``with_data``; PyMC/numpyro ``pm.set_data``).

Posterior summaries (contributions, ROI, predictions, log-likelihood, posterior predictive)
are computed in NumPy from the posterior draws with the same maths as the graph (a test checks
the two agree), so nothing is recompiled after sampling.
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
_EPS = 1e-12


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


def roi_lognormal(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the LogNormal whose central 90% interval is ``(low, high)``."""
    if not 0 < low < high:
        raise ValueError(f"ROI range must satisfy 0 < low < high, got ({low}, {high})")
    return (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / (2 * Z90)


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
        z = params["shape"] * (np.log(np.maximum(x, _EPS)) - np.log(params["half_sat"]))
        return 1.0 / (1.0 + np.exp(-z))
    return np.tanh(params["lam"] * np.maximum(x, 0.0) / 2.0)  # == (1 - e^-lx) / (1 + e^-lx)


@dataclass
class _Structure:
    """What the compiled graph depends on; equal structures share one compiled model."""

    n_channels: int
    n_weeks: int
    n_fit: int
    n_controls: int
    n_baseline: int
    max_lag: int
    saturation: str
    families: tuple[tuple[str, str], ...]
    sampler: str

    def key(self) -> tuple:
        return tuple(self.__dict__.values())


@dataclass
class _Compiled:
    model: Any
    sampler_fn: Any  # nutpie CompiledModel, else None (PyMC/numpyro compile inside pm.sample)
    mu: Any  # scaled expected KPI for every week (for the NumPy-twin test)


_CACHE: dict[tuple, _Compiled] = {}


def clear_cache() -> None:
    """Forget every compiled model (tests use it to measure cold fits)."""
    _CACHE.clear()


def _build_model(structure: _Structure) -> Any:
    import pymc as pm
    import pytensor.tensor as pt

    s = structure
    coords = {
        "channel": np.arange(s.n_channels),
        "lag": np.arange(s.max_lag),
        "week": np.arange(s.n_weeks),
        "obs": np.arange(s.n_fit),
        "control": np.arange(s.n_controls),
        "baseline": np.arange(s.n_baseline),
    }
    shapes = {
        "intercept": (),
        "sigma": (),
        "baseline_coef": (s.n_baseline,),
        "control_coef": (s.n_controls,),
    }
    dims = {"baseline_coef": "baseline", "control_coef": "control"}
    families = dict(s.families)
    with pm.Model(coords=coords) as model:
        spend = pm.Data("spend_lags", np.zeros((s.max_lag, s.n_weeks, s.n_channels)))
        fit_idx = pm.Data("fit_idx", np.arange(s.n_fit, dtype="int64"))
        y = pm.Data("y", np.ones(s.n_fit))

        def rv(name: str, shape: tuple[int, ...], dim: str | None, var: str = "") -> Any:
            cls_name, pnames = FAMILIES[families[name]]
            hyper = {p: pm.Data(f"prior_{name}_{p}", np.ones(shape)) for p in pnames}
            return getattr(pm, cls_name)(var or name, **hyper, dims=dim)

        channel_params = {"decay": rv("decay", (s.n_channels,), "channel")}
        for pname in SATURATIONS[s.saturation].params:
            channel_params[pname] = rv(pname, (s.n_channels,), "channel")

        decay = channel_params["decay"]
        powers = decay[None, :] ** pt.arange(s.max_lag)[:, None]  # (L, C)
        weights = powers / powers.sum(axis=0, keepdims=True)
        adstocked = (weights[:, None, :] * spend).sum(axis=0)  # (T, C)
        if s.saturation == "hill":
            z = channel_params["shape"] * (
                pt.log(pt.maximum(adstocked, _EPS)) - pt.log(channel_params["half_sat"])
            )
            sat = pt.sigmoid(z)
        else:
            sat = pt.tanh(channel_params["lam"] * adstocked / 2.0)

        # beta: HalfNormal-type prior (non-centred when HalfNormal) or derived from an ROI prior
        if families["beta"] == "halfnormal":
            beta_sigma = pm.Data("prior_beta_sigma", np.ones(s.n_channels))
            beta_z = pm.HalfNormal("beta_z", 1.0, dims="channel")
            beta_plain = beta_sigma * beta_z
        else:
            beta_plain = rv("beta", (s.n_channels,), "channel", var="beta_free")
        use_roi = pm.Data("use_roi", np.zeros(s.n_channels))
        roi_mu = pm.Data("roi_mu", np.zeros(s.n_channels))
        roi_sigma = pm.Data("roi_sigma", np.ones(s.n_channels))
        roi_factor = pm.Data("roi_factor", np.ones(s.n_channels))  # fit spend / y_scale
        roi_z = pm.Normal("roi_z", 0.0, 1.0, dims="channel")
        roi = pt.exp(roi_mu + roi_sigma * roi_z)
        beta_roi = roi * roi_factor / (sat[fit_idx].sum(axis=0) + _EPS)
        beta = pm.Deterministic(
            "beta", pt.switch(use_roi > 0.5, beta_roi, beta_plain), dims="channel"
        )

        mu = rv("intercept", shapes["intercept"], None) + (beta[None, :] * sat).sum(axis=1)
        if s.n_baseline:
            baseline = pm.Data("baseline_x", np.zeros((s.n_weeks, s.n_baseline)))
            mu = mu + pt.dot(baseline, rv("baseline_coef", shapes["baseline_coef"], dims["baseline_coef"]))
        if s.n_controls:
            controls = pm.Data("controls_x", np.zeros((s.n_weeks, s.n_controls)))
            mu = mu + pt.dot(controls, rv("control_coef", shapes["control_coef"], dims["control_coef"]))
        sigma = rv("sigma", shapes["sigma"], None)
        pm.Normal("y_obs", mu=mu[fit_idx], sigma=sigma, observed=y, dims="obs")
    return model, mu


def _compiled(structure: _Structure) -> _Compiled:
    key = structure.key()
    if key not in _CACHE:
        model, mu = _build_model(structure)
        sampler_fn = None
        if structure.sampler == "nutpie":
            import nutpie

            sampler_fn = nutpie.compile_pymc_model(model, backend="numba")
        _CACHE[key] = _Compiled(model=model, sampler_fn=sampler_fn, mu=mu)
    return _CACHE[key]


@register
class BayesMMM(MMMEstimator):
    """Bayesian MMM with stage-gated diagnostics (see the module docstring for the model).

    Parameters
    ----------
    chains, draws, tune, target_accept
        NUTS settings.
    sampler
        ``"nutpie"`` (numba; compiled once per structure, fastest warm), ``"numpyro"`` (JAX)
        or ``"pymc"``.
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
        target_accept: float = 0.95,
        sampler: str = "nutpie",
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

    def _data_values(self, data: MMMData, priors: dict) -> dict[str, np.ndarray]:
        c = len(data.channels)
        shapes = {"intercept": (), "sigma": (), "baseline_coef": (data.baseline.shape[1],),
                  "control_coef": (data.controls.shape[1],)}
        fit_idx = np.flatnonzero(data.fit_mask).astype("int64")
        values = {**self._design(data), "fit_idx": fit_idx, "y": data.y[fit_idx] / self.y_scale_}
        for name, (_, params) in priors.items():
            shape = shapes.get(name, (c,))
            if 0 in shape:  # no controls / no baseline terms: the graph has no such prior
                continue
            for pname, value in params.items():
                values[f"prior_{name}_{pname}"] = np.full(shape, value)
        roi = self.roi_priors or {}
        unknown = set(roi) - set(data.channels)
        if unknown:
            raise ValueError(f"roi_priors for unknown channels {sorted(unknown)}")
        values["use_roi"] = np.array([float(ch in roi) for ch in data.channels])
        mus_sigmas = [roi_lognormal(*roi[ch]) if ch in roi else (0.0, 1.0) for ch in data.channels]
        values["roi_mu"] = np.array([m for m, _ in mus_sigmas])
        values["roi_sigma"] = np.array([s for _, s in mus_sigmas])
        values["roi_factor"] = data.spend[fit_idx].sum(axis=0) / self.y_scale_
        if data.baseline.shape[1] == 0:
            values.pop("baseline_x")
        if data.controls.shape[1] == 0:
            values.pop("controls_x")
        return values

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, data: MMMData) -> BayesMMM:
        import pymc as pm

        priors = self._resolved_priors()
        self._scales(data)
        structure = _Structure(
            n_channels=len(data.channels),
            n_weeks=data.n_weeks,
            n_fit=int(data.fit_mask.sum()),
            n_controls=data.controls.shape[1],
            n_baseline=data.baseline.shape[1],
            max_lag=self.max_lag,
            saturation=self.saturation,
            families=tuple(sorted((k, fam) for k, (fam, _) in priors.items())),
            sampler=self.sampler,
        )
        compiled = _compiled(structure)
        values = self._data_values(data, priors)
        with compiled.model:
            pm.set_data(values)
        posterior = self._sample(compiled, values)
        idata = self._relabel(posterior, data)

        self.data_ = data
        self.structure_ = structure
        self.draws_ = self._flat_draws(idata)
        self.idata_ = idata
        self._add_predictive_groups(compiled, data)
        from prism_mmm.gates import compute_gates

        self.gates_ = compute_gates(self.idata_)
        return self

    def _sample(self, compiled: _Compiled, values: dict[str, np.ndarray]):
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
            )
        kwargs: dict[str, Any] = {}
        if self.sampler == "numpyro":
            kwargs = {"nuts_sampler": "numpyro", "nuts_sampler_kwargs": {"chain_method": "vectorized"}}
        elif self.sampler != "pymc":
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
                **kwargs,
            )

    def _relabel(self, idata, data: MMMData):
        """Keep posterior + sample_stats with the data's labels on the generic model dims."""
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
        posterior.attrs = {
            "y_scale": self.y_scale_,
            "spend_scale": json.dumps(self.spend_scale_.tolist()),
            "control_scale": json.dumps(self.control_scale_.tolist()),
            "sampler": self.sampler,
            "saturation": self.saturation,
            "max_lag": self.max_lag,
        }
        return az.InferenceData(posterior=posterior, sample_stats=idata.sample_stats)

    def _flat_draws(self, idata) -> dict[str, np.ndarray]:
        """name -> (D, ...) posterior draws with chains stacked."""
        out = {}
        names = ["decay", *SATURATIONS[self.saturation].params, *PARAMETERS]
        for name in names:
            if name in idata.posterior:
                arr = idata.posterior[name].to_numpy()
                out[name] = arr.reshape(-1, *arr.shape[2:])
        return out

    # -- NumPy forward pass ------------------------------------------------------------------
    def _components(self, data: MMMData, draws: dict[str, np.ndarray] | None = None) -> dict:
        """Scaled components per draw for every week of ``data``: media (D, T, C),
        base (D, T) = intercept + trend + seasonality, controls (D, T, K)."""
        d = self.draws_ if draws is None else draws
        design = self._design(data)
        lags = np.arange(self.max_lag)
        weights = d["decay"][:, None, :] ** lags[None, :, None]  # (D, L, C)
        weights = weights / weights.sum(axis=1, keepdims=True)
        adstocked = np.einsum("dlc,ltc->dtc", weights, design["spend_lags"])
        params = {k: d[k][:, None, :] for k in SATURATIONS[self.saturation].params}
        media = d["beta"][:, None, :] * saturate(adstocked, self.saturation, params)
        base = np.repeat(d["intercept"][:, None], data.n_weeks, axis=1)
        if "baseline_coef" in d:
            base = base + d["baseline_coef"] @ design["baseline_x"].T
        n_draws = len(d["intercept"])
        controls = np.zeros((n_draws, data.n_weeks, data.controls.shape[1]))
        if "control_coef" in d:
            controls = d["control_coef"][:, None, :] * design["controls_x"][None]
        return {"media": media, "base": base, "controls": controls}

    def _mu_draws(self, data: MMMData) -> np.ndarray:
        parts = self._components(data)
        return parts["base"] + parts["media"].sum(axis=2) + parts["controls"].sum(axis=2)

    def _add_predictive_groups(self, compiled: _Compiled, data: MMMData) -> None:
        """Prior predictive (g1), posterior predictive and pointwise log-likelihood (g5, g6)
        on fit weeks, all on the scaled KPI."""
        import arviz as az
        import pymc as pm
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
        extra = az.from_dict(**groups, dims={"y_obs": ["obs"]})
        self.idata_.extend(extra)
        if self.prior_predictive_draws:
            with compiled.model:
                prior = pm.sample_prior_predictive(
                    draws=self.prior_predictive_draws,
                    var_names=["y_obs", "beta", "intercept"],
                    random_seed=int(self.random_state) + 1,
                )
            prior.prior = prior.prior.assign_coords(channel=list(data.channels))
            self.idata_.extend(az.InferenceData(prior=prior.prior, prior_predictive=prior.prior_predictive))

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
