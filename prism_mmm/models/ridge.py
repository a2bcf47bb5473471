"""Ridge MMM: fixed adstock + saturation features, non-negative ridge, block-bootstrap
intervals.

The model::

    y_t = intercept + sum_b gamma_b * baseline_bt + sum_k delta_k * control_kt
          + sum_c beta_c * sat(adstock(spend_ct / scale_c; adstock params_c); sat params_c)

- ``scale_c`` is the channel's maximum weekly spend over the fit weeks, so scaled spend lies in
  [0, 1] on the data the model learns from and ``half_sat`` reads as "a fraction of the largest
  week" (``half_sat = 0.5``: half the effect at half the biggest week's spend).
- Media coefficients ``beta_c >= 0``; control coefficients are free.
- Non-negative baseline (``nonneg_baseline``, on by default): the baseline component of
  ``contributions()`` -- intercept + trend + seasonality, the KPI the model expects with no
  media and controls at 0 -- is constrained to be >= 0 in every week of the data (fit and
  holdout weeks: the trend and seasonality are known there, only the KPI is held out).
  Without it a free intercept/trend can go negative and media then "explain" more than the
  whole KPI (apparel seed: 160% of revenue). A sign constraint on the intercept alone
  (Robyn's default) is not enough: the trend then carries the baseline below zero (measured
  144% on the same data). The constraint is linear, so the fit stays a convex QP: see
  :class:`RidgeSolver`. CV folds and bootstrap refits fit under the same constraint. Where
  the data support a positive baseline it is inactive and changes nothing.
- Every column is standardised on the fit weeks so one ``alpha`` penalises comparably; the
  intercept is not penalised. ``alpha`` is chosen by rolling-origin (time-series) CV.
- Transform parameters are the configured ones. Where a channel's parameter is not configured
  and its transform gives a search grid (``Param.grid``: decay, Hill half-saturation,
  logistic lam), the grid is searched per channel by the same time-series CV (coordinate-wise,
  like a one-pass version of Robyn's hyperparameter search). The Hill ``shape`` has no grid:
  with ~100 weeks it is barely identified.
- Lift tests that calibrate (``prism_mmm.calibration``): the implied lift of a test is
  linear in the coefficients (the transforms are fixed), so each test is one more weighted
  row of the least-squares problem; alpha and the transforms are still chosen on the data
  alone, so a test can scale a channel but not reshape its curve.
- Intervals: ``n_boot`` moving-block bootstrap refits of the residuals with alpha and the
  transforms held at their chosen values, so they show sampling noise of the coefficients and
  not the uncertainty of the transform choice (the NLS model learns those; the Bayesian model
  integrates over them).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
from scipy.linalg import cho_solve, solve_triangular
from sklearn.model_selection import TimeSeriesSplit

from prism_mmm.calibration import (
    calibrating,
    calibration_note,
    perturbed_lifts,
    response_start,
    shifted_design,
)
from prism_mmm.config import PrismConfig, RidgeConfig
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
from prism_mmm.response import ResponseSurface
from prism_mmm.transforms import MediaTransform

DEFAULT_ALPHAS = tuple(RidgeConfig().alphas)


def channel_scale(spend: np.ndarray, fit_mask: np.ndarray) -> np.ndarray:
    """(C,) per-channel scale: maximum weekly spend over the fit weeks (1.0 if never spent)."""
    top = spend[fit_mask].max(axis=0) if fit_mask.any() else np.zeros(spend.shape[1])
    return np.where(top > 0, top, 1.0)


# CV scores this close count as equal: where a channel's coefficient is shrunk to zero in
# every fold, its transform cannot change the score and only rounding tells the grid apart.
CV_TIE_TOLERANCE = 1e-9


def _closest_to_default(candidates: list[dict], scores: np.ndarray, media) -> dict:
    """The best-scoring candidate; among candidates tied within ``CV_TIE_TOLERANCE`` the one
    closest to the transforms' defaults (the data do not tell them apart, so the prior
    choice stands; a rounding difference must not pick the curve)."""
    tied = np.flatnonzero(scores <= scores.min() * (1 + CV_TIE_TOLERANCE))

    def distance(candidate: dict) -> tuple:
        params = media.params
        spread = {k: (params[k].bounds[1] - params[k].bounds[0]) for k in candidate}
        return (sum(abs(v - params[k].default) / spread[k] for k, v in candidate.items()),
                tuple(candidate.values()))

    return min((candidates[i] for i in tied), key=distance)


class RidgeSolver:
    """Standardised ridge with an unpenalised intercept and sign/baseline constraints::

        min_{c0, b}  ||y - c0 - X b||^2 + alpha ||b[penalized]||^2
        subject to   b[:n_nonneg] >= 0               (media coefficients)
                     c0 + floor @ b >= 0            (baseline, if ``floor`` is given)

    for centred columns ``X`` (so without the baseline constraint ``c0`` is the mean KPI).
    It works from the Gram matrix ``X'X`` alone and is set up once per design. When every
    column is penalised, one eigendecomposition ``X'X = V diag(lam) V'`` serves every
    ``alpha`` and right-hand side (``V diag(1 / sqrt(lam + alpha))`` is a factor of the
    inverse Hessian); with unpenalised columns each ``alpha`` takes one small Cholesky
    factorisation. Each solve is then :func:`cone_constrained_lsq` (all constraints are
    homogeneous), which returns the unconstrained solution wherever that already meets them.
    """

    def __init__(
        self, gram: np.ndarray, n_rows: int, n_nonneg: int, floor: np.ndarray | None = None,
        penalized: np.ndarray | None = None,
    ) -> None:
        self.gram = gram
        p = len(gram)
        self.penalty = None if penalized is None or np.all(penalized) else \
            np.asarray(penalized, dtype=float)
        if self.penalty is None:
            lam, self.vec = np.linalg.eigh(gram)
            self.lam = np.clip(lam, 0.0, None)
        else:
            # Unpenalised columns that carry nothing in this design (an event outside a CV
            # fold's weeks: all zero once centred) get a negligible penalty, so the Hessian
            # stays positive definite and their coefficient is 0.
            self.jitter = 1e-10 * max(float(np.trace(gram)) / p, 1.0)
        self.n_rows, self.n_nonneg = n_rows, n_nonneg
        bounds = np.zeros((n_nonneg, p + 1))
        bounds[:, 1 : n_nonneg + 1] = np.eye(n_nonneg)
        floor_rows = np.zeros((0, p + 1)) if floor is None else np.column_stack(
            [np.ones(len(floor)), floor]
        )
        # Constraint rows on v = (c0, b), and (eigen path) the same rows on (c0, V'b).
        self.g = np.vstack([bounds, floor_rows])
        if self.penalty is None:
            self.g_rotated = np.column_stack([self.g[:, :1], self.g[:, 1:] @ self.vec])
        self.active = np.zeros(0, dtype=int)  # warm start: rows active in the last solve

    def _factor(self, alpha: float, xty: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``w`` (with ``w w' = H^-1`` on (c0, b)), ``g @ w`` and the unconstrained ``b``."""
        p = len(self.gram)
        root_n = 1.0 / np.sqrt(self.n_rows)
        w = np.zeros((p + 1, p + 1))
        w[0, 0] = root_n
        if self.penalty is None:
            d = 1.0 / np.sqrt(self.lam + alpha)
            w[1:, 1:] = self.vec * d
            coef = self.vec @ (d[:, None] ** 2 * (self.vec.T @ xty.reshape(p, -1)))
            return w, self.g_rotated * np.concatenate([[root_n], d]), coef
        hessian = self.gram + np.diag(alpha * self.penalty + self.jitter)
        chol = np.linalg.cholesky(hessian)
        inverse = solve_triangular(chol, np.eye(p), lower=True)
        w[1:, 1:] = inverse.T
        coef = cho_solve((chol, True), xty.reshape(p, -1))
        return w, self.g @ w, coef

    def solve(
        self, alpha: float, xty: np.ndarray, y_sum: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """``c0`` (scalar or (D,)) and ``b`` ((p,) or (p, D)) for ``X'y`` = ``xty`` ((p,) or
        (p, D)) and the KPI total(s) ``y_sum``."""
        w, gw, coef = self._factor(alpha, xty)
        c0 = np.asarray(y_sum, dtype=float) / self.n_rows
        free = np.vstack([np.atleast_1d(c0)[None, :], coef])
        solution, active = cone_constrained_lsq(w, free, self.g, gw, start=self.active)
        self.active = np.flatnonzero(active.any(axis=1))
        # Active bounds come back as +-1e-17 from the least-distance step: make them exact.
        solution[1 : 1 + self.n_nonneg] = np.maximum(solution[1 : 1 + self.n_nonneg], 0.0)
        if xty.ndim == 1:
            return solution[0, 0], solution[1:, 0]
        return solution[0], solution[1:]


def nonneg_ridge(gram: np.ndarray, xty: np.ndarray, alpha: float, n_nonneg: int) -> np.ndarray:
    """Minimise ``||y - X b||^2 + alpha ||b||^2`` with ``b[:n_nonneg] >= 0`` (no intercept;
    ``xty`` may be (p,) or (p, D)): :class:`RidgeSolver` without a baseline constraint."""
    return RidgeSolver(gram, 1, n_nonneg).solve(alpha, xty, np.zeros(xty.shape[1:]))[1]


def _standardise(x_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations; a constant column keeps sd 1 (it centres to 0
    and ridge sends its coefficient to 0, e.g. an event dummy that falls in the holdout)."""
    mean = x_fit.mean(axis=0)
    sd = x_fit.std(axis=0)
    return mean, np.where(sd > 1e-12, sd, 1.0)


def rolling_origin_splits(n: int, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-series CV folds over ``n`` fit weeks whose first training window is about half the
    data: a fold trained on a few weeks cannot learn yearly seasonality and would push CV
    towards needless shrinkage."""
    test_size = max(1, n // (2 * n_splits))
    return list(TimeSeriesSplit(n_splits=n_splits, test_size=test_size).split(np.arange(n)))


def floor_matrix(
    baseline: np.ndarray, mean: np.ndarray, sd: np.ndarray, n_other: int
) -> np.ndarray:
    """(W, p) matrix ``A`` with ``baseline_w = c0 + A[w] @ b`` for standardised coefficients.

    ``baseline`` holds the trend/seasonality rows (W, B) of the weeks to constrain and
    ``n_other`` the number of media + control columns in front of them. With
    ``coef = b / sd`` and ``intercept = c0 - coef @ mean`` the baseline component
    (intercept + trend + seasonality) is ``c0 + sum_j b_j (x_wj - mean_j) / sd_j`` with
    ``x_wj = 0`` for media and controls (they are not part of the baseline).
    """
    x = np.column_stack([np.zeros((len(baseline), n_other)), baseline])
    return (x - mean) / sd


def cv_mse(
    x: np.ndarray,
    y: np.ndarray,
    alphas: np.ndarray,
    n_nonneg: int,
    folds: list[tuple[np.ndarray, np.ndarray]],
    floor_baseline: np.ndarray | None = None,
    penalized: np.ndarray | None = None,
) -> np.ndarray:
    """(len(alphas),) mean validation MSE over ``folds`` (standardising on each train fold).

    ``floor_baseline``: trend/seasonality rows of the weeks whose baseline must be
    non-negative (the last columns of ``x``); None fits without that constraint.
    ``penalized``: mask of the columns the penalty applies to (None: all).
    """
    errors = np.zeros(len(alphas))
    n_other = x.shape[1] - (0 if floor_baseline is None else floor_baseline.shape[1])
    for train, test in folds:
        mean, sd = _standardise(x[train])
        xs_train = (x[train] - mean) / sd
        xs_test = (x[test] - mean) / sd
        floor = (
            None if floor_baseline is None else floor_matrix(floor_baseline, mean, sd, n_other)
        )
        solver = RidgeSolver(xs_train.T @ xs_train, len(train), n_nonneg, floor, penalized)
        xty = xs_train.T @ (y[train] - y[train].mean())
        for a, alpha in enumerate(alphas):
            c0, coef = solver.solve(alpha, xty, y[train].sum())
            errors[a] += np.mean((y[test] - c0 - xs_test @ coef) ** 2)
    return errors / len(folds)


@register
class RidgeMMM(MMMEstimator):
    """Non-negative ridge MMM on fixed adstock + Hill features (see module docstring).

    Parameters
    ----------
    adstock, saturation : str
        Registered transform names (``prism_mmm.transforms``).
    max_lag : int
        Adstock window in weeks.
    params : dict, optional
        Transform parameter values for every channel; unset ones take the transform's
        default and may be searched by CV.
    channel_params : dict, optional
        ``{channel: {"decay": .., "half_sat": ..}}``: per-channel values over ``params``.
    tuned_params : sequence of str, optional
        Which parameters may be chosen by CV where not configured; ``None``: every parameter
        whose transform gives a grid; empty: always use the configured values or defaults.
    alphas : sequence of float
        Candidate penalties (all > 0), chosen by time-series CV.
    cv_splits : int
        Number of rolling-origin CV folds.
    n_boot, block_weeks : int
        Moving-block residual bootstrap refits and block length.
    random_state : int
        Seed of the bootstrap.
    nonneg_baseline : bool
        Constrain the baseline (intercept + trend + seasonality) to be >= 0 in every week.
    penalize_baseline : bool
        Penalise the trend, seasonality, event and control coefficients too. Off by default:
        shrinking them pushes the seasonal peaks they explain onto media that spends with the
        season, which inflates the media share.
    """

    model_name = "ridge"

    def __init__(
        self,
        adstock: str = "geometric",
        saturation: str = "hill",
        max_lag: int = 8,
        params: dict[str, float] | None = None,
        channel_params: dict[str, dict[str, float]] | None = None,
        tuned_params: tuple[str, ...] | None = None,
        alphas: tuple[float, ...] = DEFAULT_ALPHAS,
        cv_splits: int = 5,
        n_boot: int = 200,
        block_weeks: int = 8,
        random_state: int = 0,
        nonneg_baseline: bool = True,
        penalize_baseline: bool = False,
    ) -> None:
        self.adstock = adstock
        self.saturation = saturation
        self.max_lag = max_lag
        self.params = params
        self.channel_params = channel_params
        self.tuned_params = tuned_params
        self.alphas = alphas
        self.cv_splits = cv_splits
        self.n_boot = n_boot
        self.block_weeks = block_weeks
        self.random_state = random_state
        self.nonneg_baseline = nonneg_baseline
        self.penalize_baseline = penalize_baseline

    @classmethod
    def from_config(cls, cfg: PrismConfig) -> RidgeMMM:
        """Build from ``PrismConfig``: the transform values set in ``prism.yml`` (globally
        or per channel) are used as they are; the others are searched by CV where their
        transform gives a grid."""
        transforms = cfg.transforms
        return cls(
            adstock=transforms.adstock,
            saturation=transforms.saturation,
            max_lag=transforms.max_lag,
            params=dict(transforms.params),
            channel_params={c: dict(v) for c, v in transforms.channels.items()},
            alphas=tuple(cfg.ridge.alphas),
            cv_splits=cfg.ridge.cv_splits,
            n_boot=cfg.ridge.n_boot,
            block_weeks=cfg.ridge.block_weeks,
            random_state=cfg.random_seed,
            nonneg_baseline=cfg.ridge.nonneg_baseline,
            penalize_baseline=cfg.ridge.penalize_baseline,
        )

    def _penalized(self, n_columns: int, n_channels: int) -> np.ndarray | None:
        """Mask of the penalised columns: media only (None: every column)."""
        return None if self.penalize_baseline else np.arange(n_columns) < n_channels

    # -- fitting ------------------------------------------------------------------------
    def fit(self, data: MMMData) -> RidgeMMM:
        alphas = np.asarray(self.alphas, dtype=float)
        if alphas.size == 0 or np.any(alphas <= 0):
            raise ValueError(f"alphas must be a non-empty list of positive numbers: {alphas}")
        fit_rows = np.flatnonzero(data.fit_mask)
        if len(fit_rows) < 2 * self.cv_splits + 2:
            raise ValueError(
                f"{len(fit_rows)} fit weeks are too few for {self.cv_splits}-fold time-series CV"
            )
        unknown = set(self.channel_params or {}) - set(data.channels)
        if unknown:
            raise ValueError(f"channel_params for channels not in the data: {sorted(unknown)}")

        n_channels = len(data.channels)
        media = self._media()
        self.scale_ = channel_scale(data.spend, data.fit_mask)
        params = {
            key: np.array([self._configured(channel).get(key, param.default)
                           for channel in data.channels], dtype=float)
            for key, param in media.params.items()
        }
        y_fit = data.y[fit_rows]
        folds = rolling_origin_splits(len(fit_rows), self.cv_splits)
        other_columns = np.column_stack([data.controls, data.baseline])[fit_rows]

        def design(features: np.ndarray) -> np.ndarray:
            return np.column_stack([features[fit_rows], other_columns])

        features = media.features(data.spend, self.scale_, **params)
        self.tuned_channels_ = self._search_transforms(
            data, media, params, features, design, y_fit, alphas, folds
        )
        self.params_ = params
        self.features_ = media.features(data.spend, self.scale_, **params)

        x_fit = design(self.features_)
        floor_baseline = data.baseline if self.nonneg_baseline else None
        penalized = self._penalized(x_fit.shape[1], n_channels)
        self.cv_mse_ = cv_mse(x_fit, y_fit, alphas, n_channels, folds, floor_baseline, penalized)
        self.alpha_ = float(alphas[int(np.argmin(self.cv_mse_))])

        mean, sd = _standardise(x_fit)
        xs = (x_fit - mean) / sd
        floor = (
            None
            if floor_baseline is None
            else floor_matrix(floor_baseline, mean, sd, x_fit.shape[1] - data.baseline.shape[1])
        )
        n_fit = len(fit_rows)
        gram = xs.T @ xs
        xty = xs.T @ (y_fit - y_fit.mean())
        solver = RidgeSolver(gram, n_fit, n_channels, floor, penalized)
        c0, coef_std = solver.solve(self.alpha_, xty, y_fit.sum())
        tests = calibrating(data)
        self.calibrated_on_ = [t.experiment_id for t in tests]
        if tests:
            # Each lift test is a pseudo-observation ``measured = row @ b`` weighted by
            # noise sd / se (see prism_mmm.calibration), the noise sd from the plain fit.
            noise = float(np.std(y_fit - c0 - xs @ coef_std)) or 1.0
            weight = noise / np.array([t.lift_se_total for t in tests])
            lift_rows = self._lift_rows(data, media, tests, sd, x_fit.shape[1]) * weight[:, None]
            solver = RidgeSolver(gram + lift_rows.T @ lift_rows, n_fit, n_channels, floor,
                                 penalized)
            lift = np.array([t.lift_total for t in tests])
            c0, coef_std = solver.solve(self.alpha_, xty + lift_rows.T @ (lift * weight),
                                        y_fit.sum())
        self.coef_, self.intercept_ = self._unstandardise(coef_std, c0, mean, sd)

        fitted = self.intercept_ + x_fit @ self.coef_
        residuals = y_fit - fitted
        rng = np.random.default_rng(self.random_state)
        rows = moving_block_indices(n_fit, self.block_weeks, self.n_boot, rng)
        y_boot = fitted[None, :] + residuals[rows]  # (D, n_fit)
        xty_boot = xs.T @ (y_boot - y_boot.mean(axis=1, keepdims=True)).T
        if tests:
            xty_boot += lift_rows.T @ (perturbed_lifts(tests, len(rows), rng) * weight).T
        boot_c0, boot_std = solver.solve(self.alpha_, xty_boot, y_boot.sum(axis=1))  # (D,), (p, D)
        self.boot_coef_ = (boot_std / sd[:, None]).T
        self.boot_intercept_ = boot_c0 - self.boot_coef_ @ mean
        self.data_ = data
        return self

    def _media(self) -> MediaTransform:
        return MediaTransform(self.adstock, self.saturation, self.max_lag)

    def _lift_rows(self, data: MMMData, media: MediaTransform, tests, sd: np.ndarray,
                   n_columns: int) -> np.ndarray:
        """(R, p) standardised design rows of the lift tests: the test's change in its
        channel's feature, summed from the window's first week to the end of the data, so
        that ``row @ b`` is the lift the model implies (linear in the coefficients)."""
        base = self.features_
        rows = np.zeros((len(tests), n_columns))
        for k, test in enumerate(tests):
            c = data.channels.index(test.channel)
            shifted = media.features(shifted_design(data, test).spend, self.scale_,
                                     **self.params_)
            rows[k, c] = (shifted[:, c] - base[:, c])[response_start(data, test):].sum() / sd[c]
        return rows

    def _configured(self, channel: str) -> dict[str, float]:
        return {**(self.params or {}), **(self.channel_params or {}).get(channel, {})}

    def _search_transforms(
        self, data, media, params, features, design, y_fit, alphas, folds
    ) -> list[str]:
        """Coordinate-wise grid search, channel by channel, of the parameters that are not
        configured and have a grid on their transform (decay and half-saturation for
        geometric + Hill; never the Hill shape: with ~100 weeks it is barely identified).
        Updates ``params`` and ``features`` in place; returns the channels searched."""
        tunable = [k for k, p in media.params.items()
                   if p.grid and (self.tuned_params is None or k in self.tuned_params)]
        floor_baseline = data.baseline if self.nonneg_baseline else None
        searched = []
        n_channels = len(data.channels)
        penalized = self._penalized(features.shape[1] + data.controls.shape[1]
                                    + data.baseline.shape[1], n_channels)

        def channel_features(c: int, values: dict[str, float]) -> np.ndarray:
            one = {k: np.array([values.get(k, params[k][c])]) for k in params}
            return media.features(data.spend[:, c : c + 1], self.scale_[c : c + 1], **one)[:, 0]

        for c, channel in enumerate(data.channels):
            free = [k for k in tunable if k not in self._configured(channel)]
            if not free:
                continue
            candidates, scores = [], []
            for values in product(*(media.params[k].grid for k in free)):
                candidate = dict(zip(free, values))
                features[:, c] = channel_features(c, candidate)
                candidates.append(candidate)
                scores.append(cv_mse(
                    design(features), y_fit, alphas, n_channels, folds, floor_baseline,
                    penalized,
                ).min())
            best = _closest_to_default(candidates, np.array(scores), media)
            for k, value in best.items():
                params[k][c] = value
            features[:, c] = channel_features(c, best)
            searched.append(channel)
        return searched

    @staticmethod
    def _unstandardise(
        coef_std: np.ndarray, c0: float, mean: np.ndarray, sd: np.ndarray
    ) -> tuple[np.ndarray, float]:
        coef = coef_std / sd
        return coef, float(c0 - coef @ mean)

    # -- results ------------------------------------------------------------------------
    def _split_coef(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(..., p) coefficients -> media (C), controls (K), baseline (B) parts."""
        n_channels = len(self.data_.channels)
        n_controls = len(self.data_.control_names)
        return (
            coef[..., :n_channels],
            coef[..., n_channels : n_channels + n_controls],
            coef[..., n_channels + n_controls :],
        )

    def predict(self, data: MMMData | None = None) -> np.ndarray:
        self._check_fitted()
        data = self.data_ if data is None else data
        features = self._media().features(data.spend, self.scale_, **self.params_)
        return (
            self.intercept_ + np.column_stack([features, data.controls, data.baseline]) @ self.coef_
        )

    def _baseline(self) -> np.ndarray:
        """(T,) baseline component: intercept + trend + seasonality."""
        return self.intercept_ + self.data_.baseline @ self._split_coef(self.coef_)[2]

    def contributions(self) -> pd.DataFrame:
        self._check_fitted()
        data = self.data_
        media, controls, _ = self._split_coef(self.coef_)
        boot_media, boot_controls, boot_baseline = self._split_coef(self.boot_coef_)
        components = {"baseline": self._baseline()}
        draws = {"baseline": self.boot_intercept_[:, None] + boot_baseline @ data.baseline.T}
        for c, channel in enumerate(data.channels):
            components[channel] = media[c] * self.features_[:, c]
            draws[channel] = boot_media[:, c : c + 1] * self.features_[None, :, c]
        for k, control in enumerate(data.control_names):
            components[control] = controls[k] * data.controls[:, k]
            draws[control] = boot_controls[:, k : k + 1] * data.controls[None, :, k]
        return contributions_frame(data.week_start_date, components, draws)

    def roi(self) -> pd.DataFrame:
        self._check_fitted()
        media, _, _ = self._split_coef(self.coef_)
        boot_media, _, _ = self._split_coef(self.boot_coef_)
        totals = self.features_.sum(axis=0)
        return roi_from_draws(
            self.data_.channels,
            self.data_.spend,
            boot_media * totals[None, :],
            media * totals,
            float(self.data_.y.sum()),
        )

    def response_surface(self) -> ResponseSurface:
        self._check_fitted()
        media, _, _ = self._split_coef(self.coef_)
        boot_media, _, _ = self._split_coef(self.boot_coef_)
        # Without bootstrap refits the point fit is the only draw (a zero-width band).
        draws = boot_media if len(boot_media) else media[None, :]
        return ResponseSurface(
            model=self.model_name,
            channels=list(self.data_.channels),
            saturation=self.saturation,
            scale=self.scale_.copy(),
            coef=draws,
            sat_params={k: np.tile(self.params_[k], (len(draws), 1))
                        for k in self._media().saturation_params},
            current_weekly_spend=self.data_.spend.mean(axis=0),
            point_coef=media.copy(),
            point_params={k: self.params_[k].copy() for k in self._media().saturation_params},
        )

    def diagnostics(self) -> dict:
        """Status, message, the chosen alpha and a per-channel parameter frame.

        ``failed`` when every channel coefficient is zero (the seed system's silent failure:
        a model that attributes nothing to media must say so); ``warning`` when alpha sits
        at the largest candidate (the penalty, not the data, may be deciding the result) or
        the media share is implausible (:func:`media_share_problem`). The message also notes
        the weeks where the non-negative baseline constraint binds (``baseline_floor_weeks``).
        """
        self._check_fitted()
        media, _, _ = self._split_coef(self.coef_)
        roi = self.roi()
        zeroed = negligible_channels(roi)
        alphas = np.asarray(self.alphas, dtype=float)
        if len(zeroed) == len(media):
            status = "failed"
            message = (
                f"regularisation set every channel coefficient to (nearly) zero (alpha={self.alpha_:g}):"
                " the model attributes nothing to media; ROI is not informative"
            )
        elif self.alpha_ >= alphas.max() and len(alphas) > 1:
            status = "warning"
            message = (
                f"alpha={self.alpha_:g} is the largest candidate; a larger one may fit better"
                " and the channel coefficients may be over-shrunk"
            )
        else:
            status = "ok"
            message = f"alpha={self.alpha_:g} chosen by {self.cv_splits}-fold time-series CV"
        if zeroed and status != "failed":
            message += f"; zero coefficient (no association found): {', '.join(zeroed)}"
        share_problem = media_share_problem(roi["share"].to_numpy())
        if share_problem and status != "failed":
            status = "warning"
            message = f"{share_problem}; {message}"
        floor_weeks, note = floor_note(self._baseline(), self.data_.y)
        if note:
            message += f"; {note}"
        message += calibration_note(self.calibrated_on_)
        parameters = parameter_summary(
            self.data_.channels,
            {**self.params_, "coef": media},
            {"coef": self._split_coef(self.boot_coef_)[0]},
        )
        return {
            "status": status,
            "message": message,
            "alpha": self.alpha_,
            "cv_mse": dict(zip(alphas.tolist(), self.cv_mse_.tolist())),
            "zero_channels": zeroed,
            "baseline_floor_weeks": floor_weeks,
            "parameters": parameters,
        }
