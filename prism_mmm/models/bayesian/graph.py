"""The PyMC graph of the Bayesian MMM, built and compiled once per model *structure*.

On scaled data, every week of it::

    y_t / y_scale = intercept + baseline_t @ baseline_coef + controls_t @ control_coef
                    + sum_c beta_c * sat(adstock(x_tc / spend_scale_c; adstock params_c))
                    + noise (Normal or Student-t with scale sigma)

and the likelihood of week t weighted by ``obs_weight_t`` (1 for fit weeks, 0 for holdout or
excluded weeks). Each calibrating lift test adds ``Normal(measured | implied, se)``, with the
implied lift the model's response to the test's spend change (scaled like y). Prior hyper-parameters and ROI terms live in one packed ``hyper`` data vector
and the design in ``spend_lags``/``baseline_x``/``controls_x``/``y``/``obs_weight`` data
containers, so the graph depends only on the structure (channel/control/baseline counts,
weeks, adstock lag, transforms, likelihood, prior families, which channels carry ROI priors,
sampler engine). A refit with new data, new prior values or other fit weeks (the holdout, a
cross-validation origin) only swaps values: numpyro takes the data as arguments of its
compiled sampler (:mod:`prism_mmm.models.bayesian.numpyro_sampler`), nutpie ``with_data``,
PyMC ``pm.set_data``.

A channel with an ROI prior is parametrised by its ROI (Meridian-style): ``ROI_c ~
LogNormal(mu_c, sigma_c)`` and ``beta_c = ROI_c * spend_c / (y_scale * sum_t sat_tc)`` over
fit weeks, so the prior sits on the quantity the business has a view on. The sampler moves
``roi_u`` with ``ROI = exp(mu) * softplus(roi_u)``: linear in ROI above the prior median and
log-like below it. The data pin down a channel's *contribution* (linear in ROI) against the
intercept and the seasonality it is confounded with; on the log scale that ridge is curved
and NUTS diverged on it (known-truth data with seasonal search spend: 1-10 divergences per
fit on the log scale, none with this parametrisation, and higher ESS). ``beta`` with a
HalfNormal prior (no ROI prior) is non-centred (``beta = sigma * z``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prism_mmm.priors import FAMILIES
from prism_mmm.transforms import LOG_EPS, MediaTransform


@dataclass(frozen=True)
class Structure:
    """What the compiled graph depends on; equal structures share one compiled model."""

    n_channels: int
    n_weeks: int
    n_controls: int
    n_baseline: int
    max_lag: int
    adstock: str
    saturation: str
    likelihood: str
    families: tuple[tuple[str, str], ...]
    roi_mode: str  # "all" | "none" | "mixed": which channels carry an ROI prior
    engine: str
    n_experiments: int = 0  # lift tests calibrating the fit (a likelihood term each)

    def media(self) -> MediaTransform:
        return MediaTransform(self.adstock, self.saturation, self.max_lag)

    def hyper_layout(self) -> list[tuple[str, int]]:
        """Order and length of every entry of the packed ``hyper`` data vector: prior
        hyper-parameters ``prior_<name>_<param>`` and the per-channel ROI terms."""
        c = self.n_channels
        sizes = {"intercept": 1, "sigma": 1, "nu": 1, "baseline_coef": self.n_baseline,
                 "control_coef": self.n_controls}
        families = dict(self.families)
        names = [*self.media().params, "intercept", "baseline_coef", "control_coef", "sigma"]
        if self.likelihood == "student_t":
            names.append("nu")
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
class Compiled:
    model: Any
    sampler_fn: Any  # nutpie CompiledModel, NumpyroSampler, else None (pm.sample compiles)
    mu: Any  # scaled expected KPI on fit weeks (for the NumPy-twin test)


_CACHE: dict[Structure, Compiled] = {}


def is_compiled(structure: Structure) -> bool:
    return structure in _CACHE


def build_model(structure: Structure) -> tuple[Any, Any]:
    """The PyMC model for one structure and its expected scaled KPI node."""
    import pymc as pm
    import pytensor.tensor as pt

    s = structure
    media = s.media()
    coords = {
        "channel": np.arange(s.n_channels),
        "obs": np.arange(s.n_weeks),
        "control": np.arange(s.n_controls),
        "baseline": np.arange(s.n_baseline),
    }
    families = dict(s.families)
    # check_bounds=False: the hyper-parameters are validated in Python (Prior.canonical,
    # lognormal_from_interval), so the logp graph needs no parameter checks.
    with pm.Model(coords=coords, check_bounds=False) as model:
        spend = pm.Data("spend_lags", np.zeros((s.max_lag, s.n_weeks, s.n_channels)))
        y = pm.Data("y", np.ones(s.n_weeks))
        weight = pm.Data("obs_weight", np.ones(s.n_weeks))
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

        params = {name: rv(name, "channel") for name in media.params}
        def response(lags: Any) -> Any:
            if s.engine == "nutpie":
                from prism_mmm.models.bayesian.media_op import media_response

                return media_response(media, params, lags)
            return media.tensor(lags, **params)

        sat = response(spend)

        if s.roi_mode != "none":
            roi_u = pm.Flat("roi_u", dims="channel")
            median = pt.exp(hyper["roi_mu"])
            roi = median * pt.softplus(roi_u)
            # LogNormal density of the ROI times the Jacobian |d ROI / d roi_u|.
            log_roi = pt.log(roi)
            pm.Potential("roi_prior", (
                -log_roi - pt.log(hyper["roi_sigma"])
                - (log_roi - hyper["roi_mu"]) ** 2 / (2 * hyper["roi_sigma"] ** 2)
                + pt.log(median) + pt.log(pt.sigmoid(roi_u))
            ).sum())
            beta_roi = roi * hyper["roi_factor"] / ((weight[:, None] * sat).sum(axis=0) + LOG_EPS)
        if s.roi_mode != "all":
            if families["beta"] == "halfnormal":  # non-centred
                beta_plain = hyper["prior_beta_sigma"] * pm.HalfNormal("beta_z", 1.0, dims="channel")
            else:
                beta_plain = rv("beta", "channel", var="beta_free")
        beta = {"all": lambda: beta_roi, "none": lambda: beta_plain,
                "mixed": lambda: pt.switch(hyper["use_roi"] > 0.5, beta_roi, beta_plain)}[s.roi_mode]()

        mu = rv("intercept", None) + pt.dot(sat, beta)
        if s.n_baseline:
            baseline = pm.Data("baseline_x", np.zeros((s.n_weeks, s.n_baseline)))
            mu = mu + pt.dot(baseline, rv("baseline_coef", "baseline"))
        if s.n_controls:
            controls = pm.Data("controls_x", np.zeros((s.n_weeks, s.n_controls)))
            mu = mu + pt.dot(controls, rv("control_coef", "control"))
        sigma = rv("sigma", None)
        if s.likelihood == "student_t":
            noise = pm.StudentT.dist(nu=rv("nu", None), mu=mu, sigma=sigma)
        else:
            noise = pm.Normal.dist(mu=mu, sigma=sigma)
        # Weighted, so that the fit weeks are data, not structure.
        pm.Potential("likelihood", (weight * pm.logp(noise, y)).sum())
        if s.n_experiments:
            # Lift tests: the model's incremental KPI for each test's spend change (the
            # shifted design's response minus today's, every week: adstock is causal, so the
            # weeks before a test add nothing) against the measured lift and its error.
            shape = (s.n_experiments, s.max_lag, s.n_weeks, s.n_channels)
            test_lags = pm.Data("lift_test_spend_lags", np.zeros(shape))
            measured = pm.Data("lift_test_lift", np.zeros(s.n_experiments))
            error = pm.Data("lift_test_se", np.ones(s.n_experiments))
            implied = pt.stack([pt.dot(response(test_lags[k]) - sat, beta).sum()
                                for k in range(s.n_experiments)])
            pm.Potential("lift_tests", pm.logp(
                pm.Normal.dist(mu=implied, sigma=error), measured).sum())
    return model, mu


def compiled(structure: Structure) -> Compiled:
    """The model and sampler for ``structure``, built on first use and cached in-process."""
    if structure not in _CACHE:
        model, mu = build_model(structure)
        sampler_fn = None
        if structure.engine == "nutpie":
            import nutpie

            # Store only the free variables: every derived quantity (beta, contributions)
            # is computed in NumPy afterwards, so the expand function stays trivial.
            sampler_fn = nutpie.compile_pymc_model(
                model, backend="numba", var_names=[rv.name for rv in model.free_RVs]
            )
        elif structure.engine == "numpyro":
            from prism_mmm.models.bayesian.numpyro_sampler import NumpyroSampler

            sampler_fn = NumpyroSampler.build(model)
        _CACHE[structure] = Compiled(model=model, sampler_fn=sampler_fn, mu=mu)
    return _CACHE[structure]
