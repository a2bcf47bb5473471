"""The shared model interface.

Every model is an :class:`MMMEstimator` (scikit-learn's estimator contract): ``__init__``
only stores its keyword arguments, ``fit(data)`` learns state named with a trailing
underscore and returns ``self``. The result methods return DataFrames with fixed columns so
the pipeline can write any model's output to the same warehouse tables, and ``save``/``load``
round-trip a fitted model completely (parameters, data and learned state). A fourth model is
one file plus a registry entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from prism_mmm.calibration import experiments_from_json, experiments_to_json
from prism_mmm.data import MMMData

# The models' linear algebra runs on small matrices (tens of columns, thousands of solves),
# where a multi-threaded BLAS only adds synchronisation, and dbt fits three models at once on
# the same cores. Measured on the bundled brand, a Ridge fit on a busy 2-core machine: 144 s
# with OpenBLAS's default threads, 19 s with one. So every process that fits a model runs its
# BLAS single-threaded (the Bayesian sampler's XLA has its own threads).
threadpool_limits(1, user_api="blas")

# Column contracts of the result methods.
CONTRIBUTION_COLUMNS = ["week_start_date", "component", "value", "low", "high"]
ROI_COLUMNS = ["channel", "spend", "contribution", "roi", "roi_low", "roi_high", "share"]
CURVE_COLUMNS = ["spend", "response", "low", "high", "marginal_roi"]
INTERVAL_MASS = 0.90  # every interval we publish is a central/HDI 90% interval

MODELS: dict[str, type[MMMEstimator]] = {}


def register(cls: type[MMMEstimator]) -> type[MMMEstimator]:
    MODELS[cls.model_name] = cls
    return cls


class NotFittedError(RuntimeError):
    pass


ESTIMATOR_FILE = "estimator.json"
DATA_FILE = "data.npz"
STATE_ARRAYS = "state.npz"


class MMMEstimator(BaseEstimator):
    """Base class. Subclasses implement ``fit`` and ``_draws``-style internals.

    Result methods (all after ``fit``):

    - ``predict(data=None)`` -> (T,) expected KPI for every week of ``data`` (default: fit data)
    - ``contributions()`` -> long frame ``CONTRIBUTION_COLUMNS``; components are ``baseline``
      (intercept + trend + seasonality), each channel, and each control.
    - ``roi()`` -> one row per channel, ``ROI_COLUMNS``; ROI = contribution / spend over all
      weeks of the fit data, share = contribution / total KPI, interval is 90%.
    - ``response_surface()`` -> :class:`prism_mmm.response.ResponseSurface` (draws of the
      steady-state response parameters; saved per run so nothing downstream refits)
    - ``response_curve(channel, spend_grid)`` -> ``CURVE_COLUMNS``: expected weekly KPI
      response at the adstock steady state of a sustained weekly spend, with a 90% band and
      marginal ROI (d response / d spend).
    - ``diagnostics()`` -> dict with at least ``status`` ("ok" | "warning" | "failed") and
      ``message``; Bayes adds ``gates`` and ``parameters`` frames.
    """

    model_name: ClassVar[str]
    # Parameters holding a typed configuration object (pydantic model), rebuilt on load.
    config_params: ClassVar[dict[str, type]] = {}

    def _check_fitted(self) -> None:
        if not hasattr(self, "data_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(data) first")

    def fit(self, data: MMMData) -> MMMEstimator:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, data: MMMData | None = None) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def contributions(self) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def roi(self) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def response_surface(self):  # pragma: no cover - abstract
        """The fitted steady-state response with draws: a :class:`prism_mmm.response.ResponseSurface`."""
        raise NotImplementedError

    def response_curve(self, channel: str, spend_grid: np.ndarray) -> pd.DataFrame:
        self._check_fitted()
        return self.response_surface().curve(channel, spend_grid)

    def diagnostics(self) -> dict:  # pragma: no cover
        raise NotImplementedError

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write everything :meth:`load` needs: the parameters, the data it was fitted on and
        its learned state. Returns the directory."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        params = {k: _jsonable(v) for k, v in self.get_params(deep=False).items()}
        (directory / ESTIMATOR_FILE).write_text(
            json.dumps({"model": self.model_name, "params": params}, indent=1, sort_keys=True)
        )
        save_data(self.data_, directory / DATA_FILE)
        self._save_state(directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> MMMEstimator:
        """A fitted model from :meth:`save` output; ``MMMEstimator.load`` finds the model
        class from the saved name, ``RidgeMMM.load`` also checks it."""
        from prism_mmm.models import estimator_class

        directory = Path(directory)
        saved = json.loads((directory / ESTIMATOR_FILE).read_text())
        model_cls = estimator_class(saved["model"])
        if cls is not MMMEstimator and model_cls is not cls:
            raise ValueError(f"{directory} holds a {saved['model']!r} model, not {cls.model_name!r}")
        defaults = model_cls().get_params(deep=False)
        params = {}
        for name, value in saved["params"].items():
            if name in model_cls.config_params and value is not None:
                value = model_cls.config_params[name].model_validate(value)
            elif isinstance(defaults.get(name), tuple) and isinstance(value, list):
                value = tuple(value)
            params[name] = value
        model = model_cls(**params)
        model.data_ = load_data(directory / DATA_FILE)
        model._load_state(directory)
        return model

    def _learned(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_") and k != "data_"}

    def _save_state(self, directory: Path) -> None:
        """Learned attributes: arrays (and dicts of arrays) to ``state.npz``, the rest JSON."""
        arrays, other = {}, {}
        for name, value in self._learned().items():
            if isinstance(value, np.ndarray):
                arrays[name] = value
            elif isinstance(value, dict) and value and all(
                isinstance(v, np.ndarray) for v in value.values()
            ):
                arrays.update({f"{name}/{k}": v for k, v in value.items()})
            else:
                other[name] = _jsonable(value)
        np.savez(directory / STATE_ARRAYS, **arrays)
        (directory / "state.json").write_text(json.dumps(other, indent=1, sort_keys=True))

    def _load_state(self, directory: Path) -> None:
        for name, value in json.loads((directory / "state.json").read_text()).items():
            setattr(self, name, value)
        with np.load(directory / STATE_ARRAYS, allow_pickle=False) as arrays:
            for key in arrays.files:
                name, _, sub = key.partition("/")
                if sub:
                    self.__dict__.setdefault(name, {})[sub] = arrays[key]
                else:
                    setattr(self, name, arrays[key])


def _jsonable(value: Any) -> Any:
    """Parameters and learned scalars as JSON values (pydantic models dumped)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot save a {type(value).__name__}; the model must save it itself")


