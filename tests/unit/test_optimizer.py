"""Response curves and the budget optimiser on hand-made response surfaces (real numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prism_mmm.config import OptimizerConfig, PrismConfig
from prism_mmm.optimizer import (
    CURVE_FRAME_COLUMNS,
    SCENARIO_COLUMNS,
    Bound,
    BudgetError,
    KpiEstimate,
    _Objective,
    current_allocation,
    default_scenarios,
    evaluate_allocation,
    optimize_allocation,
    parse_bounds,
    response_curves_frame,
    user_scenario,
)
from prism_mmm.response import ResponseSurface

HORIZON = 13
SCALE = 1e5


def hill_surface(
    coef: np.ndarray,
    half_sat: np.ndarray,
    shape: np.ndarray,
    current: np.ndarray,
    channels: list[str] | None = None,
) -> ResponseSurface:
    coef = np.atleast_2d(coef)
    channels = channels or [f"ch{i}" for i in range(coef.shape[1])]
    return ResponseSurface(
        model="bayes",
        channels=channels,
        saturation="hill",
        scale=np.full(coef.shape[1], SCALE),
        coef=coef,
        sat_params={"half_sat": np.atleast_2d(half_sat), "shape": np.atleast_2d(shape)},
        current_weekly_spend=np.asarray(current, dtype=float),
    )


@pytest.fixture(scope="module")
def three_channels() -> ResponseSurface:
    """search: concave; video: S-shaped (shape 3); social: concave with shape < 1. 50 draws."""
    rng = np.random.default_rng(7)
    draws = 50
    return hill_surface(
        coef=np.array([1500.0, 4000.0, 1200.0]) * rng.lognormal(0, 0.1, (draws, 3)),
        half_sat=np.array([0.5, 1.2, 0.3]) * rng.lognormal(0, 0.05, (draws, 3)),
        shape=np.tile([1.0, 3.0, 0.8], (draws, 1)),
        current=np.array([100_000.0, 50_000.0, 50_000.0]),
        channels=["search", "video", "social"],
    )


def brute_force(surface: ResponseSurface, budget: float, steps: int = 400):
    """Best allocation on a simplex grid with ``budget / steps`` resolution (mean over draws)."""
    i, j = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
    keep = i + j <= steps
    grid = np.stack([i[keep], j[keep], steps - i[keep] - j[keep]], axis=1) * budget / steps
    k, n = surface.sat_params["half_sat"], surface.sat_params["shape"]
    z = grid[None, :, :] / SCALE
    response = (
        surface.coef[:, None, :]
        * z ** n[:, None, :]
        / (z ** n[:, None, :] + k[:, None, :] ** n[:, None, :])
    )
    kpi = HORIZON * response.sum(axis=2).mean(axis=0)
    return grid[kpi.argmax()], float(kpi.max())


# -- optimum -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("budget", "expected_video"),
    # The S-shaped channel is worth crossing its threshold at every one of these budgets.
    [(100_000.0, 94_000.0), (200_000.0, 164_500.0), (500_000.0, 293_500.0)],
)
def test_optimum_matches_brute_force_grid(three_channels, budget, expected_video):
    allocation = optimize_allocation(three_channels, budget, horizon_weeks=HORIZON)
    grid_spend, grid_kpi = brute_force(three_channels, budget)

    assert allocation.optimal_spend.sum() == pytest.approx(budget, rel=1e-9)
    assert allocation.kpi.mean >= grid_kpi * (1 - 0.01)
    # The continuous polish should do at least as well as the grid, up to its resolution.
    assert allocation.kpi.mean >= grid_kpi - 1e-6 * grid_kpi
    np.testing.assert_allclose(allocation.optimal_spend, grid_spend, atol=budget / 400 * 2)
    assert allocation.optimal_spend[1] == pytest.approx(expected_video, abs=1_000)


def test_s_shaped_channel_local_optimum_is_escaped():
    """Starting from current (S channel at zero, slope zero) a local solver stays stuck at a
    worse point; the global grid start must find the better corner."""
    surface = hill_surface(
        coef=[[1000.0, 6000.0]], half_sat=[[0.4, 1.0]], shape=[[1.0, 4.0]], current=[150_000, 0]
    )
    allocation = optimize_allocation(surface, 150_000, horizon_weeks=HORIZON)
    stay = evaluate_allocation(surface, np.array([150_000.0, 0.0]), HORIZON).mean
    grid_spend, grid_kpi = brute_force3(surface, 150_000)
    assert allocation.kpi.mean > 1.5 * stay
    assert allocation.kpi.mean >= grid_kpi * (1 - 1e-6)
    assert allocation.optimal_spend[1] == pytest.approx(grid_spend[1], abs=500)


def brute_force3(surface: ResponseSurface, budget: float, steps: int = 3000):
    spend = np.linspace(0, budget, steps + 1)
    kpi = np.array(
        [evaluate_allocation(surface, np.array([budget - s, s]), HORIZON).mean for s in spend]
    )
    return np.array([budget - spend[kpi.argmax()], spend[kpi.argmax()]]), float(kpi.max())


@pytest.mark.parametrize("saturation", ["hill", "logistic"])
def test_gradient_is_analytic_and_right(saturation):
    rng = np.random.default_rng(3)
    params = (
        {"half_sat": rng.uniform(0.3, 1.5, (20, 3)), "shape": rng.uniform(0.7, 3.0, (20, 3))}
        if saturation == "hill"
        else {"lam": rng.uniform(0.5, 4.0, (20, 3))}
    )
    surface = ResponseSurface(
        model="nls",
        channels=["a", "b", "c"],
        saturation=saturation,
        scale=np.array([5e4, 1e5, 2e5]),
        coef=rng.uniform(500, 3000, (20, 3)),
        sat_params=params,
        current_weekly_spend=np.array([5e4, 1e5, 1e5]),
    )
    objective = _Objective(surface, np.ones(3, dtype=bool))
    x = np.array([30_000.0, 120_000.0, 90_000.0])
    step = np.eye(3) * 1.0
    central = [(objective.value(x + h) - objective.value(x - h)) / 2 for h in step]
    np.testing.assert_allclose(objective.gradient(x), central, rtol=1e-6)


# -- constraints are always respected ----------------------------------------------------------
bound_kinds = st.sampled_from(["none", "abs", "ratio", "pct", "lock"])


@st.composite
def problems(draw):
    n = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    current = rng.uniform(0, 200_000, n) * (rng.random(n) > 0.15)
    surface = hill_surface(
        coef=rng.uniform(100, 5000, (5, n)),
        half_sat=rng.uniform(0.2, 2.0, (5, n)),
        shape=rng.uniform(0.5, 3.5, (5, n)),
        current=current,
    )
    bounds, locked = {}, []
    for c, channel in enumerate(surface.channels):
        kind = draw(bound_kinds)
        # Windows around current spend: infeasible only when the budget moves far from today's.
        a, b = rng.uniform(0, 1, 2)
        if kind == "abs":
            bounds[channel] = (a * current[c], (1 + 2 * b) * current[c] + 1_000 * b)
        elif kind == "ratio":
            bounds[channel] = Bound("ratio", a, 1 + 2 * b)
        elif kind == "pct":
            bounds[channel] = Bound("pct", -100 * a, 100 * b)
        elif kind == "lock":
            locked.append(channel)
    # Budgets around today's total keep most drawn problems feasible.
    budget = draw(st.floats(0.5, 1.5)) * max(current.sum(), 1_000.0)
    guard = draw(st.sampled_from([None, OptimizerConfig()]))
    confirmed = {ch: bool(rng.random() > 0.5) for ch in surface.channels}
    return surface, budget, bounds, locked, guard, confirmed


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_budget_bounds_and_locks_are_respected(problem):
    surface, budget, bounds, locked, guard, confirmed = problem
    try:
        allocation = optimize_allocation(
            surface, budget, bounds, locked, HORIZON, confirmed=confirmed, guard=guard
        )
    except BudgetError as exc:
        assert "cannot meet the budget" in str(exc)
        return
    tol = 1e-6 * max(budget, 1.0)
    spend = allocation.optimal_spend
    assert abs(spend.sum() - budget) <= tol
    assert np.all(spend >= allocation.lower_bound - tol)
    assert np.all(spend <= allocation.upper_bound + tol)
    assert np.all(spend >= -tol)
    for c, channel in enumerate(surface.channels):
        if channel in locked:
            assert spend[c] == pytest.approx(surface.current_weekly_spend[c], abs=tol)
        elif channel in bounds:
            bound = bounds[channel]
            lo, hi = (
                bound
                if isinstance(bound, tuple)
                else bound.resolve(surface.current_weekly_spend[c])
            )
            assert lo - tol <= spend[c] <= hi + tol
    assert allocation.kpi.low <= allocation.kpi.mean <= allocation.kpi.high


# -- clear errors -------------------------------------------------------------------------------
@pytest.fixture
def two_channels() -> ResponseSurface:
    return hill_surface(
        coef=[[1000.0, 2000.0]],
        half_sat=[[0.5, 0.8]],
        shape=[[1.0, 1.5]],
        current=[100_000, 50_000],
        channels=["search", "video"],
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"total_weekly_budget": -5.0}, "non-negative number, got -5"),
        (
            {"bounds": {"tiktok": (0, 1)}},
            "unknown channel 'tiktok' in bounds; known channels: search, video",
        ),
        ({"locked": ["radio"]}, "unknown channel 'radio' in locks"),
        ({"bounds": {"search": (200_000, 100_000)}}, "'search': lower 200,000.00 > upper"),
        (
            {"bounds": {"search": (120_000, 200_000)}, "locked": ["video"]},
            (
                "lower bounds add up to 170,000.00 per week, more than the weekly budget "
                "150,000.00 [search 120,000.00 (your bound); video 50,000.00 (locked)]"
            ),
        ),
        (
            {"bounds": {"search": Bound("pct", -10, 10), "video": Bound("ratio", 0, 1)}},
            (
                "upper bounds add up to 160,000.00 per week, less than the weekly budget "
                "200,000.00 [search 110,000.00 (your bound); video 50,000.00 (your bound)]"
            ),
        ),
    ],
)
def test_infeasible_inputs_name_the_problem(two_channels, kwargs, message):
    args = {"total_weekly_budget": 150_000.0, **kwargs}
    if "upper bounds" in message:
        args["total_weekly_budget"] = 200_000.0
    with pytest.raises(BudgetError) as info:
        optimize_allocation(two_channels, **args)
    assert message in str(info.value)


def test_zero_budget_spends_nothing(two_channels):
    allocation = optimize_allocation(two_channels, 0.0)
    assert allocation.optimal_spend.tolist() == [0.0, 0.0]
    assert allocation.kpi.mean == 0.0
    assert np.isnan(allocation.expected_roi)


def test_parse_bounds_syntax():
    parsed = parse_bounds(
        "google_search=0.5:2.0x, meta_facebook=100000:300000 google_video=lock "
        "meta_other=-10%:+10% google_pmax=:5e4 google_display=0.5x:"
    )
    assert parsed == {
        "google_search": Bound("ratio", 0.5, 2.0),
        "meta_facebook": Bound("abs", 100_000, 300_000),
        "google_video": Bound("lock"),
        "meta_other": Bound("pct", -10, 10),
        "google_pmax": Bound("abs", 0, 50_000),
        "google_display": Bound("ratio", 0.5, float("inf")),
    }
    assert parsed["meta_other"].resolve(200.0) == pytest.approx((180.0, 220.0))
    assert parsed["google_search"].resolve(200.0) == (100.0, 400.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("google_search", "cannot read bound 'google_search'"),
        ("google_search=1:2:3", "cannot read bound 'google_search=1:2:3'"),
        ("google_search=abc", "cannot read bound 'google_search=abc'"),
        ("google_search=:", "cannot read bound 'google_search=:'"),
        ("google_search=1x:2%", "mixes 'x' and '%'"),
        ("google_search=3:1x", "lower 3 > upper 1"),
        ("google_search=-5:10", "must not be negative"),
        ("google_search=-150%:0%", "below -100%"),
        ("a=1:2 a=2:3", "channel 'a' has more than one bound"),
        ("1abc=1:2", "cannot read bound '1abc=1:2'"),
    ],
)
def test_parse_bounds_errors(text, message):
    with pytest.raises(BudgetError, match=None) as info:
        parse_bounds(text)
    assert message in str(info.value)


# -- precedence: lock > user bounds > agreement guard -------------------------------------------
def test_guard_precedence(two_channels):
    guard = OptimizerConfig(max_change_pct=50, unconfirmed_max_change_pct=15)
    guarded = optimize_allocation(
        two_channels, 150_000, confirmed={"search": True, "video": False}, guard=guard
    )
    np.testing.assert_allclose(guarded.lower_bound, [50_000, 42_500])
    np.testing.assert_allclose(guarded.upper_bound, [150_000, 57_500])
    assert list(guarded.is_confirmed) == [True, False]

    user = optimize_allocation(
        two_channels,
        150_000,
        bounds={"video": Bound("ratio", 0, 2)},
        locked=["search"],
        confirmed={"search": True},
        guard=guard,
    )
    np.testing.assert_allclose(user.optimal_spend, [100_000, 50_000])
    assert list(user.is_locked) == [True, False]
    np.testing.assert_allclose(user.upper_bound, [100_000, 100_000])

    # A 20% larger budget centres the guard windows on the scaled current spend.
    bigger = optimize_allocation(two_channels, 180_000, confirmed={}, guard=guard)
    np.testing.assert_allclose(bigger.lower_bound, [102_000, 51_000])
    np.testing.assert_allclose(bigger.upper_bound, [138_000, 69_000])


# -- intervals -----------------------------------------------------------------------------------
def test_more_draws_give_a_proper_interval():
    one = hill_surface(
        coef=[[1000.0, 2000.0]],
        half_sat=[[0.5, 0.8]],
        shape=[[1.0, 1.5]],
        current=[100_000, 50_000],
    )
    single = optimize_allocation(one, 150_000, horizon_weeks=HORIZON)
    assert single.kpi.low == single.kpi.mean == single.kpi.high

    rng = np.random.default_rng(11)
    coef = np.array([1000.0, 2000.0]) * rng.lognormal(0, 0.3, (400, 2))
    many = hill_surface(
        coef=coef,
        half_sat=np.tile([0.5, 0.8], (400, 1)),
        shape=np.tile([1.0, 1.5], (400, 1)),
        current=[100_000, 50_000],
    )
    allocation = optimize_allocation(many, 150_000, horizon_weeks=HORIZON)
    per_draw = many.draws(allocation.optimal_spend).sum(axis=1) * HORIZON
    low, high = np.quantile(per_draw, [0.05, 0.95])
    assert allocation.kpi.low == pytest.approx(low)
    assert allocation.kpi.high == pytest.approx(high)
    assert allocation.kpi.mean == pytest.approx(per_draw.mean())
    assert low < allocation.kpi.mean < high
    assert (high - low) / allocation.kpi.mean > 0.3
    assert allocation.expected_roi == pytest.approx(per_draw.mean() / (150_000 * HORIZON))


# -- curves and scenarios ------------------------------------------------------------------------
def history_for(surface: ResponseSurface, weeks: int = 52) -> np.ndarray:
    rng = np.random.default_rng(5)
    noise = rng.uniform(0.5, 1.5, (weeks, len(surface.channels)))
    noise /= noise.mean(axis=0)  # history averages exactly to the surface's current spend
    return surface.current_weekly_spend[None, :] * noise


def test_response_curves_frame(three_channels):
    history = history_for(three_channels)
    frame = response_curves_frame(three_channels, history, n_points=41)
    assert list(frame.columns) == CURVE_FRAME_COLUMNS
    for c, channel in enumerate(three_channels.channels):
        rows = frame[frame["channel"] == channel]
        assert len(rows) == 42  # 41 grid points plus the current average
        assert rows["spend"].min() == 0
        assert rows["spend"].max() == pytest.approx(2 * history[:, c].max())
        current = rows[rows["is_current_spend"]]
        assert len(current) == 1
        assert current["spend"].iloc[0] == pytest.approx(history[:, c].mean())
        assert (rows["low"] <= rows["response"]).all() and (rows["response"] <= rows["high"]).all()
    with pytest.raises(ValueError, match="spend_history must be"):
        response_curves_frame(three_channels, history[:, :2])


def test_default_scenarios_contract(three_channels):
    cfg = PrismConfig()
    history = history_for(three_channels)
    confirmed = {"search": True, "video": True, "social": False}
    frame = default_scenarios(three_channels, history, confirmed, cfg, "run-a", 2, "bayes")

    assert list(frame.columns) == SCENARIO_COLUMNS
    assert frame["scenario"].unique().tolist() == [
        "current",
        "optimal_same_budget",
        "optimal_budget_minus_20",
        "optimal_budget_plus_20",
    ]
    assert frame["scenario_id"].unique().tolist() == [
        f"run-a-r2-bayes-{s}" for s in frame["scenario"].unique()
    ]
    assert len(frame) == 4 * 3
    assert (frame["round"] == 2).all() and (frame["model"] == "bayes").all()
    by = frame.groupby("scenario", sort=False)
    current_total = history.mean(axis=0).sum()
    totals = by["optimal_spend"].sum()
    np.testing.assert_allclose(
        totals.to_numpy(), current_total * np.array([1.0, 1.0, 0.8, 1.2]), rtol=1e-9
    )
    np.testing.assert_allclose(by["total_budget"].first().to_numpy(), totals.to_numpy())
    kpi = by["expected_kpi"].first()
    assert kpi["optimal_same_budget"] >= kpi["current"]
    assert kpi["optimal_budget_plus_20"] > kpi["optimal_budget_minus_20"]
    assert (frame["expected_kpi_low"] <= frame["expected_kpi"]).all()
    assert (frame["expected_kpi"] <= frame["expected_kpi_high"]).all()
    same = frame[frame["scenario"] == "optimal_same_budget"].set_index("channel")
    # social is unconfirmed: at most ±15% of current; the others ±50%.
    assert same.loc["social", "upper_bound"] == pytest.approx(1.15 * 50_000)
    assert same.loc["search", "upper_bound"] == pytest.approx(1.5 * 100_000)
    assert (same["optimal_spend"] <= same["upper_bound"] + 1e-6).all()
    assert not same.loc["social", "is_confirmed"]

    again = default_scenarios(three_channels, history, confirmed, cfg, "run-a", 2, "bayes")
    assert again["scenario_id"].tolist() == frame["scenario_id"].tolist()


def test_scenario_uplift_is_the_paired_difference_with_its_own_interval(three_channels):
    history = history_for(three_channels)
    cfg = PrismConfig()
    frame = default_scenarios(three_channels, history, None, cfg, "run-a", 1, "bayes")
    first = frame.groupby("scenario", sort=False).first()
    assert (first.loc["current", ["uplift_kpi", "uplift_kpi_low", "uplift_kpi_high"]] == 0).all()
    same = first.loc["optimal_same_budget"]
    # The mean of a difference is the difference of the means ...
    assert same["uplift_kpi"] == pytest.approx(same["expected_kpi"]
                                               - first.loc["current", "expected_kpi"])
    assert same["uplift_kpi_low"] <= same["uplift_kpi"] <= same["uplift_kpi_high"]
    # ... but its interval is the interval of the per-draw gain, from the same draws.
    today = current_allocation(three_channels, history, None, cfg.optimizer.horizon_weeks)
    optimal = evaluate_allocation(
        three_channels, frame.loc[frame["scenario"] == "optimal_same_budget",
                                  "optimal_spend"].to_numpy(), cfg.optimizer.horizon_weeks)
    gain = KpiEstimate.from_draws(optimal.draws - today.kpi.draws)
    assert (same["uplift_kpi_low"], same["uplift_kpi_high"]) == pytest.approx(
        (gain.low, gain.high))


def test_user_scenario_ids_are_unique(three_channels):
    history = history_for(three_channels)
    cfg = PrismConfig()
    ids = set()
    for _ in range(3):
        allocation, rows = user_scenario(
            three_channels,
            history,
            None,
            cfg,
            "run-a",
            1,
            "bayes",
            210_000,
            bounds=parse_bounds("video=40000:120000"),
            locked=["social"],
        )
        assert list(rows.columns) == SCENARIO_COLUMNS
        assert (rows["scenario"] == "user").all()
        today = current_allocation(three_channels, history, None, cfg.optimizer.horizon_weeks)
        assert rows["uplift_kpi"].iloc[0] == pytest.approx(
            rows["expected_kpi"].iloc[0] - today.kpi.mean)
        ids.add(rows["scenario_id"].iloc[0])
        assert rows["optimal_spend"].sum() == pytest.approx(210_000)
        assert allocation.optimal_spend[2] == pytest.approx(50_000)
    assert len(ids) == 3
