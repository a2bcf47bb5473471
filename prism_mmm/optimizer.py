"""Response curves and the constrained budget optimiser.

Everything here evaluates a saved :class:`~prism_mmm.response.ResponseSurface`; nothing refits.
Spend is per week (a weekly budget); KPI figures are totals over the planning horizon and count
only the media-driven KPI (the baseline does not depend on the allocation).

Bounds, locks and the agreement guard (precedence, strongest first)
------------------------------------------------------------------
1. **Locked** channels (``locked=[...]`` or ``ch=lock``) stay at their current weekly spend.
2. **User bounds** (``bounds={ch: Bound}``) replace the guard for that channel entirely.
3. **Agreement guard** (when ``guard`` is given): a channel the models agree on
   (``model_agreement.confirmed``) may move ±``max_change_pct``, any other channel
   ±``unconfirmed_max_change_pct`` around its *reference* spend. The reference is the current
   spend of the unlocked channels scaled to the new budget, so a scenario with a 20% larger budget
   centres each window on +20% (for an unchanged budget the reference is the current spend).
   Channels missing from ``confirmed`` count as not confirmed.
4. Otherwise a channel may take anything from 0 to the whole budget.

Relative user bounds (``x`` multiples, ``%`` changes) are relative to the current spend, not the
reference: they say what the user is willing to spend compared with today.

Bounds syntax (``parse_bounds``, the CLI's ``--bounds``)
-------------------------------------------------------
One or more specs separated by commas or whitespace, each ``channel=VALUE``:

=========================  ================================================================
``ch=100000:300000``        absolute weekly spend in currency; either side may be empty
                            (``ch=:300000`` = at most 300000, ``ch=100000:`` = at least 100000)
``ch=0.5:2x``               multiples of current weekly spend (``x`` on either or both numbers)
``ch=-10%:+10%``            percentage change from current weekly spend (``%`` on either/both)
``ch=lock``                 keep the channel at its current weekly spend
=========================  ================================================================
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from prism_mmm.config import OptimizerConfig, PrismConfig
from prism_mmm.models.base import INTERVAL_MASS, default_spend_grid
from prism_mmm.response import ResponseSurface

CURVE_FRAME_COLUMNS = [
    "channel",
    "spend",
    "response",
    "low",
    "high",
    "marginal_roi",
    "is_current_spend",
]
SCENARIO_COLUMNS = [
    "run_id",
    "round",
    "model",
    "scenario_id",
    "scenario",
    "channel",
    "current_spend",
    "optimal_spend",
    "lower_bound",
    "upper_bound",
    "is_locked",
    "is_confirmed",
    "expected_kpi",
    "expected_kpi_low",
    "expected_kpi_high",
    "expected_roi",
    "total_budget",
    "uplift_kpi",
    "uplift_kpi_low",
    "uplift_kpi_high",
]

# Budget units of the global grid search (dynamic programme); the local polish refines further.
GRID_UNITS = 500
N_RANDOM_STARTS = 3
_REL_TOL = 1e-9


class BudgetError(ValueError):
    """A budget problem the user can fix (bad bounds, infeasible budget, unknown channel)."""


# -- bounds ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bound:
    """One channel's bound as the user wrote it; resolved against current spend later.

    kind: ``"abs"`` (currency per week), ``"ratio"`` (multiples of current), ``"pct"``
    (percentage change from current) or ``"lock"`` (fixed at current; ``low``/``high`` unused).
    """

    kind: str
    low: float = 0.0
    high: float = float("inf")

    def resolve(self, current: float) -> tuple[float, float]:
        """Absolute weekly ``(lower, upper)`` given the channel's current weekly spend."""
        if self.kind == "lock":
            return current, current
        if self.kind == "abs":
            return self.low, self.high
        if self.kind == "ratio":
            return self.low * current, self.high * current
        if self.kind == "pct":
            return current * (1 + self.low / 100), current * (1 + self.high / 100)
        raise ValueError(f"unknown bound kind {self.kind!r}")


_CHANNEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)?\s*([x%]?)\s*$")


def parse_bounds(text: str) -> dict[str, Bound]:
    """Parse bound specs such as ``"google_search=0.5:2x, meta_other=-10%:+10%"``.

    See the module docstring for the syntax. Raises :class:`BudgetError` naming the bad spec.
    """
    bounds: dict[str, Bound] = {}
    for spec in (s for s in re.split(r"[,\s]+", text.strip()) if s):
        channel, sep, value = spec.partition("=")
        if not sep or not _CHANNEL.match(channel):
            raise BudgetError(
                f"cannot read bound {spec!r}: expected channel=LOW:HIGH (absolute), "
                "channel=LOW:HIGHx (multiples of current), channel=-N%:+N% or channel=lock"
            )
        if channel in bounds:
            raise BudgetError(f"channel {channel!r} has more than one bound")
        bounds[channel] = _parse_bound_value(spec, value.strip())
    return bounds


def _parse_bound_value(spec: str, value: str) -> Bound:
    if value.lower() == "lock":
        return Bound("lock")
    low_text, sep, high_text = value.partition(":")
    low_m, high_m = _NUMBER.match(low_text), _NUMBER.match(high_text)
    if not sep or low_m is None or high_m is None or not (low_m.group(1) or high_m.group(1)):
        raise BudgetError(
            f"cannot read bound {spec!r}: the value must be LOW:HIGH with an optional x or % "
            "suffix (e.g. 100000:300000, 0.5:2x, -10%:+10%) or 'lock'"
        )
    units = {low_m.group(2), high_m.group(2)} - {""}
    if len(units) > 1:
        raise BudgetError(f"bound {spec!r} mixes 'x' and '%': use one unit for both ends")
    kind = {"x": "ratio", "%": "pct"}.get(units.pop() if units else "", "abs")
    default_low = -100.0 if kind == "pct" else 0.0
    low = float(low_m.group(1)) if low_m.group(1) else default_low
    high = float(high_m.group(1)) if high_m.group(1) else float("inf")
    if kind == "pct" and low < -100:
        raise BudgetError(f"bound {spec!r}: a change below -100% would mean negative spend")
    if kind != "pct" and low < 0:
        raise BudgetError(f"bound {spec!r}: the lower bound must not be negative")
    if low > high:
        raise BudgetError(f"bound {spec!r}: lower {low:g} > upper {high:g}")
    return Bound(kind, low, high)


# -- evaluation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KpiEstimate:
    """Media-driven KPI over the horizon: mean over draws with a central 90% interval."""

    mean: float
    low: float
    high: float
    draws: np.ndarray

    @classmethod
    def from_draws(cls, draws: np.ndarray) -> KpiEstimate:
        draws = np.asarray(draws, dtype=float)
        mean = float(draws.mean())
        lo_q = (1 - INTERVAL_MASS) / 2
        low, high = np.quantile(draws, [lo_q, 1 - lo_q])
        # The mean of a skewed distribution can fall outside its central interval; widen it so
        # the published interval always contains the published estimate (as for ROI).
        return cls(mean, float(min(low, mean)), float(max(high, mean)), draws)


def evaluate_allocation(
    surface: ResponseSurface, weekly_spend: np.ndarray, horizon_weeks: int
) -> KpiEstimate:
    """Evaluate one weekly allocation on every draw of the surface."""
    per_draw = surface.draws(np.asarray(weekly_spend, dtype=float)).sum(axis=1) * horizon_weeks
    return KpiEstimate.from_draws(per_draw)


