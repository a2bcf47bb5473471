"""``prism optimize``: a user budget scenario from the latest fitted model.

Reads the warehouse with a short-lived read-only connection, loads the model's saved
:class:`~prism_mmm.response.ResponseSurface`, optimises, then appends the scenario to
``user_budget_scenarios`` (the ``budget_scenarios`` columns; that table itself belongs to dbt)
through :func:`prism_mmm.warehouse.write_transaction`, so readers are never blocked. Which
run is "latest" is :func:`prism_mmm.warehouse.latest_run`'s rule, the same as the app's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from prism_mmm.cli import PrismError
from prism_mmm.config import load_config
from prism_mmm.data import SPEND_PREFIX
from prism_mmm.models import model_names
from prism_mmm.optimizer import (
    SCENARIO_COLUMNS,
    Allocation,
    Bound,
    BudgetError,
    KpiEstimate,
    evaluate_allocation,
    parse_bounds,
    user_scenario,
)
from prism_mmm.pipeline import artifact_dir
from prism_mmm.project import project_dir
from prism_mmm.response import ResponseSurface
from prism_mmm.warehouse import (
    USABLE_STATUSES,
    RunRef,
    WarehouseError,
    connect_read,
    latest_run,
    run_series,
    warehouse_path,
    write_transaction,
)

NO_MODELS = "no fitted models yet — run `prism build` first"

# One writer per table: dbt owns budget_scenarios (default scenarios), this command owns this one.
USER_SCENARIO_TABLE = "user_budget_scenarios"
SCENARIO_TABLE_DDL = f"""
create table if not exists "{USER_SCENARIO_TABLE}" (
    "run_id" varchar, "round" integer, "model" varchar, "scenario_id" varchar,
    "scenario" varchar, "channel" varchar, "current_spend" double, "optimal_spend" double,
    "lower_bound" double, "upper_bound" double, "is_locked" boolean, "is_confirmed" boolean,
    "expected_kpi" double, "expected_kpi_low" double, "expected_kpi_high" double,
    "expected_roi" double, "total_budget" double, "uplift_kpi" double,
    "uplift_kpi_low" double, "uplift_kpi_high" double
)
"""
# A table written before the uplift columns existed gains them (its old rows keep nulls).
ADDED_COLUMNS = {"uplift_kpi": "double", "uplift_kpi_low": "double",
                 "uplift_kpi_high": "double", "series_id": "varchar"}

def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="optimise a budget scenario from the latest fitted models",
        description=(
            "Optimise a weekly budget over the channels with the latest fitted model and save "
            "it to user_budget_scenarios. Bounds: ch=LOW:HIGH (weekly spend), ch=LOW:HIGHx "
            "(multiples of current), ch=-N%%:+N%% (change from current), ch=lock. Either side "
            "of LOW:HIGH may be empty. Precedence: locks, then your bounds, then the agreement "
            "guard (channels the models do not agree on move at most "
            "optimizer.unconfirmed_max_change_pct, others optimizer.max_change_pct)."
        ),
    )
    parser.add_argument("--budget", type=float, required=True, help="total weekly budget")
    parser.add_argument(
        "--bounds",
        nargs="+",
        action="extend",
        default=[],
        metavar="SPEC",
        help="per-channel bounds, e.g. google_search=0.5:2x meta_facebook=100000:300000",
    )
    parser.add_argument(
        "--lock",
        nargs="+",
        action="extend",
        default=[],
        metavar="CHANNEL",
        help="channels kept at their current weekly spend",
    )
    parser.add_argument(
        "--model",
        choices=model_names(),
        default=None,
        help="model to use (default: optimizer.model in prism.yml)",
    )
    parser.add_argument("--run-id", default=None, help="run to use (default: the latest)")
    parser.add_argument(
        "--series", default=None,
        help="the series to plan (its series_id) when the run fitted several (a portfolio)")
    parser.add_argument(
        "--horizon-weeks",
        type=int,
        default=None,
        help="planning horizon (default: optimizer.horizon_weeks)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config()
    if args.horizon_weeks is not None:
        if args.horizon_weeks < 1:
            raise PrismError(f"--horizon-weeks must be at least 1, got {args.horizon_weeks}")
        cfg = cfg.model_copy(
            update={
                "optimizer": cfg.optimizer.model_copy(update={"horizon_weeks": args.horizon_weeks})
            }
        )
    model = args.model or cfg.optimizer.model
    try:
        bounds: dict[str, Bound] = parse_bounds(" ".join(args.bounds))
    except BudgetError as exc:
        raise PrismError(str(exc)) from None

    root = project_dir()
    db_path = warehouse_path()
    if not db_path.exists():
        raise PrismError(f"no warehouse at {db_path}: {NO_MODELS}")
    try:
        with connect_read(db_path) as con:
            ref, series_id, history, confirmed = _read_inputs(con, model, args.run_id,
                                                                args.series)
    except WarehouseError as exc:
        raise PrismError(str(exc)) from None
    surface = load_surface(root, ref, series_id)
    missing = [c for c in surface.channels if c not in history]
    if missing:
        raise PrismError(
            "mmm_input lacks spend columns for "
            + ", ".join(f"{SPEND_PREFIX}{c}" for c in missing)
            + f" used by {ref.model} run {ref.run_id}; rebuild with `prism build`"
        )
    spend_history = history[surface.channels].to_numpy(dtype=float)
    try:
        allocation, rows = user_scenario(
            surface,
            spend_history,
            confirmed,
            cfg,
            ref.run_id,
            ref.round,
            ref.model,
            args.budget,
            bounds,
            args.lock,
        )
    except BudgetError as exc:
        raise PrismError(str(exc)) from None
    rows = rows.assign(series_id=series_id)
    baseline = evaluate_allocation(surface, allocation.current_spend, allocation.horizon_weeks)
    try:
        with write_transaction(db_path) as con:
            append_scenarios(con, rows)
    except WarehouseError as exc:
        raise PrismError(str(exc)) from None
    print(
        render(
            allocation,
            baseline,
            ref,
            rows["scenario_id"].iloc[0],
            cfg.data.currency,
            cfg.optimizer.unconfirmed_max_change_pct,
            has_agreement=confirmed is not None,
        )
    )
    return 0


# -- locations -------------------------------------------------------------------------------------
def load_surface(root: Path, ref: RunRef, series_id: str) -> ResponseSurface:
    path = artifact_dir(root, ref.run_id, ref.round, ref.model, series_id) / "response_surface.json"
    if not path.exists():
        raise PrismError(
            f"no saved response surface for {ref.model} run {ref.run_id} round {ref.round} "
            f"series {series_id} "
            f"(expected {path}); rerun `prism build`"
        )
    return ResponseSurface.load(path)


# -- warehouse -------------------------------------------------------------------------------------
def _read_inputs(
    con: duckdb.DuckDBPyConnection, model: str, run_id: str | None, series: str | None = None
) -> tuple[RunRef, str, pd.DataFrame, dict[str, bool] | None]:
    """The run to use, the series to plan, its weekly spend per channel (columns = channel
    names) and agreement flags."""
    ref = latest_run(con, model, run_id)
    if ref is None:
        wanted = " ".join(
            part
            for part in (f"model {model!r}" if model else "", f"run {run_id!r}" if run_id else "")
            if part
        )
        raise PrismError(f"no successfully fitted {wanted or 'model'} in mmm_runs: {NO_MODELS}")
    series_id = _series_to_plan(con, ref, model, series)
    try:
        mmm_input = con.execute('select * from "mmm_input" where "series_id" = ? '
                                'order by "week_start_date"', [series_id]).df()
    except duckdb.CatalogException:
        raise PrismError(f"the warehouse has no mmm_input table: {NO_MODELS}") from None
    if mmm_input.empty:
        raise PrismError(f"mmm_input holds no weeks of series {series_id} (the last build "
                         "fitted other series): rebuild it with `prism build`")
    spend = mmm_input[[c for c in mmm_input.columns if c.startswith(SPEND_PREFIX)]]
    spend = spend.rename(columns=lambda c: c[len(SPEND_PREFIX) :])
    try:
        flags = con.execute(
            'select "channel", "confirmed" from "model_agreement" '
            'where "run_id" = ? and "round" = ? and "series_id" = ?',
            [ref.run_id, ref.round, series_id],
        ).fetchall()
    except duckdb.CatalogException:
        flags = None
    confirmed = {str(ch): bool(ok) for ch, ok in flags} if flags else None
    return ref, series_id, spend, confirmed


def _series_to_plan(con: duckdb.DuckDBPyConnection, ref: RunRef, model: str,
                    wanted: str | None) -> str:
    """The run's one series, or ``wanted`` among several; the model must have fitted it."""
    fitted = run_series(con, ref.run_id, ref.round)
    listed = ", ".join(fitted) or "none recorded: rebuild with `prism build`"
    if wanted is None:
        if len(fitted) != 1:
            raise PrismError(f"run {ref.run_id} round {ref.round} fitted {len(fitted)} series "
                             f"({listed}); choose the one to plan with --series")
        return fitted[0]
    if wanted not in fitted:
        raise PrismError(f"--series {wanted}: run {ref.run_id} round {ref.round} fitted "
                         f"{listed}")
    status = con.execute('select "status", "message" from "mmm_runs" where "run_id" = ? and '
                         '"round" = ? and "model" = ? and "series_id" = ?',
                         [ref.run_id, ref.round, model, wanted]).fetchone()
    if status is None or status[0] not in USABLE_STATUSES:
        reason = f": {status[1]}" if status and status[1] else ""
        raise PrismError(f"the {model} model did not fit series {wanted} in run {ref.run_id} "
                         f"round {ref.round}{reason}")
    return wanted


