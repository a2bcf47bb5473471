"""Warehouse access for the app: read-only, short-lived, cached.

Connections, the lock retries and which run is "latest" come from :mod:`prism_mmm.warehouse`,
the same code the CLI and the loop use. What is the app's own sits here: ``st.cache_data``
keyed on the query, its parameters and the file's version (inode, modification time), so a
finished build shows up on the next rerun; the messages a page shows instead of a traceback;
and the column lists of ``docs/TABLES.md`` that every query names explicitly.

Builds and the loop write into a copy that replaces the file atomically, so they never block
the app; only a foreign writer (a notebook or ``dbt build`` holding a write connection) can,
and then reads are retried with backoff and finally raise :class:`WarehouseLocked`. A table
that does not exist yet raises :class:`NotBuilt`. Both carry a message for the page;
:func:`section` shows it in place of the section. Every connection is read-only, so a write
from the app is refused by DuckDB itself.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import duckdb
import numpy as np
import pandas as pd
import streamlit as st
from pydantic import ValidationError

from prism_mmm import warehouse
from prism_mmm.config import PrismConfig, load_config
from prism_mmm.pipeline import artifact_dir
from prism_mmm.project import project_dir
from prism_mmm.response import ResponseSurface
from prism_mmm.warehouse import warehouse_path

LOOP_TABLES = frozenset(warehouse.AGENT_TABLES)
# After giving up, later reads in the same page fail fast instead of each waiting again.
LOCK_FAST_FAIL_SECONDS = 3.0
LOCKED_RETRYING = "The warehouse is locked by another program's write connection — retrying…"
LOCKED_GIVE_UP = (
    "The warehouse is locked by another program's write connection (a notebook or a plain "
    "`dbt build`) — try again when it has finished (reload the page)."
)
# Rows written before series existed have a null series_id: "is not distinct from" finds them.
SERIES_FILTER = "series_id is not distinct from ?"
RUN_FILTER = f"run_id = ? and round = ? and {SERIES_FILTER}"

_locked_until = 0.0


class WarehouseUnavailable(Exception):
    """Data the page needs cannot be read; ``str(exc)`` is the message for the user."""

    def show(self) -> None:
        st.info(str(self), icon=":material/info:")


class NotBuilt(WarehouseUnavailable):
    """The warehouse file or a table is missing (or predates the table contract)."""


class WarehouseLocked(WarehouseUnavailable):
    """A writer holds the file's lock and the retries ran out."""

    def show(self) -> None:
        st.warning(str(self), icon=":material/hourglass_top:")