def response_curves_frame(
    surface: ResponseSurface, spend_history: np.ndarray, n_points: int = 41
) -> pd.DataFrame:
    """Response curve of every channel on its :func:`default_spend_grid` (``CURVE_FRAME_COLUMNS``).

    ``spend_history`` is (T, C) weekly spend in the surface's channel order. Exactly one point
    per channel has ``is_current_spend``: the one at the current average weekly spend. The
    caller adds ``run_id``, ``round`` and ``model`` to write the ``response_curves`` table.
    """
    history = _check_history(surface, spend_history)
    frames = []
    for c, channel in enumerate(surface.channels):
        grid = default_spend_grid(history[:, c], n_points)
        frame = surface.curve(channel, grid)
        current = np.zeros(len(grid), dtype=bool)
        current[np.argmin(np.abs(grid - history[:, c].mean()))] = True
        frames.append(frame.assign(channel=channel, is_current_spend=current))
    return pd.concat(frames, ignore_index=True)[CURVE_FRAME_COLUMNS]


def _check_history(surface: ResponseSurface, spend_history: np.ndarray) -> np.ndarray:
    history = np.asarray(spend_history, dtype=float)
    if history.ndim != 2 or history.shape[1] != len(surface.channels) or len(history) == 0:
        raise ValueError(
            f"spend_history must be (weeks, {len(surface.channels)}) for channels "
            f"{surface.channels}, got shape {history.shape}"
        )
    return history


# -- the optimiser -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """The optimiser's answer. Spend arrays are weekly, in the surface's channel order."""

    channels: list[str]
    current_spend: np.ndarray
    optimal_spend: np.ndarray
    lower_bound: np.ndarray
    upper_bound: np.ndarray
    is_locked: np.ndarray
    is_confirmed: np.ndarray
    total_budget: float
    horizon_weeks: int
    kpi: KpiEstimate

    @property
    def expected_roi(self) -> float:
        """Media-driven KPI per unit of spend over the horizon."""
        spend = self.total_budget * self.horizon_weeks
        return self.kpi.mean / spend if spend > 0 else float("nan")


def optimize_allocation(
    surface: ResponseSurface,
    total_weekly_budget: float,
    bounds: Mapping[str, Bound | tuple[float, float]] | None = None,
    locked: Iterable[str] = (),
    horizon_weeks: int = 13,
    *,
    current: np.ndarray | None = None,
    confirmed: Mapping[str, bool] | None = None,
    guard: OptimizerConfig | None = None,
    random_state: int = 0,
) -> Allocation:
    """Maximise the expected (mean over draws) KPI over the horizon for a weekly budget.

    Parameters
    ----------
    surface : the model's response surface.
    total_weekly_budget : weekly spend to allocate; the allocation sums to it exactly.
    bounds : channel -> :class:`Bound` or absolute ``(lower, upper)`` weekly spend.
    locked : channels kept at their current spend.
    horizon_weeks : planning horizon; KPI figures are totals over it.
    current : current weekly spend (C,); default ``surface.current_weekly_spend``.
    confirmed : channel -> models agree (``model_agreement.confirmed``); absent = not confirmed.
    guard : apply the agreement guard with these percentages (module docstring); None = off.
    random_state : seed of the random starting points.

    Returns
    -------
    Allocation with the optimal spend, resolved bounds and the KPI distribution across draws.

    Notes
    -----
    The expected response is a sum of one-dimensional channel curves, so a dynamic programme on
    a grid of ``GRID_UNITS`` budget units finds the global optimum on that grid even for
    S-shaped Hill curves (shape > 1). SLSQP with analytic gradients then polishes it and
    several other feasible starts (current allocation, even split, random points); the best
    feasible point wins, so the answer is never worse than the current allocation when that
    allocation is feasible.
    """
    if surface.n_draws == 0:
        raise ValueError("the response surface has no draws to optimise over")
    budget = float(total_weekly_budget)
    if not np.isfinite(budget) or budget < 0:
        raise BudgetError(f"the total weekly budget must be a non-negative number, got {budget:g}")
    channels = list(surface.channels)
    cur = np.asarray(surface.current_weekly_spend if current is None else current, dtype=float)
    bounds = dict(bounds or {})
    locked = set(locked)
    _check_known(channels, bounds, "bounds")
    _check_known(channels, locked, "locks")
    locked |= {ch for ch, b in bounds.items() if isinstance(b, Bound) and b.kind == "lock"}
    is_locked = np.array([ch in locked for ch in channels])
    is_confirmed = np.array([bool((confirmed or {}).get(ch, False)) for ch in channels])

    lower, upper, source = _resolve_bounds(
        channels, cur, budget, bounds, is_locked, is_confirmed, guard
    )
    _check_feasible(channels, lower, upper, budget, source)
    upper = np.minimum(upper, budget)
    spend = _solve(surface, lower, upper, budget, cur, random_state)
    return Allocation(
        channels=channels,
        current_spend=cur,
        optimal_spend=spend,
        lower_bound=lower,
        upper_bound=upper,
        is_locked=is_locked,
        is_confirmed=is_confirmed,
        total_budget=budget,
        horizon_weeks=int(horizon_weeks),
        kpi=evaluate_allocation(surface, spend, horizon_weeks),
    )