def save_data(data: MMMData, path: Path) -> None:
    """An :class:`MMMData` as one ``.npz`` (names as string arrays, lift tests as JSON)."""
    arrays = {k: np.asarray(v) for k, v in data.__dict__.items() if k != "experiments"}
    arrays["experiments"] = np.asarray(experiments_to_json(data.experiments))
    np.savez(path, **arrays)


def load_data(path: Path) -> MMMData:
    with np.load(path, allow_pickle=False) as arrays:
        fields = {k: arrays[k] for k in arrays.files}
    for name in ("channels", "control_names", "baseline_names"):
        fields[name] = [str(v) for v in fields[name]]
    fields["experiments"] = experiments_from_json(str(fields.get("experiments", "[]")))
    return MMMData(**fields)


def roi_from_draws(
    channels: list[str],
    spend: np.ndarray,
    contribution_draws: np.ndarray,
    point: np.ndarray,
    total_kpi: float,
) -> pd.DataFrame:
    """ROI table from per-draw channel contribution totals.

    contribution_draws: (n_draws, C) total contribution per channel in each draw/bootstrap
    point: (C,) the point estimate (posterior mean or full-data fit)
    """
    total_spend = spend.sum(axis=0)
    safe_spend = np.where(total_spend > 0, total_spend, np.nan)
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    roi_draws = contribution_draws / safe_spend
    roi_point = point / safe_spend
    frame = pd.DataFrame(
        {
            "channel": channels,
            "spend": total_spend,
            "contribution": point,
            "roi": roi_point,
            "roi_low": np.nanquantile(roi_draws, lo_q, axis=0) if len(roi_draws) else np.nan,
            "roi_high": np.nanquantile(roi_draws, hi_q, axis=0) if len(roi_draws) else np.nan,
            "share": point / total_kpi,
        }
    )
    # A percentile interval of bootstrap refits need not contain the full-data point; widen
    # it so the published interval always contains the published point (documented).
    frame["roi_low"] = np.fmin(frame["roi_low"], frame["roi"])
    frame["roi_high"] = np.fmax(frame["roi_high"], frame["roi"])
    return frame[ROI_COLUMNS]


