"""NLS MMM: learns adstock and saturation parameters per channel by bounded least squares.

The model is the Ridge model's (``prism_mmm.models.ridge``) without a penalty, with every
channel's transform parameters (geometric + Hill: ``decay``, ``half_sat``, ``shape``) learned
from the data::

    y_t = Z_t gamma + sum_c beta_c * sat(adstock(spend_ct / scale_c; adstock params_c); sat params_c)

``Z`` holds the intercept, trend, seasonality and controls; ``beta_c >= 0``; ``scale_c`` is
the channel's largest fit-week spend. The transform bounds are the transforms' own
``Param.bounds``, so NLS, Ridge and Bayes share one parameter space. Control coefficients are
free; the baseline part of ``Z_t gamma`` (intercept + trend + seasonality, the ``baseline``
component of ``contributions()``) is constrained to be >= 0 in every week of the data when
``nonneg_baseline`` is on (default), for the reasons given in ``prism_mmm.models.ridge``
(apparel seed without it: media 154% of revenue).

Variable projection: ``gamma`` enters linearly, so for any media parameters its best value is
a (constrained) least-squares fit; the optimiser only sees the residual
``r = t - Z gamma*(t)`` with ``t = y - F(theta) beta``. Without the baseline constraint this
is ``P t`` with ``P`` the projector onto the orthogonal complement of ``Z``. With it,
``Z gamma*`` is the projection of ``t`` onto a convex polyhedral cone (:class:`LinearPart`):
still continuous, with ``r`` the exact gradient of ``||r||^2 / 2`` w.r.t. ``t``, and within
one set of active constraints again a linear projection, which gives the Jacobian. That removes
the baseline from the search (fewer parameters, better conditioning), and an analytic Jacobian
can be used. The transform parameters are penalised towards their priors
(:class:`PriorPenalty`, a MAP estimate) and each calibrating lift test adds one residual
(``prism_mmm.calibration``). Multiple starts guard against local minima; intervals come from a moving-block
bootstrap of the residuals, each refit warm-started from the full fit and under the same
constraint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, nnls

from prism_mmm.calibration import (
    calibrating,
    calibration_note,
    perturbed_lifts,
    response_start,
    shifted_design,
)
from prism_mmm.config import PrismConfig
from prism_mmm.data import MMMData
from prism_mmm.models.base import (
    MMMEstimator,
    cone_constrained_lsq,
    contributions_frame,
    floor_note,
    media_share_problem,
    moving_block_indices,
    negligible_channels,
    parameter_summary,
    register,
    roi_from_draws,
)
from prism_mmm.models.ridge import channel_scale
from prism_mmm.priors import moments
from prism_mmm.response import ResponseSurface
from prism_mmm.transforms import MediaTransform, typical_spend

AT_BOUND_TOL = 1e-3
# A parameter whose posterior spread is at least half its prior spread is reported as weakly
# identified: the data narrowed it by less than a factor of two.
WEAK_IDENTIFICATION = 0.5


class PriorPenalty:
    """The transform parameters' priors as least-squares residuals: ``r(theta)`` with
    ``r^2 / 2`` the prior's negative log density up to a constant, so that the penalised fit is
    the MAP estimate under the Bayesian model's own priors.

    - LogNormal: ``r = (log theta - mu) / sigma``; Normal (and HalfNormal, via its moments):
      ``r = (theta - mean) / sd``.
    - Beta and Gamma with a mode inside their support (both shape parameters above 1):
      the exact density, ``r = sign(theta - mode) * sqrt(2 (nlp(theta) - nlp(mode)))``. A
      Gaussian with the same moments would let a decay reach 0 at the cost of about two
      standard errors, where the Beta(2, 2) prior has no mass at all (measured on the bundled
      brand: two adstock decays sat on 0); the exact penalty grows without bound there.
    - Other Beta / Gamma shapes: the Gaussian with their moments.

    ``spread`` is each prior's sd on the scale its residual uses (log scale for LogNormal), the
    yardstick of :meth:`shrinkage`.
    """

    def __init__(self, priors: list[tuple[str, dict[str, float]]], n_channels: int) -> None:
        rows = [self._terms(family, values) for family, values in priors]

        def column(i: int, dtype: type = float) -> np.ndarray:
            return np.column_stack([np.broadcast_to(np.asarray(r[i], dtype), n_channels)
                                    for r in rows])

        self.kind = column(0, object)
        self.a, self.b, self.centre, self.spread = (column(i) for i in range(1, 5))
        self.log_scale = self.kind == "log"

    @staticmethod
    def _terms(family: str, values: dict[str, float]) -> tuple:
        """(kind, a, b, centre, spread): kind 'log', 'gauss', 'beta' or 'gamma' (centre: the
        mode for the exact families). Only LogNormal priors are per channel (anchored)."""
        if family == "lognormal":
            return "log", 0.0, 0.0, values["mu"], values["sigma"]
        mean, sd = moments(family, values)
        a, b = values.get("alpha", 0.0), values.get("beta", 0.0)
        if family == "beta" and a > 1 and b > 1:
            return "beta", a, b, (a - 1) / (a + b - 2), sd
        if family == "gamma" and a > 1:
            return "gamma", a, b, (a - 1) / b, sd
        return "gauss", 0.0, 0.0, mean, sd

    def _exact(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Negative log density above the mode, its first and second derivatives (Beta and
        Gamma cells; zeros elsewhere)."""
        x = np.clip(theta, 1e-12, None)
        beta, gamma = self.kind == "beta", self.kind == "gamma"
        one_minus = np.clip(1 - x, 1e-12, None)
        mode_minus = np.clip(1 - self.centre, 1e-12, None)
        mode = np.clip(self.centre, 1e-12, None)
        am1, bm1 = self.a - 1, self.b - 1
        nlp = slope = curve = np.zeros_like(x)
        nlp = np.where(beta, -am1 * np.log(x / mode) - bm1 * np.log(one_minus / mode_minus), nlp)
        slope = np.where(beta, -am1 / x + bm1 / one_minus, slope)
        curve = np.where(beta, am1 / x**2 + bm1 / one_minus**2, curve)
        nlp = np.where(gamma, -am1 * np.log(x / mode) + self.b * (x - mode), nlp)
        slope = np.where(gamma, -am1 / x + self.b, slope)
        curve = np.where(gamma, am1 / x**2, curve)
        return np.clip(nlp, 0.0, None), slope, curve

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """(C, P) residuals."""
        value = np.where(self.log_scale, np.log(np.maximum(theta, 1e-12)), theta)
        gaussian = (value - self.centre) / self.spread
        nlp, _, _ = self._exact(theta)
        exact = np.sign(theta - self.centre) * np.sqrt(2 * nlp)
        return np.where(np.isin(self.kind, ("beta", "gamma")), exact, gaussian)

    def slopes(self, theta: np.ndarray) -> np.ndarray:
        """(C, P) derivative of each residual in its own parameter."""
        gaussian = np.where(self.log_scale, 1.0 / (np.maximum(theta, 1e-12) * self.spread),
                            1.0 / self.spread)
        nlp, slope, curve = self._exact(theta)
        r = np.sqrt(2 * nlp)
        # dr/dtheta = nlp' / r; at the mode (r -> 0) its limit sqrt(nlp'').
        exact = np.where(r > 1e-6, np.abs(slope) / np.maximum(r, 1e-300), np.sqrt(curve))
        return np.where(np.isin(self.kind, ("beta", "gamma")), exact, gaussian)

    def shrinkage(self, jac: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """(C, P) approximate posterior sd of each transform parameter relative to its prior
        spread, from the penalised problem's Gauss-Newton curvature: near 1 the data add
        little to the prior (weakly identified), near 0 they pin the parameter down."""
        covariance = np.linalg.pinv(jac.T @ jac)
        sd = np.sqrt(np.clip(np.diag(covariance)[: theta.size], 0.0, None))
        per_unit = np.where(self.log_scale.ravel(), 1.0 / np.maximum(theta, 1e-12), 1.0)
        return (sd * per_unit / self.spread.ravel()).reshape(self.spread.shape)


class _LiftTerms:
    """The calibrating lift tests as NLS residuals ``(implied - measured) / se`` in units of
    the KPI's spread, with their Jacobian. A test moves one channel's spend, so its implied
    lift is ``beta_c * sum_t (F_c(shifted) - F_c(today))`` from the window's first week on,
    and only that channel's transform parameters and coefficient enter it."""

    def __init__(self, data: MMMData, tests, scale: np.ndarray, media: MediaTransform,
                 names: list[str], y_unit: float) -> None:
        self.media, self.names = media, names
        self.channel = [data.channels.index(t.channel) for t in tests]
        self.start = [response_start(data, t) for t in tests]
        # Per test: its channel's scaled spend today and with the test's change.
        self.spend = [np.column_stack([data.spend[:, c], shifted_design(data, t).spend[:, c]])
                      / scale[c] for t, c in zip(tests, self.channel)]
        self.measured = np.array([t.lift_total for t in tests]) / y_unit
        self.se = np.array([t.lift_se_total for t in tests]) / y_unit

    def _differences(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R,) summed feature change and (R, P) its gradient in the test channel's
        parameters."""
        change, gradient = [], []
        for k, c in enumerate(self.channel):
            params = {name: np.repeat(theta[c, j], 2) for j, name in enumerate(self.names)}
            features, grads = self.media.with_gradients(self.spend[k], **params)
            after = slice(self.start[k], None)
            change.append((features[after, 1] - features[after, 0]).sum())
            gradient.append((grads[after, 1] - grads[after, 0]).sum(axis=0))
        return np.array(change), np.array(gradient)

    def residuals(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        change, _ = self._differences(theta)
        return (beta[self.channel] * change - self.measured) / self.se

    def jacobian(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        n_channels, n_params = theta.shape
        change, gradient = self._differences(theta)
        rows = np.zeros((len(self.channel), theta.size + n_channels))
        for k, c in enumerate(self.channel):
            rows[k, c * n_params : (c + 1) * n_params] = beta[c] * gradient[k] / self.se[k]
            rows[k, theta.size + c] = change[k] / self.se[k]
        return rows


class LinearPart:
    """The free-sign linear block ``Z gamma`` (intercept, controls, trend, seasonality) of the
    NLS model, fitted by least squares for a given media part.

    ``z_fit`` is the (n, q) design on the fit weeks, ``floor`` the (W, q) rows of ``Z`` whose
    baseline part must stay >= 0 (one per week; control columns zero) or None. ``gamma`` is
    kept in the row space of ``z_fit`` (rank-revealing SVD ``Z = U S V'``): a control that is
    constant on the fit weeks, e.g. an event in the holdout, adds no direction and gets the
    minimum-norm coefficient 0, as with ``lstsq``. In those coordinates (``gamma = V delta``)
    the Hessian is ``diag(S^2)``, so the constrained fit is :func:`cone_constrained_lsq` with
    ``w = diag(1 / S)`` and costs two small products when no constraint binds.
    """

    def __init__(self, z_fit: np.ndarray, floor: np.ndarray | None) -> None:
        u, singular, vt = np.linalg.svd(z_fit, full_matrices=False)
        keep = singular > singular.max() * 1e-10 if singular.size else np.zeros(0, dtype=bool)
        self.basis, self.singular, self.v = u[:, keep], singular[keep], vt[keep].T
        self.g = (np.zeros((0, z_fit.shape[1])) if floor is None else floor) @ self.v
        self.w = np.diag(1.0 / self.singular)
        self.gw = self.g / self.singular[None, :]
        self._faces: dict[bytes, np.ndarray] = {}

    def fit(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``gamma`` ((q,) or (q, D)), the fitted ``Z gamma`` and the active floor rows for a
        target ((n,) or (n, D)): the KPI minus the media part."""
        free = (self.basis.T @ target) / self.singular.reshape((-1,) + (1,) * (target.ndim - 1))
        delta, active = cone_constrained_lsq(self.w, free, self.g, self.gw)
        scaled = self.singular.reshape((-1,) + (1,) * (target.ndim - 1)) * delta
        return self.v @ delta, self.basis @ scaled, active

    def face_basis(self, active: np.ndarray) -> np.ndarray:
        """Orthonormal basis of the fitted values reachable with the ``active`` floor rows
        held at zero. Near a solution with this active set the fitted linear part is the
        projection of the target onto it, so ``I - basis basis'`` is the derivative of the
        residual (variable projection with the constraint, exact within one active set)."""
        if not active.any():
            return self.basis
        key = active.tobytes()
        if key not in self._faces:
            # delta in the null space of the active rows, then mapped to fitted values.
            _, singular, vt = np.linalg.svd(self.g[active], full_matrices=True)
            rank = int(np.sum(singular > singular.max() * 1e-10)) if singular.size else 0
            directions = self.singular[:, None] * vt[rank:].T
            if directions.shape[1]:
                q, r = np.linalg.qr(directions)
                keep = np.abs(np.diag(r)) > np.abs(np.diag(r)).max() * 1e-10
                self._faces[key] = self.basis @ q[:, keep]
            else:
                self._faces[key] = self.basis[:, :0]
        return self._faces[key]


@register
class NlsMMM(MMMEstimator):
    """Bounded nonlinear least-squares MMM (see module docstring).

    Parameters
    ----------
    adstock, saturation : str
        Registered transform names (``prism_mmm.transforms``); their ``Param.bounds`` bound
        the search.
    max_lag : int
        Adstock window in weeks.
    params : dict, optional
        Starting values of the first start for every channel (clipped into bounds); unset
        parameters start at their transform's default.
    n_starts : int
        Optimiser starts: the first from ``params``, the rest drawn from the transforms'
        priors (a start on a bound tends to stay stuck there).
    n_boot, block_weeks : int
        Moving-block residual bootstrap refits and block length.
    max_nfev : int
        Evaluation budget of one full optimisation; bootstrap refits get a fifth of it
        (they start at the optimum of a nearby problem).
    random_state : int
        Seed of the random starts and the bootstrap.
    nonneg_baseline : bool
        Constrain the baseline (intercept + trend + seasonality) to be >= 0 in every week.
    regularize : bool
        Penalise the transform parameters towards their priors (the Bayesian model's), so a
        parameter the data barely inform stays near its prior instead of on a bound.
    """

    model_name = "nls"

    def __init__(
        self,
        adstock: str = "geometric",
        saturation: str = "hill",
        max_lag: int = 8,
        params: dict[str, float] | None = None,
        n_starts: int = 4,
        n_boot: int = 100,
        block_weeks: int = 8,
        max_nfev: int = 200,
        random_state: int = 0,
        nonneg_baseline: bool = True,
        regularize: bool = True,
    ) -> None:
        self.adstock = adstock
        self.saturation = saturation
        self.max_lag = max_lag
        self.params = params
        self.n_starts = n_starts
        self.n_boot = n_boot
        self.block_weeks = block_weeks
        self.max_nfev = max_nfev
        self.random_state = random_state
        self.nonneg_baseline = nonneg_baseline
        self.regularize = regularize

    @classmethod
    def from_config(cls, cfg: PrismConfig) -> NlsMMM:
        """Build from ``PrismConfig`` (configured transform values are the first start)."""
        transforms = cfg.transforms
        return cls(
            adstock=transforms.adstock,
            saturation=transforms.saturation,
            max_lag=transforms.max_lag,
            params=dict(transforms.params),
            n_starts=cfg.nls.n_starts,
            n_boot=cfg.nls.n_boot,
            block_weeks=cfg.nls.block_weeks,
            random_state=cfg.random_seed,
            nonneg_baseline=cfg.nls.nonneg_baseline,
            regularize=cfg.nls.regularize,
        )

    def _media(self) -> MediaTransform:
        return MediaTransform(self.adstock, self.saturation, self.max_lag)

    # -- fitting ------------------------------------------------------------------------
    def fit(self, data: MMMData) -> NlsMMM:
        fit_rows = np.flatnonzero(data.fit_mask)
        n_channels = len(data.channels)
        z_fit = self._linear_design(data)[fit_rows]
        media = self._media()
        names = list(media.params)
        n_params = len(names)
        n_media = (n_params + 1) * n_channels
        if len(fit_rows) <= z_fit.shape[1] + n_media:
            raise ValueError(
                f"{len(fit_rows)} fit weeks are too few for {n_media} media parameters"
                f" plus {z_fit.shape[1]} baseline terms"
            )
        self.scale_ = channel_scale(data.spend, data.fit_mask)
        scaled = data.spend / self.scale_[None, :]
        y_fit = data.y[fit_rows]
        # Work in units of the KPI's spread so coefficients and tolerances are O(1).
        y_unit = float(np.std(y_fit)) or 1.0
        linear = LinearPart(z_fit, self._floor_rows(data) if self.nonneg_baseline else None)
        basis = linear.basis

        def project(v: np.ndarray) -> np.ndarray:
            return v - basis @ (basis.T @ v)

        def unpack(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return (x[: n_params * n_channels].reshape(n_channels, n_params),
                    x[n_params * n_channels :])

        def features_and_gradients(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return media.with_gradients(scaled, **dict(zip(names, theta.T, strict=True)))

        last: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        faces: dict[bytes, np.ndarray] = {}

        def transformed(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # least_squares asks for the residual and then the Jacobian at the same point:
            # compute the features once for both.
            key = theta.tobytes()
            if key not in last:
                last.clear()
                last[key] = features_and_gradients(theta)
            return last[key]

        def residuals(x: np.ndarray, target: np.ndarray) -> np.ndarray:
            theta, beta = unpack(x)
            features, _ = transformed(theta)
            rest = target - features[fit_rows] @ beta
            _, fitted_linear, active = linear.fit(rest)
            faces.clear()
            faces[x.tobytes() + target.tobytes()] = active
            return rest - fitted_linear

        def jacobian(x: np.ndarray, target: np.ndarray) -> np.ndarray:
            theta, beta = unpack(x)
            features, gradients = transformed(theta)
            active = faces.get(x.tobytes() + target.tobytes())
            if active is None:
                active = linear.fit(target - features[fit_rows] @ beta)[2]
            face = linear.face_basis(active)
            d_theta = -(gradients[fit_rows] * beta[None, :, None]).reshape(len(fit_rows), -1)
            jac = np.column_stack([d_theta, -features[fit_rows]])
            return jac - face @ (face.T @ jac)

        bounds = np.array([media.params[k].bounds for k in names])  # (P, 2)
        lower = np.concatenate([np.tile(bounds[:, 0], n_channels), np.zeros(n_channels)])
        upper = np.concatenate([np.tile(bounds[:, 1], n_channels), np.full(n_channels, np.inf)])

        # Penalised least squares towards the transforms' priors (a MAP estimate, see
        # PriorPenalty): without it a parameter the data barely inform runs to its bound. The
        # data residuals are divided by the noise scale of the unpenalised fit. Each
        # calibrating lift test adds (implied - measured) / se on the same footing.
        prior = self._prior_terms(media, scaled[fit_rows])
        tests = calibrating(data)
        self.calibrated_on_ = [t.experiment_id for t in tests]
        lift = _LiftTerms(data, tests, self.scale_, media, names, y_unit)
        penalty = {"on": False, "noise": 1.0}  # switched on after the unpenalised starts

        def penalised(x: np.ndarray, target: np.ndarray) -> np.ndarray:
            data_part = residuals(x, target)
            if not penalty["on"]:
                return data_part
            theta, beta = unpack(x)
            parts = [data_part / penalty["noise"]]
            if self.regularize:
                parts.append(prior.residuals(theta).ravel())
            if tests:
                parts.append(lift.residuals(theta, beta))
            return np.concatenate(parts)

        def penalised_jacobian(x: np.ndarray, target: np.ndarray) -> np.ndarray:
            jac = jacobian(x, target)
            if not penalty["on"]:
                return jac
            theta, beta = unpack(x)
            rows = [jac / penalty["noise"]]
            if self.regularize:
                prior_rows = np.zeros((theta.size, x.size))
                prior_rows[np.arange(theta.size), np.arange(theta.size)] = prior.slopes(
                    theta).ravel()
                rows.append(prior_rows)
            if tests:
                rows.append(lift.jacobian(theta, beta))
            return np.vstack(rows)

        def solve(x0: np.ndarray, target: np.ndarray, max_nfev: int):
            return least_squares(
                penalised,
                x0,
                jac=penalised_jacobian,
                bounds=(lower, upper),
                method="trf",
                x_scale="jac",
                max_nfev=max_nfev,
                args=(target,),
            )

        target = y_fit / y_unit
        rng = np.random.default_rng(self.random_state)
        results = []
        for theta0 in self._starts(media, n_channels, rng):
            features, _ = features_and_gradients(theta0)
            # Start the coefficients at their best non-negative value for these transforms
            # (baseline unconstrained: only a starting point).
            beta0, _ = nnls(project(features[fit_rows]), project(target))
            x0 = np.clip(np.concatenate([theta0.ravel(), beta0]), lower, upper)
            results.append(solve(x0, target, self.max_nfev))
        self.start_costs_ = np.array([r.cost for r in results])
        best = results[int(np.argmin(self.start_costs_))]
        if self.regularize or tests:
            penalty["noise"] = max(float(np.sqrt(np.mean(best.fun**2))), 1e-6)
            penalty["on"] = True
            best = solve(best.x, target, self.max_nfev)
        if self.regularize:
            self.prior_shrinkage_ = prior.shrinkage(penalised_jacobian(best.x, target),
                                                    best.x[: n_params * n_channels])
        self.optimizer_status_ = int(best.status)
        self.optimizer_message_ = str(best.message)

        theta, beta = unpack(best.x)
        self.params_ = {k: theta[:, j].copy() for j, k in enumerate(names)}
        self.coef_ = beta * y_unit
        self.features_ = media.features(data.spend, self.scale_, **self.params_)
        self.linear_coef_ = linear.fit(y_fit - self.features_[fit_rows] @ self.coef_)[0]

        fitted = z_fit @ self.linear_coef_ + self.features_[fit_rows] @ self.coef_
        residual = y_fit - fitted
        rows = moving_block_indices(len(fit_rows), self.block_weeks, self.n_boot, rng)
        boot_theta, boot_coef, boot_linear = [], [], []
        boot_lifts = perturbed_lifts(tests, len(rows), rng) if tests else None
        for d, draw in enumerate(rows):
            y_boot = fitted + residual[draw]
            if tests:
                lift.measured = boot_lifts[d] / y_unit
            refit = solve(best.x, y_boot / y_unit, max(self.max_nfev // 5, 10))
            theta_b, beta_b = unpack(refit.x)
            coef_b = beta_b * y_unit
            features_b = media.features(
                data.spend[: fit_rows.max() + 1], self.scale_, **dict(zip(names, theta_b.T))
            )[fit_rows]
            boot_theta.append(theta_b)
            boot_coef.append(coef_b)
            boot_linear.append(linear.fit(y_boot - features_b @ coef_b)[0])
        self.boot_params_ = {
            k: np.array(boot_theta).reshape(len(rows), n_channels, n_params)[:, :, j]
            for j, k in enumerate(names)
        }
        self.boot_coef_ = np.array(boot_coef).reshape(len(rows), n_channels)
        self.boot_linear_coef_ = np.array(boot_linear).reshape(len(rows), z_fit.shape[1])
        self.data_ = data
        return self

    def _starts(
        self, media: MediaTransform, n_channels: int, rng: np.random.Generator
    ) -> list[np.ndarray]:
        """(C, P) starting transforms: the configured values (or the transforms' defaults),
        then draws from the transforms' priors, kept a step inside the bounds."""
        first = np.array([[(self.params or {}).get(k, p.default) for k, p in media.params.items()]]
                         * n_channels, dtype=float)
        starts = [first]
        for _ in range(self.n_starts - 1):
            draw = [
                param.prior.sample(rng, n_channels) for param in media.params.values()
            ]
            starts.append(np.column_stack(draw))
        bounds = np.array([p.bounds for p in media.params.values()])
        inner = 0.02 * (bounds[:, 1] - bounds[:, 0])
        starts = [np.clip(s, bounds[:, 0] + inner, bounds[:, 1] - inner) for s in starts]
        starts[0] = np.clip(first, bounds[:, 0], bounds[:, 1])  # a configured value is kept
        return starts

    def _prior_terms(self, media: MediaTransform, scaled_fit: np.ndarray) -> PriorPenalty:
        """The penalty of each transform parameter's prior: the transform's own prior, or the
        one anchored on the channel's typical spend (the same priors the Bayesian model
        uses)."""
        n_channels = scaled_fit.shape[1]
        anchored = media.saturation.anchored_priors(typical_spend(scaled_fit))
        return PriorPenalty([anchored.get(name, param.prior.canonical())
                             for name, param in media.params.items()], n_channels)

    def _floor_rows(self, data: MMMData) -> np.ndarray:
        """(T, q) rows of the linear design whose product with the linear coefficients is the
        baseline (intercept + trend + seasonality) of every week; controls are left out."""
        floor = self._linear_design(data)
        floor[:, 1 : 1 + len(data.control_names)] = 0.0
        return floor

    # -- results ------------------------------------------------------------------------
    def _linear_design(self, data: MMMData) -> np.ndarray:
        return np.column_stack([np.ones(data.n_weeks), data.controls, data.baseline])

    def predict(self, data: MMMData | None = None) -> np.ndarray:
        self._check_fitted()
        data = self.data_ if data is None else data
        features = self._media().features(data.spend, self.scale_, **self.params_)
        return self._linear_design(data) @ self.linear_coef_ + features @ self.coef_

    def _n_boot_draws(self) -> int:
        return len(self.boot_coef_)

    def _boot_features(self) -> np.ndarray:
        """(D, T, C) media features of every bootstrap refit over all weeks of ``data_``."""
        media = self._media()
        return np.array(
            [
                media.features(self.data_.spend, self.scale_,
                               **{k: v[d] for k, v in self.boot_params_.items()})
                for d in range(self._n_boot_draws())
            ]
        ).reshape(self._n_boot_draws(), self.data_.n_weeks, len(self.data_.channels))

    def predict_interval(self) -> tuple[np.ndarray, np.ndarray]:
        """90% band of the expected KPI over the bootstrap refits, for every week of the data.

        It covers the uncertainty of the fitted mean, not the noise of a single week."""
        self._check_fitted()
        boot = self.boot_linear_coef_ @ self._linear_design(self.data_).T + np.einsum(
            "dtc,dc->dt", self._boot_features(), self.boot_coef_
        )
        point = self.predict()
        if not len(boot):
            return point.copy(), point.copy()
        low, high = np.quantile(boot, [0.05, 0.95], axis=0)
        return np.fmin(low, point), np.fmax(high, point)

    def _baseline(self) -> np.ndarray:
        """(T,) baseline component: intercept + trend + seasonality."""
        return self._floor_rows(self.data_) @ self.linear_coef_

    def contributions(self) -> pd.DataFrame:
        self._check_fitted()
        data = self.data_
        n_controls = len(data.control_names)
        boot_media = self._boot_features() * self.boot_coef_[:, None, :]
        intercept, controls, baseline = (
            self.linear_coef_[0],
            self.linear_coef_[1 : 1 + n_controls],
            self.linear_coef_[1 + n_controls :],
        )
        boot_intercept = self.boot_linear_coef_[:, 0]
        boot_controls = self.boot_linear_coef_[:, 1 : 1 + n_controls]
        boot_baseline = self.boot_linear_coef_[:, 1 + n_controls :]
        components = {"baseline": intercept + data.baseline @ baseline}
        draws = {"baseline": boot_intercept[:, None] + boot_baseline @ data.baseline.T}
        for c, channel in enumerate(data.channels):
            components[channel] = self.coef_[c] * self.features_[:, c]
            draws[channel] = boot_media[:, :, c]
        for k, control in enumerate(data.control_names):
            components[control] = controls[k] * data.controls[:, k]
            draws[control] = boot_controls[:, k : k + 1] * data.controls[None, :, k]
        return contributions_frame(data.week_start_date, components, draws)

    def roi(self) -> pd.DataFrame:
        self._check_fitted()
        boot_totals = self._boot_features().sum(axis=1) * self.boot_coef_
        return roi_from_draws(
            self.data_.channels,
            self.data_.spend,
            boot_totals,
            self.coef_ * self.features_.sum(axis=0),
            float(self.data_.y.sum()),
        )

    def response_surface(self) -> ResponseSurface:
        self._check_fitted()
        has_draws = len(self.boot_coef_) > 0
        coef = self.boot_coef_ if has_draws else self.coef_[None, :]
        names = self._media().saturation_params
        sat_params = {
            k: (self.boot_params_[k] if has_draws else self.params_[k][None, :]).copy()
            for k in names
        }
        return ResponseSurface(
            model=self.model_name,
            channels=list(self.data_.channels),
            saturation=self.saturation,
            scale=self.scale_.copy(),
            coef=coef.copy(),
            sat_params=sat_params,
            current_weekly_spend=self.data_.spend.mean(axis=0),
            point_coef=self.coef_.copy(),
            point_params={k: self.params_[k].copy() for k in names},
        )

    def _weakly_identified(self) -> list[str]:
        """``channel.parameter`` whose posterior spread is still at least half the prior's:
        the data barely inform them, so their values (and the channel's ROI) lean on the
        prior."""
        shrinkage = getattr(self, "prior_shrinkage_", None)
        if shrinkage is None:
            return []
        names = list(self._media().params)
        return [f"{channel}.{names[j]}" for c, channel in enumerate(self.data_.channels)
                for j in range(len(names)) if shrinkage[c, j] >= WEAK_IDENTIFICATION]

    def diagnostics(self) -> dict:
        """Status, message and the learned parameters (point + bootstrap spread).

        ``failed``: the optimiser reported failure or every channel coefficient is zero.
        ``warning``: the evaluation budget ran out before convergence, a transform
        parameter sits on its bound (the data do not pin it down inside the allowed range;
        its channel's ROI then leans on the bound), or the media share is implausible
        (:func:`media_share_problem`). The message also notes the weeks where the
        non-negative baseline constraint binds (``baseline_floor_weeks``).
        """
        self._check_fitted()
        channels = self.data_.channels
        learned = self.params_
        bounds = self._media().adstock.bounds() | self._media().saturation.bounds()
        at_bound = [
            f"{channel}.{key}={value[c]:.3g}"
            for key, value in learned.items()
            for c, channel in enumerate(channels)
            if min(abs(value[c] - bounds[key][0]), abs(value[c] - bounds[key][1]))
            <= AT_BOUND_TOL * (bounds[key][1] - bounds[key][0])
        ]
        roi = self.roi()
        zeroed = negligible_channels(roi)
        problems = []
        if self.optimizer_status_ < 0:
            status = "failed"
            problems.append(f"optimiser failed: {self.optimizer_message_}")
        elif len(zeroed) == len(channels):
            status = "failed"
            problems.append("every channel coefficient is zero: nothing is attributed to media")
        else:
            status = "ok"
            if self.optimizer_status_ == 0:
                status = "warning"
                problems.append(f"optimiser stopped at max_nfev={self.max_nfev} (not converged)")
            if at_bound:
                status = "warning"
                problems.append(f"parameters at bounds: {', '.join(at_bound)}")
            if zeroed:
                problems.append(f"zero coefficient (no association found): {', '.join(zeroed)}")
            weak = self._weakly_identified()
            if weak:
                problems.append(f"weakly identified (held by their priors): {', '.join(weak)}")
            share_problem = media_share_problem(roi["share"].to_numpy())
            if share_problem:
                status = "warning"
                problems.append(share_problem)
        floor_weeks, note = floor_note(self._baseline(), self.data_.y)
        message = "; ".join(problems) or (
            f"converged ({self.optimizer_message_}); best of {self.n_starts} starts"
        )
        if note:
            message += f"; {note}"
        message += calibration_note(self.calibrated_on_)
        draws = {**self.boot_params_, "coef": self.boot_coef_}
        return {
            "status": status,
            "message": message,
            "at_bound": at_bound,
            "weakly_identified": self._weakly_identified(),
            "zero_channels": zeroed,
            "baseline_floor_weeks": floor_weeks,
            "start_costs": self.start_costs_.tolist(),
            "parameters": parameter_summary(channels, {**learned, "coef": self.coef_}, draws),
        }