def _check_known(channels: list[str], names: Iterable[str], what: str) -> None:
    unknown = sorted(set(names) - set(channels))
    if unknown:
        raise BudgetError(
            f"unknown channel {', '.join(repr(u) for u in unknown)} in {what}; "
            f"known channels: {', '.join(channels)}"
        )


def _resolve_bounds(
    channels: list[str],
    cur: np.ndarray,
    budget: float,
    bounds: dict[str, Bound | tuple[float, float]],
    is_locked: np.ndarray,
    is_confirmed: np.ndarray,
    guard: OptimizerConfig | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Absolute weekly (lower, upper) per channel, applying the documented precedence, and
    where each channel's bound came from (for error messages)."""
    lower = np.zeros(len(channels))
    upper = np.full(len(channels), np.inf)
    source = ["no bound"] * len(channels)
    reference = _reference(cur, budget, is_locked)
    for c, channel in enumerate(channels):
        if is_locked[c]:
            lower[c] = upper[c] = cur[c]
            source[c] = "locked"
        elif channel in bounds:
            bound = bounds[channel]
            lo, hi = bound.resolve(cur[c]) if isinstance(bound, Bound) else map(float, bound)
            if lo > hi:
                raise BudgetError(f"bounds for {channel!r}: lower {lo:,.2f} > upper {hi:,.2f}")
            lower[c], upper[c] = max(lo, 0.0), hi
            source[c] = "your bound"
        elif guard is not None:
            pct = guard.max_change_pct if is_confirmed[c] else guard.unconfirmed_max_change_pct
            lower[c] = reference[c] * max(1 - pct / 100, 0.0)
            upper[c] = reference[c] * (1 + pct / 100)
            source[c] = f"agreement guard ±{pct:g}%"
    return lower, upper, source


def _reference(cur: np.ndarray, budget: float, is_locked: np.ndarray) -> np.ndarray:
    """Current spend of the unlocked channels scaled so that the total meets the budget."""
    free_budget = max(budget - cur[is_locked].sum(), 0.0)
    free_current = cur[~is_locked].sum()
    reference = cur.copy()
    if free_current > 0:
        reference[~is_locked] = cur[~is_locked] * free_budget / free_current
    elif (~is_locked).any():
        # Nothing is spent today on the free channels: centre their windows on an even split.
        reference[~is_locked] = free_budget / (~is_locked).sum()
    return reference


def _check_feasible(
    channels: list[str], lower: np.ndarray, upper: np.ndarray, budget: float, source: list[str]
) -> None:
    tol = _REL_TOL * max(budget, 1.0)

    def breakdown(values: np.ndarray) -> str:
        parts = [
            f"{ch} {v:,.2f} ({src})"
            for ch, v, src in zip(channels, values, source)
            if v > 0 and np.isfinite(v)
        ]
        return "; ".join(parts) or "none"

    if lower.sum() > budget + tol:
        raise BudgetError(
            f"the bounds cannot meet the budget: the lower bounds add up to {lower.sum():,.2f} "
            f"per week, more than the weekly budget {budget:,.2f} [{breakdown(lower)}]; lower "
            "some bounds, unlock channels or raise the budget"
        )
    if upper.sum() < budget - tol:
        raise BudgetError(
            f"the bounds cannot meet the budget: the upper bounds add up to {upper.sum():,.2f} "
            f"per week, less than the weekly budget {budget:,.2f} [{breakdown(upper)}]; widen "
            "some bounds, unlock channels or lower the budget"
        )


class _Objective:
    """Mean-over-draws weekly response of the free channels, its gradient and 1-D curves."""

    def __init__(self, surface: ResponseSurface, free: np.ndarray) -> None:
        self.surface = surface
        self.free = free
        self.coef = surface.coef[:, free]
        self.params = {k: v[:, free] for k, v in surface.sat_params.items()}
        self.scale = surface.scale[free]

    def value(self, x: np.ndarray) -> float:
        z = np.clip(x, 0.0, None)[None, :] / self.scale[None, :]
        return float((self.coef * self._sat(z)).mean(axis=0).sum())

    def gradient(self, x: np.ndarray) -> np.ndarray:
        # Tiny floor: Hill with shape < 1 has an infinite slope at zero spend.
        z = np.clip(x, 1e-9 * self.scale, None)[None, :] / self.scale[None, :]
        return (self.coef * self._dsat(z)).mean(axis=0) / self.scale

    def channel_curve(self, j: int, spend: np.ndarray) -> np.ndarray:
        """Mean response of free channel ``j`` at each spend level."""
        channel = self.surface.channels[np.flatnonzero(self.free)[j]]
        return self.surface.channel_draws(channel, spend).mean(axis=0)

    def _sat(self, z: np.ndarray) -> np.ndarray:
        return self.surface._saturate(z, self.params)

    def _dsat(self, z: np.ndarray) -> np.ndarray:
        return self.surface.curve_transform.dx(z, **self.params)


def _solve(
    surface: ResponseSurface,
    lower: np.ndarray,
    upper: np.ndarray,
    budget: float,
    cur: np.ndarray,
    random_state: int,
) -> np.ndarray:
    spend = lower.copy()
    free = upper - lower > _REL_TOL * max(budget, 1.0)
    total = budget - lower[~free].sum()
    if not free.any() or total - lower[free].sum() <= 0:
        return spend
    lo = lower[free]
    # No channel can take more than what the other channels' lower bounds leave over.
    hi = np.minimum(upper[free], total - (lo.sum() - lo))
    objective = _Objective(surface, free)
    rng = np.random.default_rng(random_state)
    starts = [
        _grid_optimum(objective, lo, hi, total),
        _project(cur[free], lo, hi, total),
        _project(np.full(len(lo), total / len(lo)), lo, hi, total),
        *(
            _project(rng.dirichlet(np.ones(len(lo))) * total, lo, hi, total)
            for _ in range(N_RANDOM_STARTS)
        ),
    ]
    candidates = list(starts)
    candidates += [_polish(objective, x0, lo, hi, total) for x0 in starts]
    best = max(candidates, key=objective.value)
    spend[free] = best
    return spend


def _grid_optimum(obj: _Objective, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Global optimum on a grid of ``GRID_UNITS`` budget units (dynamic programme)."""
    remaining = total - lo.sum()
    unit = remaining / GRID_UNITS
    units = np.arange(GRID_UNITS + 1)
    # ceil keeps the grid feasible; points beyond the upper bound are clipped to it and the
    # final projection restores the exact budget.
    caps = np.ceil((hi - lo) / unit - 1e-9).astype(int)
    n_minus_m = units[:, None] - units[None, :]
    value = np.where(units == 0, 0.0, -np.inf)
    choices = []
    for j in range(len(lo)):
        gain = obj.channel_curve(j, np.minimum(lo[j] + units * unit, hi[j]))
        gain = np.where(units <= caps[j], gain, -np.inf)
        candidates = np.where(
            n_minus_m >= 0, value[np.clip(n_minus_m, 0, None)] + gain[None, :], -np.inf
        )
        best_m = np.argmax(candidates, axis=1)
        value = candidates[units, best_m]
        choices.append(best_m)
    taken = np.zeros(len(lo), dtype=int)
    n = GRID_UNITS
    for j in reversed(range(len(lo))):
        taken[j] = choices[j][n]
        n -= taken[j]
    return _project(np.minimum(lo + taken * unit, hi), lo, hi, total)


def _polish(
    obj: _Objective, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float
) -> np.ndarray:
    """SLSQP from ``x0`` in budget shares (well scaled), then projected back onto the constraints."""
    scale = max(abs(obj.value(x0)), 1e-12)

    def fun(v: np.ndarray) -> tuple[float, np.ndarray]:
        x = v * total
        return -obj.value(x) / scale, -obj.gradient(x) * total / scale

    result = minimize(
        fun,
        x0 / total,
        jac=True,
        method="SLSQP",
        bounds=list(zip(lo / total, hi / total)),
        constraints=[
            {"type": "eq", "fun": lambda v: v.sum() - 1.0, "jac": lambda v: np.ones_like(v)}
        ],
        options={"maxiter": 200, "ftol": 1e-12},
    )
    x = result.x * total if np.all(np.isfinite(result.x)) else x0
    return _project(x, lo, hi, total)


def _project(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """Closest point to ``y`` with ``lo <= x <= hi`` and ``sum(x) == total`` (shift + clip)."""
    a, b = float(np.min(lo - y)), float(np.max(hi - y))
    for _ in range(200):
        mid = (a + b) / 2
        if np.clip(y + mid, lo, hi).sum() < total:
            a = mid
        else:
            b = mid
    x = np.clip(y + (a + b) / 2, lo, hi)
    # Bisection leaves a rounding residual; hand it to channels with room so the sum is exact.
    residual = total - x.sum()
    room = hi - x if residual > 0 else x - lo
    for j in np.argsort(-room):
        step = np.sign(residual) * min(abs(residual), room[j])
        x[j] += step
        residual -= step
        if residual == 0:
            break
    return x


# -- scenarios -----------------------------------------------------------------------------------
def scenario_frame(
    allocation: Allocation,
    scenario: str,
    scenario_id: str,
    run_id: str,
    round: int,
    model: str,
    current: KpiEstimate,
) -> pd.DataFrame:
    """Rows of ``budget_scenarios`` for one allocation (``SCENARIO_COLUMNS``).

    ``expected_kpi*``, ``expected_roi``, ``total_budget`` and ``uplift_kpi*`` are scenario-level
    figures repeated on every channel row: read them from any one row, never sum them over
    channels. ``current`` is today's allocation evaluated on the same draws: the uplift is the
    per-draw difference, so its interval is the interval of the gain itself (the difference of
    the two scenarios' interval ends is not).
    """
    a = allocation
    uplift = KpiEstimate.from_draws(a.kpi.draws - current.draws)
    frame = pd.DataFrame(
        {
            "run_id": run_id,
            "round": int(round),
            "model": model,
            "scenario_id": scenario_id,
            "scenario": scenario,
            "channel": a.channels,
            "current_spend": a.current_spend,
            "optimal_spend": a.optimal_spend,
            "lower_bound": a.lower_bound,
            "upper_bound": a.upper_bound,
            "is_locked": a.is_locked,
            "is_confirmed": a.is_confirmed,
            "expected_kpi": a.kpi.mean,
            "expected_kpi_low": a.kpi.low,
            "expected_kpi_high": a.kpi.high,
            "expected_roi": a.expected_roi,
            "total_budget": a.total_budget,
            "uplift_kpi": uplift.mean,
            "uplift_kpi_low": uplift.low,
            "uplift_kpi_high": uplift.high,
        }
    )
    return frame[SCENARIO_COLUMNS]


def current_allocation(
    surface: ResponseSurface,
    spend_history: np.ndarray,
    confirmed: Mapping[str, bool] | None,
    horizon_weeks: int,
) -> Allocation:
    """The current average weekly allocation as an :class:`Allocation` (bounds pinned to it)."""
    cur = _check_history(surface, spend_history).mean(axis=0)
    return Allocation(
        channels=list(surface.channels),
        current_spend=cur,
        optimal_spend=cur,
        lower_bound=cur,
        upper_bound=cur,
        is_locked=np.zeros(len(cur), dtype=bool),
        is_confirmed=np.array([bool((confirmed or {}).get(ch, False)) for ch in surface.channels]),
        total_budget=float(cur.sum()),
        horizon_weeks=horizon_weeks,
        kpi=evaluate_allocation(surface, cur, horizon_weeks),
    )


def _budget_scenario_name(change_pct: float) -> str:
    direction = "plus" if change_pct > 0 else "minus"
    return f"optimal_budget_{direction}_{abs(change_pct):g}"


def default_scenarios(
    surface: ResponseSurface,
    spend_history: np.ndarray,
    confirmed: Mapping[str, bool] | None,
    cfg: PrismConfig,
    run_id: str,
    round: int,
    model: str,
) -> pd.DataFrame:
    """The standard scenarios of one fitted model, as ``budget_scenarios`` rows.

    ``current`` (today's average weekly allocation, bounds pinned to it),
    ``optimal_same_budget`` and ``optimal_budget_{plus,minus}_<pct>`` for each
    ``cfg.optimizer.budget_changes_pct``; all under the agreement guard. ``scenario_id`` is
    ``"{run_id}-r{round}-{model}-{scenario}"`` (deterministic: a rerun replaces, not duplicates).
    """
    opt = cfg.optimizer
    now = current_allocation(surface, spend_history, confirmed, opt.horizon_weeks)
    budgets = {"optimal_same_budget": now.total_budget}
    for change in opt.budget_changes_pct:
        if change != 0:
            budgets[_budget_scenario_name(change)] = now.total_budget * (1 + change / 100)
    frames = [
        scenario_frame(
            now, "current", f"{run_id}-r{round}-{model}-current", run_id, round, model, now.kpi
        )
    ]
    for scenario, budget in budgets.items():
        allocation = optimize_allocation(
            surface,
            budget,
            horizon_weeks=opt.horizon_weeks,
            current=now.current_spend,
            confirmed=confirmed,
            guard=opt,
        )
        frames.append(
            scenario_frame(
                allocation,
                scenario,
                f"{run_id}-r{round}-{model}-{scenario}",
                run_id,
                round,
                model,
                now.kpi,
            )
        )
    return pd.concat(frames, ignore_index=True)


def user_scenario(
    surface: ResponseSurface,
    spend_history: np.ndarray,
    confirmed: Mapping[str, bool] | None,
    cfg: PrismConfig,
    run_id: str,
    round: int,
    model: str,
    total_weekly_budget: float,
    bounds: Mapping[str, Bound | tuple[float, float]] | None = None,
    locked: Iterable[str] = (),
) -> tuple[Allocation, pd.DataFrame]:
    """A user-defined scenario (``scenario = 'user'``) under the agreement guard.

    Returns the allocation and its ``budget_scenarios`` rows; ``scenario_id`` is
    ``"{run_id}-r{round}-{model}-user-<UTC timestamp>-<random>"`` so every call is unique.
    """
    cur = _check_history(surface, spend_history).mean(axis=0)
    allocation = optimize_allocation(
        surface,
        total_weekly_budget,
        bounds,
        locked,
        cfg.optimizer.horizon_weeks,
        current=cur,
        confirmed=confirmed,
        guard=cfg.optimizer,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scenario_id = f"{run_id}-r{round}-{model}-user-{stamp}-{uuid.uuid4().hex[:8]}"
    today = evaluate_allocation(surface, cur, allocation.horizon_weeks)
    return allocation, scenario_frame(allocation, "user", scenario_id, run_id, round, model, today)