def default_spend_grid(spend: np.ndarray, n_points: int = 41) -> np.ndarray:
    """0 .. 2x the channel's maximum observed weekly spend, plus the current average."""
    top = 2.0 * float(np.max(spend)) if np.max(spend) > 0 else 1.0
    grid = np.linspace(0.0, top, n_points)
    return np.unique(np.append(grid, float(np.mean(spend))))


def moving_block_indices(
    n: int, block_weeks: int, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """(n_boot, n) row indices of a moving-block bootstrap of an ``n``-week series.

    Blocks of ``block_weeks`` consecutive weeks, with random starts, are laid end to end and
    cut to ``n``, so resampled residuals keep their short-range autocorrelation (weekly MMM
    residuals are rarely independent, and an i.i.d. bootstrap would give too narrow intervals).
    """
    block = max(1, min(block_weeks, n))
    n_blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    rows = starts[:, :, None] + np.arange(block)[None, None, :]
    return rows.reshape(n_boot, n_blocks * block)[:, :n]


def contributions_frame(
    week_start_date: np.ndarray,
    components: dict[str, np.ndarray],
    component_draws: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Long ``CONTRIBUTION_COLUMNS`` frame from weekly point values and per-draw values.

    components: name -> (T,) point contribution per week
    component_draws: name -> (D, T) per-draw contribution (missing or D = 0: no interval)
    The 90% band is widened to contain the point, as in :func:`roi_from_draws`.
    """
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    frames = []
    for name, value in components.items():
        draws = component_draws.get(name)
        if draws is None or len(draws) == 0:
            low = high = np.full(len(value), np.nan)
        else:
            low, high = np.quantile(draws, [lo_q, hi_q], axis=0)
        frames.append(
            pd.DataFrame(
                {
                    "week_start_date": week_start_date,
                    "component": name,
                    "value": value,
                    "low": np.fmin(low, value),
                    "high": np.fmax(high, value),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[CONTRIBUTION_COLUMNS]


def parameter_summary(
    channels: list[str], point: dict[str, np.ndarray], draws: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Long per-channel parameter table in the ``bayes_parameter_summary`` shape.

    point: parameter name -> (C,) point estimate; draws: name -> (D, C) bootstrap draws.
    ``mean`` holds the point estimate and ``sd``/``hdi_low``/``hdi_high`` the spread of the
    draws (a central 90% interval for bootstrap draws); sampler columns stay NaN.
    """
    lo_q, hi_q = (1 - INTERVAL_MASS) / 2, 1 - (1 - INTERVAL_MASS) / 2
    frames = []
    for name, value in point.items():
        sample = draws.get(name)
        has_draws = sample is not None and len(sample) > 0
        frames.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "channel": channels,
                    "mean": value,
                    "sd": sample.std(axis=0) if has_draws else np.nan,
                    "hdi_low": np.quantile(sample, lo_q, axis=0) if has_draws else np.nan,
                    "hdi_high": np.quantile(sample, hi_q, axis=0) if has_draws else np.nan,
                    "r_hat": np.nan,
                    "ess_bulk": np.nan,
                    "ess_tail": np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# Media explaining 5-80% of the KPI is plausible for a business that also sells without
# advertising; the Critic and the models' diagnostics use the same band.
PLAUSIBLE_MEDIA_SHARE = (0.05, 0.80)


def media_share_problem(shares: np.ndarray) -> str | None:
    """A message when the channel contributions add up to an implausible part of the KPI.

    Above 100% the model explains the KPI as media minus something (a negative baseline, or
    with a non-negative baseline, negative controls). Outside the band of 5-80% the
    attribution is implausible for a business that also sells without advertising, even when
    the fit is good. The band is only reported, never imposed on the fit.
    """
    total = float(np.nansum(shares))
    low, high = PLAUSIBLE_MEDIA_SHARE
    if total > 1.0:
        return (
            f"media contributions add up to {total:.0%} of the KPI, more than all of it"
            " (the baseline or the controls are negative)"
        )
    if not low <= total <= high:
        return (
            f"media contributions add up to {total:.0%} of the KPI, outside the plausible"
            f" {low:.0%}-{high:.0%}"
        )
    return None


def floor_note(baseline: np.ndarray, y: np.ndarray) -> tuple[int, str | None]:
    """Weeks whose baseline sits at the non-negativity floor, and a note for diagnostics.

    Where the constraint binds, the data alone would put the baseline lower (and credit media
    with more): the baseline level there is set by the constraint, not estimated."""
    at_floor = int(np.sum(baseline <= 1e-6 * float(np.mean(np.abs(y)))))
    if not at_floor:
        return 0, None
    return at_floor, f"baseline held at its floor of 0 in {at_floor} week(s)"


NEGLIGIBLE_SHARE = 1e-4  # a channel credited with < 0.01% of the KPI counts as zeroed


def negligible_channels(roi: pd.DataFrame) -> list[str]:
    """Channels of a ``roi()`` frame whose contribution is negligible. Shrinkage or a bound
    leaves such coefficients tiny rather than exactly zero, and "all channels tiny" is the
    same failure as "all channels zero"."""
    return roi.loc[~(roi["share"].abs() >= NEGLIGIBLE_SHARE), "channel"].tolist()


def cone_constrained_lsq(
    w: np.ndarray,
    free: np.ndarray,
    g: np.ndarray,
    gw: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise a convex quadratic ``v'Hv / 2 - q'v`` subject to ``g @ v >= 0`` (every row).

    w : (p, p) any factor with ``w @ w.T = H^-1`` (an inverse Cholesky factor, or
        ``V diag(1 / sqrt(eigenvalues))``); the solver never forms ``H``.
    free : (p,) or (p, D) the unconstrained minimiser(s) ``H^-1 q``; D right-hand sides
        (e.g. bootstrap refits) share ``H`` and ``g``.
    g : (m, p) constraint rows; ``gw`` optionally the precomputed ``g @ w``.
    start : optional row indices to put in the working set from the start (e.g. the rows
        active in a similar problem); a hint only, it does not change the solution.

    Returns the minimiser(s), shaped like ``free``, and the (m,) or (m, D) mask of active
    rows (those with a positive Lagrange multiplier).

    The constraints are homogeneous (a cone), so ``v = 0`` is always feasible and the
    minimiser is unique. Method (Lawson & Hanson, *Solving Least Squares Problems*, ch. 23):
    with ``v = free + w z`` the problem is the least-distance programme "min ||z|| subject to
    ``(g w) z >= -g free``", which one NNLS of size (p + 1) x m solves exactly. Only a
    working set of rows goes into that NNLS: the most violated rows first, then the rows the
    solution still violates, until none is -- the result is then exact for every row (a weekly
    baseline touches zero in a handful of weeks, so a few small NNLS replace one with every
    week). Right-hand sides whose unconstrained minimiser is feasible are returned as they are.
    Constraint values down to -1e-9 of the largest one count as met (rounding).
    """
    columns = free.reshape(len(free), -1)
    values = g @ columns  # (m, D)
    tolerance = 1e-9 * np.abs(values).max(axis=0, initial=0.0)
    infeasible = np.flatnonzero((values < -tolerance).any(axis=0))
    solution = columns.copy()
    active = np.zeros(values.shape, dtype=bool)
    if infeasible.size:
        gw = g @ w if gw is None else gw
        norms = np.sqrt(np.einsum("ij,ij->i", gw, gw))
        norms[norms == 0] = 1.0  # an all-zero row is never violated
        target = np.zeros(gw.shape[1] + 1)
        target[-1] = 1.0
        batch = max(4, len(w) // 2)
    for d in infeasible:
        h = -values[:, d] / norms  # normalised distance of each row from the free solution
        h_scale = np.abs(h).max()
        working = np.zeros(len(g), dtype=bool)
        if start is not None:
            working[start] = True
        shortfall, violated = h, values[:, d] < -tolerance[d]
        while True:
            # Add the most violated rows (normalised distance) a batch at a time.
            candidates = np.flatnonzero(violated & ~working)
            working[candidates[np.argsort(-shortfall[candidates])[:batch]]] = True
            rows = np.flatnonzero(working)
            design = np.empty((len(target), len(rows)))
            design[:-1] = (gw[rows] / norms[rows, None]).T
            design[-1] = h[rows] / h_scale
            weights, _ = nnls(design, target, maxiter=50 * len(rows))
            residual = design @ weights - target
            if abs(residual[-1]) < 1e-12:  # cannot happen for homogeneous constraints
                raise RuntimeError("cone_constrained_lsq: constraints are infeasible")
            v = columns[:, d] - w @ (residual[:-1] * (h_scale / residual[-1]))
            now = g @ v
            violated = now < -1e-9 * np.abs(now).max()
            violated &= ~working
            if not violated.any():
                break
            shortfall = -now / norms
        solution[:, d] = v
        active[rows[weights > 0], d] = True
    return solution.reshape(free.shape), active.reshape(values.shape[:1] + free.shape[1:])