def append_scenarios(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Append scenario rows to ``USER_SCENARIO_TABLE`` (created when missing); values are
    query parameters, never formatted into the SQL."""
    con.execute(SCENARIO_TABLE_DDL)
    for column, sql_type in ADDED_COLUMNS.items():
        con.execute(
            f'alter table "{USER_SCENARIO_TABLE}" add column if not exists "{column}" {sql_type}'
        )
    written = [*SCENARIO_COLUMNS, "series_id"]
    columns = ", ".join(f'"{c}"' for c in written)
    placeholders = ", ".join("?" for _ in written)
    records = [
        [value.item() if isinstance(value, np.generic) else value for value in record]
        for record in rows[written].itertuples(index=False, name=None)
    ]
    con.executemany(
        f'insert into "{USER_SCENARIO_TABLE}" ({columns}) values ({placeholders})', records
    )


# -- output ----------------------------------------------------------------------------------------
def _money(value: float) -> str:
    return f"{value:,.0f}"


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


def render(
    allocation: Allocation,
    baseline: KpiEstimate,
    ref: RunRef,
    scenario_id: str,
    currency: str,
    unconfirmed_max_change_pct: float,
    has_agreement: bool = True,
) -> str:
    """A readable summary: per-channel current vs optimal weekly spend, KPI and uplift."""
    a = allocation
    header = ["channel", "current", "optimal", "change", "bounds", "note"]
    body = []
    for c, channel in enumerate(a.channels):
        cur, opt = a.current_spend[c], a.optimal_spend[c]
        change = f"{(opt / cur - 1) * 100:+.1f}%" if cur > 0 else ("new" if opt > 0 else "—")
        notes = []
        if a.is_locked[c]:
            notes.append("locked")
        if not a.is_confirmed[c]:
            notes.append("not confirmed*")
        body.append(
            [
                channel,
                _money(cur),
                _money(opt),
                change,
                f"{_money(a.lower_bound[c])} – {_money(a.upper_bound[c])}",
                ", ".join(notes),
            ]
        )
    body.append(
        [
            "total",
            _money(a.current_spend.sum()),
            _money(a.optimal_spend.sum()),
            f"{(a.total_budget / a.current_spend.sum() - 1) * 100:+.1f}%"
            if a.current_spend.sum() > 0
            else "—",
            "",
            "",
        ]
    )
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    align = ["<", ">", ">", ">", ">", "<"]

    def line(row: list[str]) -> str:
        return "  ".join(f"{cell:{al}{w}}" for cell, al, w in zip(row, align, widths)).rstrip()

    uplift = KpiEstimate.from_draws(a.kpi.draws - baseline.draws)
    pct = f" ({uplift.mean / baseline.mean * 100:+.1f}%)" if baseline.mean > 0 else ""
    lines = [
        (
            f"Budget scenario for {ref.model}, run {ref.run_id} round {ref.round} "
            f"(finished {ref.finished_at})"
        ),
        (
            f"Weekly spend in {currency}; KPI = media-driven KPI over {a.horizon_weeks} weeks, "
            "90% intervals across model draws."
        ),
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(row) for row in body),
        "",
        (
            f"Expected KPI, optimal allocation: {_money(a.kpi.mean)} "
            f"(90% interval {_money(a.kpi.low)} – {_money(a.kpi.high)})"
        ),
        (
            f"Expected KPI, current allocation: {_money(baseline.mean)} "
            f"(90% interval {_money(baseline.low)} – {_money(baseline.high)})"
        ),
        (
            f"Uplift: {_signed(uplift.mean)}{pct} "
            f"(90% interval {_signed(uplift.low)} – {_signed(uplift.high)})"
        ),
        f"Expected ROI: {a.expected_roi:.3g} KPI per {currency} spent",
    ]
    if not a.is_confirmed.all():
        reason = (
            "the models do not agree on these channels"
            if has_agreement
            else "no model_agreement rows for this run"
        )
        lines.append(
            f"* not confirmed ({reason}): limited to ±{unconfirmed_max_change_pct:g}% "
            "around current spend unless you set --bounds"
        )
    lines.append(f"Saved to {USER_SCENARIO_TABLE} as scenario_id {scenario_id}")
    return "\n".join(lines)