class section:  # lower case: used like a function, ``with data.section(): ...``
    """Run a page section; if its data is unavailable, show why and skip the rest of it.

    Other exceptions propagate: they are bugs and Streamlit should show them.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if isinstance(exc, WarehouseUnavailable):
            exc.show()
            return True
        return False


@dataclass(frozen=True)
class RunKey:
    """One series of one (run_id, round) of ``mmm_runs``: what the sidebar selects. A run of a
    single input has one series; a portfolio run has one per brand, market or geo."""

    run_id: str
    round: int
    series_id: str | None

    @property
    def params(self) -> list[object]:
        return [self.run_id, self.round, self.series_id]


def _build_hint(table: str) -> str:
    command = "prism loop" if table in LOOP_TABLES else "prism build"
    return f"`{table}` is not built yet — run `{command}` to create it."


def _file_version(path: Path) -> tuple[int, int, int]:
    """Cache key part that changes whenever a build swaps in a new file (or a foreign writer
    changes it or its WAL)."""
    stat = path.stat()
    wal = path.with_name(path.name + ".wal")
    return (stat.st_ino, stat.st_mtime_ns, wal.stat().st_mtime_ns if wal.exists() else 0)


@st.cache_data(show_spinner=False, max_entries=512)
def _read(
    sql: str, params: tuple, tables: tuple[str, ...], path: str, version: tuple[int, int, int]
) -> pd.DataFrame:
    """One read on a fresh read-only connection. ``version`` only keys the cache; a lock
    error propagates (uncached) for :func:`query` to retry."""
    try:
        con = warehouse.open_read_only(path)
    except warehouse.WarehouseLockedError:
        raise
    except (warehouse.WarehouseError, duckdb.IOException) as exc:
        raise NotBuilt(f"The warehouse at {path} cannot be opened ({exc}).") from exc
    with contextlib.closing(con):
        try:
            return warehouse.read_query(con, sql, params, tables)
        except warehouse.MissingTableError as exc:
            raise NotBuilt(_build_hint(exc.table)) from None
        except duckdb.BinderException as exc:
            # The table exists but with other columns: built before the current contract.
            raise NotBuilt(
                f"`{', '.join(tables)}` is out of date ({str(exc).splitlines()[0]}) — "
                "run `prism build` to rebuild it."
            ) from exc


def _wait(delay: float) -> None:
    with st.spinner(LOCKED_RETRYING):
        time.sleep(delay)


def query(sql: str, params: list | tuple = (), *, tables: tuple[str, ...]) -> pd.DataFrame:
    """Run a read-only query (cached), retrying while a writer holds the file.

    Parameters
    ----------
    sql : the SELECT statement, with ``?`` placeholders.
    params : values for the placeholders.
    tables : the tables ``sql`` reads; a missing one raises :class:`NotBuilt` naming it.

    Raises
    ------
    NotBuilt : the warehouse file or one of ``tables`` does not exist yet.
    WarehouseLocked : a writer still held the file after the retries.
    """
    global _locked_until
    path = warehouse_path()
    if not path.exists():
        raise NotBuilt(f"The warehouse is not built yet ({path}) — run `prism build`.")
    if time.monotonic() < _locked_until:
        raise WarehouseLocked(LOCKED_GIVE_UP)
    try:
        return warehouse.retry_on_lock(
            lambda: _read(sql, tuple(params), tables, str(path), _file_version(path)), _wait)
    except warehouse.WarehouseLockedError:
        _locked_until = time.monotonic() + LOCK_FAST_FAIL_SECONDS
        raise WarehouseLocked(LOCKED_GIVE_UP) from None


def _select(table: str, columns: str, run: RunKey | None = None, order: str = "") -> pd.DataFrame:
    """``columns`` of ``table``: the rows of ``run`` (a result table), or of the selected
    series (a data-layer table, which holds the latest build's series)."""
    if run is not None:
        where, params = f" where {RUN_FILTER}", run.params
    elif (series := selected_series()) is not None:
        where, params = f" where {SERIES_FILTER}", [series]
    else:
        where, params = "", []
    order_by = f" order by {order}" if order else ""
    return query(f"select {columns} from {table}{where}{order_by}", params, tables=(table,))


# -- runs and configuration --------------------------------------------------------------------
def runs() -> pd.DataFrame:
    """Finished (run_id, round) pairs, newest first, with ``finished_at`` and ``any_failed``
    (a model failed); the first is the latest (:func:`prism_mmm.warehouse.finished_runs_query`)."""
    sql, params = warehouse.finished_runs_query()
    return query(sql, params, tables=("mmm_runs",))


def run_series_ids(run_id: str, round_: int) -> list[str | None]:
    """The series one (run_id, round) fitted, in order (one for a single input; None for a
    run written before series existed)."""
    rows = query(warehouse.RUN_SERIES_QUERY, [run_id, round_], tables=("mmm_runs",))
    return [str(s) for s in rows["series_id"]] or [None]


def run_models(run: RunKey) -> pd.DataFrame:
    """``mmm_runs`` rows of one run/round: one per model."""
    return _select(
        "mmm_runs", "model, started_at, finished_at, status, message, git_commit", run, "model"
    )


def selected_run() -> RunKey | None:
    """The run/round chosen in the sidebar (``app.py`` stores it), or None before any run."""
    return st.session_state.get("selected_run")


def selected_series() -> str | None:
    """The series chosen in the sidebar (the selected run's), or None before any run."""
    run = selected_run()
    return run.series_id if run is not None else None


def require_run() -> RunKey:
    """The selected run, or :class:`NotBuilt` (shown by :class:`section`) when none exists."""
    run = selected_run()
    if run is None:
        raise NotBuilt("No model run is in the warehouse yet — run `prism build`.")
    return run


def run_config(run: RunKey | None) -> PrismConfig:
    """The configuration a run was fitted with (``mmm_runs.config_json``), else ``prism.yml``."""
    if run is not None:
        try:
            stored = _select("mmm_runs", "config_json", run)["config_json"].dropna()
        except WarehouseUnavailable:
            stored = pd.Series(dtype=object)
        for text in stored:
            try:
                return PrismConfig.model_validate(json.loads(text))
            except (ValueError, ValidationError):
                continue  # written by an older schema: fall back to the project file
    return load_config()


# -- data layer --------------------------------------------------------------------------------
def data_readiness() -> pd.DataFrame:
    return _select(
        "data_readiness",
        "score, n_weeks, n_channels, reasons, max_vif, n_anomalies, sparse_channels",
    )


def kpi_weeks() -> pd.DataFrame:
    """Weekly KPI with split and flags (``mmm_input``). A series without weeks (the build
    refused it) raises :class:`NotBuilt` with the build's reason."""
    weeks = _select(
        "mmm_input",
        "week_start_date, split, kpi, is_anomaly, known_issue_id, known_issue_action",
        order="week_start_date",
    )
    if weeks.empty:
        raise NotBuilt(f"No modelled weeks{_for_series()}: {_refusal() or 'run `prism build`.'}")
    return weeks


def _for_series() -> str:
    series = selected_series()
    return f" for series {series}" if series is not None else ""


def _refusal() -> str:
    """Why the build refused the selected series (``stg_input__series``), or ''."""
    rows = _select("stg_input__series", "status, message")
    refused = rows[rows["status"] == "refused"]
    return str(refused["message"].iloc[0]) if len(refused) else ""


def weekly_spend() -> pd.DataFrame:
    """Long weekly spend per channel (``int_media_spend_unpivoted``)."""
    return _select(
        "int_media_spend_unpivoted",
        "week_start_date, channel, spend",
        order="week_start_date, channel",
    )


def spend_history(channels: list[str]) -> np.ndarray:
    """(weeks, channels) weekly spend in the given channel order, for the optimiser."""
    wide = weekly_spend().pivot(index="week_start_date", columns="channel", values="spend")
    missing = sorted(set(channels) - set(wide.columns))
    if missing:
        raise NotBuilt(f"No spend history for {', '.join(missing)} — run `prism build`.")
    return wide[channels].fillna(0.0).to_numpy(dtype=float)


def channel_summary() -> pd.DataFrame:
    return _select(
        "eda_channel_summary",
        "channel, total_spend, spend_share, mean_weekly_spend, "
        "max_weekly_spend, zero_weeks, sparsity, cv, corr_with_kpi",
        order="total_spend desc",
    )


def correlation() -> pd.DataFrame:
    return _select("eda_correlation", "variable_a, variable_b, correlation")


def vif() -> pd.DataFrame:
    return _select("eda_vif", "channel, vif", order="vif desc")


def anomalies() -> pd.DataFrame:
    return _select(
        "eda_anomalies",
        "week_start_date, column_name, value, z_score, is_known_issue, known_issue_id",
        order="week_start_date, column_name",
    )


def known_issues() -> pd.DataFrame:
    return _select(
        "knowledge_known_issues",
        "issue_id, start_date, end_date, column_name, description, action",
        order="start_date",
    )


# -- model results (per run/round) ---------------------------------------------------------------
def fit_metrics(run: RunKey) -> pd.DataFrame:
    return _select(
        "model_fit_metrics",
        "model, split, r2, mape, smape, nrmse, n_weeks, fit_seconds, status, message",
        run,
        "model, split desc",
    )


def channel_roi(run: RunKey) -> pd.DataFrame:
    return _select(
        "channel_roi",
        "model, channel, spend, contribution, roi, roi_low, roi_high, share",
        run,
        "model, channel",
    )


def portfolio_roi(run: RunKey) -> pd.DataFrame:
    """Every series' ROI of the selected run and round side by side (``portfolio_roi``)."""
    return query(
        "select model, series_id, channel, spend, roi, roi_low, roi_high, confirmed, n_series, "
        "median_roi, versus_portfolio from portfolio_roi where run_id = ? and round = ? "
        "order by model, channel, series_id",
        run.params[:2],
        tables=("portfolio_roi",),
    )


def weekly_contributions(run: RunKey, model: str) -> pd.DataFrame:
    return query(
        "select week_start_date, component, value, low, high from weekly_contributions "
        f"where {RUN_FILTER} and model = ? order by week_start_date, component",
        [*run.params, model],
        tables=("weekly_contributions",),
    )


def predictions(run: RunKey) -> pd.DataFrame:
    return _select(
        "model_predictions",
        "model, week_start_date, split, actual, predicted, low, high",
        run,
        "model, week_start_date",
    )


def agreement(run: RunKey) -> pd.DataFrame:
    return _select(
        "model_agreement",
        "channel, roi_mean, roi_cv, sign_agreement, n_models, confirmed",
        run,
        "channel",
    )


def bayes_gates(run: RunKey) -> pd.DataFrame:
    return _select("bayes_gates", "gate, metric, value, threshold, status", run, "gate, metric")


def bayes_parameters(run: RunKey) -> pd.DataFrame:
    return _select(
        "bayes_parameter_summary",
        "parameter, channel, mean, sd, hdi_low, hdi_high, r_hat, ess_bulk, ess_tail",
        run,
        "parameter, channel",
    )


def response_curves(run: RunKey) -> pd.DataFrame:
    return _select(
        "response_curves",
        "model, channel, spend, response, low, high, marginal_roi, is_current_spend",
        run,
        "model, channel, spend",
    )


def budget_scenarios(run: RunKey) -> pd.DataFrame:
    return _select(
        "budget_scenarios",
        "model, scenario_id, scenario, channel, current_spend, "
        "optimal_spend, lower_bound, upper_bound, is_locked, is_confirmed, "
        "expected_kpi, expected_kpi_low, expected_kpi_high, expected_roi, "
        "total_budget",
        run,
        "model, scenario_id, channel",
    )


def experiment_lifts(run: RunKey) -> pd.DataFrame:
    """``experiment_lifts`` of the selected round and the earlier rounds of its run (a lift
    test's fits before it calibrated them), oldest round first."""
    return query(
        "select round, model, experiment_id, channel, calibrated, measured_lift, "
        "measured_lift_se, implied_lift, z_score, status, message from experiment_lifts "
        f"where run_id = ? and round <= ? and {SERIES_FILTER} "
        "order by round, experiment_id, model",
        run.params,
        tables=("experiment_lifts",),
    )


# -- agent loop ----------------------------------------------------------------------------------
def agent_rounds(run_id: str) -> pd.DataFrame:
    """Every round of one run (the loop history), oldest first."""
    return query(
        "select round, started_at, finished_at, status, score, best_score, verdict "
        "from agent_rounds where run_id = ? order by round",
        [run_id],
        tables=("agent_rounds",),
    )


def agent_decisions(run_id: str) -> pd.DataFrame:
    return query(
        "select round, step, agent, action, what, why, kept, score_before, score_after, "
        "created_at from agent_decisions where run_id = ? order by round, step",
        [run_id],
        tables=("agent_decisions",),
    )


def critic_checks(run_id: str) -> pd.DataFrame:
    return query(
        "select round, attempt, check_name, status, reason, value, threshold "
        "from critic_checks where run_id = ? order by round, attempt, check_name",
        [run_id],
        tables=("critic_checks",),
    )


# -- files under the project directory -----------------------------------------------------------
def surface_path(run: RunKey, model: str) -> Path:
    """Where the pipeline saved a fit's response surface."""
    if run.series_id is None:
        raise NotBuilt(f"Run {run.run_id} round {run.round} was built before series existed "
                       "and its response surfaces are not found — run `prism build`.")
    return (artifact_dir(project_dir(), run.run_id, run.round, model, run.series_id)
            / "response_surface.json")


@st.cache_data(show_spinner=False, max_entries=32)
def _load_surface(path: str, mtime_ns: int) -> ResponseSurface:
    return ResponseSurface.load(Path(path))


def response_surface(run: RunKey, model: str) -> ResponseSurface:
    """The saved :class:`ResponseSurface` of one fit (cached on the file's mtime)."""
    path = surface_path(run, model)
    if not path.exists():
        raise NotBuilt(
            f"The saved response curves of the {model} model for this run are "
            f"missing ({path}) — run `prism build` to refit."
        )
    return _load_surface(str(path), path.stat().st_mtime_ns)


def report_dir(run_id: str) -> Path:
    """``reports/<run_id>/`` under the project directory (written by the Reporter)."""
    return project_dir() / "reports" / run_id
