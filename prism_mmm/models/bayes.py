"""Bayesian MMM (PyMC): compiled once per model structure, refitted by swapping data.

The model, its priors and the sampling engines are in :mod:`prism_mmm.models.bayesian`
(``graph``: the PyMC graph; ``priors``; ``posterior``: NumPy summaries of the draws; the
numpyro and nutpie samplers). This module is the estimator that ties them together:
``model_config`` says what is modelled, ``sampler_config`` how the posterior is sampled.

A fit scales the data (:class:`~prism_mmm.models.bayesian.design.Scales`), takes the compiled
graph for its structure from the in-process cache (building it on first use), samples, and
computes every summary in NumPy. Gates g1-g7 (:mod:`prism_mmm.gates`) are computed on every
fit; ``gating`` decides what a failed gate does.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from prism_mmm.calibration import calibrating
from prism_mmm.config import BayesModelConfig, BayesSamplingConfig
from prism_mmm.data import MMMData
from prism_mmm.models.base import (
    CONTRIBUTION_COLUMNS,
    INTERVAL_MASS,
    MMMEstimator,
    register,
    roi_from_draws,
)
from prism_mmm.models.bayesian import design, graph, posterior
from prism_mmm.models.bayesian.design import Scales, media_transform
from prism_mmm.models.bayesian.priors import PARAMETERS, resolved_priors, roi_terms
from prism_mmm.priors import support_point

# Engine settings chosen by measurement (bench/results/sampler_choices.md): nutpie needs a
# low-rank mass matrix for the correlated Hill parameters; numpyro's trees capped at depth 7
# gave the same ESS 15-20% faster.
NUTPIE_SETTINGS: dict[str, Any] = {"low_rank_modified_mass_matrix": True}
NUMPYRO_SETTINGS: dict[str, Any] = {"max_tree_depth": 7}


@register
class BayesMMM(MMMEstimator):
    """Bayesian MMM with stage-gated diagnostics.

    Parameters
    ----------
    model_config : BayesModelConfig or dict, optional
        Transforms, adstock lag, prior overrides by name (``decay``, ``half_sat``,
        ``shape``/``lam``, ``beta``, ``intercept``, ``baseline_coef``, ``control_coef``,
        ``sigma``) and ROI ranges per channel. ``None``: the defaults.
    sampler_config : BayesSamplingConfig or dict, optional
        Engine (numpyro, nutpie, pymc), chains, draws, tune, target_accept (unset: the
        engine's measured default) and prior predictive draws for g1.
    gating : str
        ``"strict"``, ``"warn"`` or ``"off"`` (see :func:`prism_mmm.gates.apply_gating`).
    random_state : int
        Seed: the same data and seed give the same numbers.
    """

    model_name = "bayes"
    config_params: ClassVar[dict[str, type]] = {
        "model_config": BayesModelConfig, "sampler_config": BayesSamplingConfig,
    }

    def __init__(
        self,
        model_config: BayesModelConfig | dict | None = None,
        sampler_config: BayesSamplingConfig | dict | None = None,
        gating: str = "warn",
        random_state: int = 0,
    ) -> None:
        self.model_config = model_config
        self.sampler_config = sampler_config
        self.gating = gating
        self.random_state = random_state

    @classmethod
    def for_tests(cls, **overrides: Any) -> BayesMMM:
        """A cheap instance for tests: 2 chains x 100/100 draws, 100 prior predictive draws
        (real sampling, so results are noisy; the compiled model is still cached per
        structure)."""
        settings = {
            "sampler_config": BayesSamplingConfig(
                chains=2, draws=100, tune=100, prior_predictive_draws=100),
            "random_state": 5,
        }
        return cls(**{**settings, **overrides})

    @classmethod
    def from_config(cls, cfg, roi_priors: dict[str, tuple[float, float]] | None = None) -> BayesMMM:
        """Build from :class:`~prism_mmm.config.PrismConfig`; ``roi_priors`` (the knowledge
        layer's expected ROI ranges) are used when ``bayes.use_knowledge_roi_priors`` is on."""
        return cls(
            model_config=cfg.bayes.model_for(cfg.transforms, roi_priors),
            sampler_config=cfg.bayes.sampling,
            gating=cfg.diagnostics_gating,
            random_state=cfg.random_seed,
        )

    # -- configuration, resolved at fit time (``__init__`` only stores) ----------------------
    def _model(self) -> BayesModelConfig:
        return BayesModelConfig.model_validate(self.model_config or {})

    def _sampling(self) -> BayesSamplingConfig:
        return BayesSamplingConfig.model_validate(self.sampler_config or {})

    def _structure(self, data: MMMData, priors: dict, terms: dict) -> graph.Structure:
        model = self._model()
        use_roi = terms["use_roi"]
        roi_mode = "all" if use_roi.all() else "none" if not use_roi.any() else "mixed"
        return graph.Structure(
            n_channels=len(data.channels),
            n_weeks=data.n_weeks,
            n_controls=data.controls.shape[1],
            n_baseline=len(design.baseline_design(data, model)[0]),
            max_lag=model.max_lag,
            adstock=model.adstock,
            saturation=model.saturation,
            likelihood=model.likelihood,
            families=tuple(sorted((k, fam) for k, (fam, _) in priors.items())),
            roi_mode=roi_mode if len(data.channels) else "none",
            engine=self._sampling().engine,
            n_experiments=len(calibrating(data)),
        )

    def _data_values(self, data: MMMData, structure: graph.Structure, priors: dict,
                     terms: dict) -> dict[str, np.ndarray]:
        """Values of the model's data containers for ``data`` (every week; the fit weeks
        are the likelihood weights)."""
        values = {**self._scaled(data), "y": data.y / self.scales_.y,
                  **design.lift_test_design(data, self.scales_, self._model())}
        hyper = []
        for name, size in structure.hyper_layout():
            if name.startswith("prior_"):
                prior, _, pname = name[len("prior_"):].rpartition("_")
                hyper.append(np.broadcast_to(np.asarray(priors[prior][1][pname], float), size))
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
        import pymc as pm

        from prism_mmm.gates import compute_gates

        tick = time.perf_counter()
        seconds = {}
        model, sampling = self._model(), self._sampling()
        self.scales_ = Scales.of(data)
        priors = resolved_priors(model, data, self.scales_)
        terms = roi_terms(model, data, self.scales_)
        structure = self._structure(data, priors, terms)
        cold = not graph.is_compiled(structure)
        if sampling.engine == "numpyro":
            from prism_mmm.models.bayesian.numpyro_sampler import ensure_host_devices

            ensure_host_devices(sampling.chains)  # before JAX's first import: parallel chains
        compiled = graph.compiled(structure)
        seconds["compile" if cold else "cached_model"] = time.perf_counter() - tick
        values = self._data_values(data, structure, priors, terms)
        with compiled.model:
            pm.set_data(values)
        tick = time.perf_counter()
        sampled = self._sample(compiled, values, priors, sampling)
        seconds["sample"] = time.perf_counter() - tick

        tick = time.perf_counter()
        self.data_ = data
        self.structure_ = structure
        self.roi_terms_ = terms
        self.idata_ = self._with_labels(sampled, data, priors)
        self.draws_ = self._flat_draws(self.idata_)
        self._add_predictive_groups(data, priors, sampling)
        self.gates_ = compute_gates(self.idata_)
        seconds["post"] = time.perf_counter() - tick
        self.fit_seconds_ = seconds
        return self

    def _sample(self, compiled: graph.Compiled, values: dict[str, np.ndarray], priors: dict,
                sampling: BayesSamplingConfig):
        import pymc as pm

        seed = int(self.random_state)
        target_accept = sampling.resolved_target_accept()
        if sampling.engine == "nutpie":
            import nutpie

            return nutpie.sample(
                compiled.sampler_fn.with_data(**values),
                draws=sampling.draws,
                tune=sampling.tune,
                chains=sampling.chains,
                cores=min(sampling.chains, os.cpu_count() or 1),
                seed=seed,
                target_accept=target_accept,
                save_warmup=False,
                progress_bar=False,
                **NUTPIE_SETTINGS,
            )
        if sampling.engine == "numpyro":
            return compiled.sampler_fn.sample(
                values, self._start_point(priors), chains=sampling.chains,
                draws=sampling.draws, tune=sampling.tune, target_accept=target_accept,
                seed=seed, settings=NUMPYRO_SETTINGS)
        with compiled.model:
            return pm.sample(
                draws=sampling.draws,
                tune=sampling.tune,
                chains=sampling.chains,
                cores=min(sampling.chains, os.cpu_count() or 1),
                target_accept=target_accept,
                random_seed=seed,
                progressbar=False,
                compute_convergence_checks=False,
            )

    @staticmethod
    def _start_point(priors: dict) -> dict[str, np.ndarray]:
        """A central value of each prior (PyMC's support points), computed in NumPy so no
        initial-point function is compiled."""
        central = {name: support_point(*prior) for name, prior in priors.items()}
        # roi_u = softplus^-1(1): every ROI starts at its prior median.
        return {**central, "roi_u": np.log(np.e - 1.0), "beta_z": 1.0,
                "beta_free": central["beta"]}

    def _with_labels(self, idata, data: MMMData, priors: dict):
        """Posterior (free variables + ``beta`` derived in NumPy) and sample_stats, with the
        data's labels on the generic model dims and the scales in the attributes."""
        import arviz as az

        labels = {
            "channel": list(data.channels),
            "control": list(data.control_names),
            "baseline": design.baseline_design(data, self._model())[0],
        }
        draws = idata.posterior
        draws = draws.assign_coords({k: v for k, v in labels.items() if k in draws.dims})
        shape = (draws.sizes["chain"], draws.sizes["draw"])
        flat = {name: arr.to_numpy().reshape(-1, *arr.shape[2:])
                for name, arr in draws.data_vars.items()}
        beta = self._beta(flat, data, priors).reshape(*shape, -1)
        draws["beta"] = (("chain", "draw", "channel"), beta)
        draws = draws.assign_coords(channel=list(data.channels))
        draws.attrs = {"scales": json.dumps({
            "y": self.scales_.y, "y_sd": self.scales_.y_sd,
            "spend": self.scales_.spend.tolist(), "controls": self.scales_.controls.tolist(),
            "binary_controls": self.scales_.binary_controls.tolist(),
        })}
        return az.InferenceData(posterior=draws, sample_stats=idata.sample_stats)

    def _beta(self, draws: posterior.Draws, data: MMMData, priors: dict) -> np.ndarray:
        fit_lags = self._scaled(data)["spend_lags"]
        return posterior.beta_draws(self._media(), draws, fit_lags[:, data.fit_mask],
                                    roi_terms(self._model(), data, self.scales_), priors["beta"])

    def _media(self):
        return media_transform(self._model())

    @staticmethod
    def _flat_draws(idata) -> dict[str, np.ndarray]:
        """name -> (D, ...) posterior draws with chains stacked."""
        out = {}
        for name in idata.posterior.data_vars:
            arr = idata.posterior[name].to_numpy()
            out[name] = arr.reshape(-1, *arr.shape[2:])
        return out

    def _scaled(self, data: MMMData) -> dict[str, np.ndarray]:
        return design.design(data, self.scales_, self._model())

    def _components(self, data: MMMData) -> dict[str, np.ndarray]:
        return posterior.components(self._media(), self.draws_, self._scaled(data))

    def _add_predictive_groups(self, data: MMMData, priors: dict,
                               sampling: BayesSamplingConfig) -> None:
        """Prior predictive (g1), posterior predictive and pointwise log-likelihood (g5, g6)
        on fit weeks, all on the scaled KPI, all in NumPy (nothing to compile)."""
        import arviz as az

        model = self._model()
        fit = data.fit_mask
        scaled = self._scaled(data)
        y_obs = data.y[fit] / self.scales_.y
        mu = posterior.mu_draws(self._media(), self.draws_, scaled)[:, fit]
        rng = np.random.default_rng(int(self.random_state) + 2)
        shape = (self.idata_.posterior.sizes["chain"], self.idata_.posterior.sizes["draw"])
        ppc = (mu + posterior.noise(model.likelihood, self.draws_, mu.shape, rng)).reshape(*shape, -1)
        loglik = posterior.log_likelihood(model.likelihood, self.draws_, y_obs, mu)
        groups = {
            "posterior_predictive": {"y_obs": ppc},
            "log_likelihood": {"y_obs": loglik.reshape(*shape, -1)},
            "observed_data": {"y_obs": y_obs},
        }
        if sampling.prior_predictive_draws:
            prior = posterior.prior_draws(
                self._media(), priors, data, scaled["spend_lags"][:, fit], self.roi_terms_,
                int(sampling.prior_predictive_draws),
                np.random.default_rng(int(self.random_state) + 1),
                n_baseline=scaled["baseline_x"].shape[1], likelihood=model.likelihood)
            prior_mu = posterior.mu_draws(self._media(), prior, scaled)[:, fit]
            prior_noise = posterior.noise(model.likelihood, prior, prior_mu.shape,
                                          np.random.default_rng(int(self.random_state) + 3))
            groups["prior"] = {"beta": prior["beta"][None], "intercept": prior["intercept"][None]}
            groups["prior_predictive"] = {"y_obs": (prior_mu + prior_noise)[None]}
        extra = az.from_dict(**groups, dims={"y_obs": ["obs"], "beta": ["channel"]},
                             coords={"channel": list(data.channels)})
        self.idata_.extend(extra)

    # -- results -----------------------------------------------------------------------------
    def predict(self, data: MMMData | None = None) -> np.ndarray:
        """(T,) posterior-mean expected KPI for every week of ``data`` (default: fit data)."""
        self._check_fitted()
        scaled = self._scaled(self.data_ if data is None else data)
        return posterior.mu_draws(self._media(), self.draws_, scaled).mean(axis=0) * self.scales_.y

    def contributions(self) -> pd.DataFrame:
        """Weekly components in KPI units: posterior mean and 90% HDI (``CONTRIBUTION_COLUMNS``)."""
        self._check_fitted()
        parts = self._components(self.data_)
        names = ["baseline", *self.data_.channels, *self.data_.control_names]
        stacked = np.concatenate(
            [parts["base"][:, :, None], parts["media"], parts["controls"]], axis=2
        ) * self.scales_.y  # (D, T, 1 + C + K)
        low, high = posterior.hdi(stacked)
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
        totals = self._components(self.data_)["media"].sum(axis=1) * self.scales_.y  # (D, C)
        return roi_from_draws(
            self.data_.channels, self.data_.spend, totals, totals.mean(axis=0),
            float(self.data_.y.sum()),
        )

    def response_surface(self):
        from prism_mmm.response import ResponseSurface

        self._check_fitted()
        media = self._media()
        return ResponseSurface(
            model=self.model_name,
            channels=list(self.data_.channels),
            saturation=media.saturation.name,
            scale=np.asarray(self.scales_.spend, dtype=float),
            coef=self.draws_["beta"] * self.scales_.y,
            sat_params={k: self.draws_[k] for k in media.saturation_params},
            current_weekly_spend=self.data_.spend.mean(axis=0),
        )

    def parameter_summary(self) -> pd.DataFrame:
        """One row per scalar parameter: mean, sd, 90% HDI, R-hat, bulk/tail ESS."""
        import arviz as az

        self._check_fitted()
        names = [n for n in [*self._media().params, *PARAMETERS] if n in self.idata_.posterior]
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
    def _save_state(self, directory: Path) -> None:
        self.idata_.to_netcdf(str(directory / "idata.nc"))

    def _load_state(self, directory: Path) -> None:
        import arviz as az

        from prism_mmm.gates import compute_gates

        idata = az.from_netcdf(str(directory / "idata.nc"))
        idata.load()
        scales = json.loads(idata.posterior.attrs["scales"])
        self.scales_ = Scales(
            y=float(scales["y"]), y_sd=float(scales["y_sd"]),
            spend=np.asarray(scales["spend"], dtype=float),
            controls=np.asarray(scales["controls"], dtype=float),
            binary_controls=np.asarray(scales["binary_controls"], dtype=bool),
        )
        self.idata_ = idata
        self.draws_ = self._flat_draws(idata)
        self.roi_terms_ = roi_terms(self._model(), self.data_, self.scales_)
        priors = resolved_priors(self._model(), self.data_, self.scales_)
        self.structure_ = self._structure(self.data_, priors, self.roi_terms_)
        self.gates_ = compute_gates(idata)
