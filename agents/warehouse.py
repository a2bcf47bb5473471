"""What the agents read: one round's result tables and the data-layer tables, as frames.

Connections, the latest run and every write (the agent tables' DDL and rows) live in
:mod:`prism_mmm.warehouse`; this module only groups the tables the roles look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import duckdb
import pandas as pd

from prism_mmm.series import SERIES_ID
from prism_mmm.warehouse import read_table

# Result tables scoped to one (run_id, round), as written by ``dbt build``.
ROUND_TABLES = (
    "mmm_runs", "model_fit_metrics", "channel_roi", "model_agreement", "bayes_gates",
    "bayes_parameter_summary", "response_curves", "budget_scenarios", "experiment_lifts",
)
# Data-layer tables (rebuilt by every build, not scoped to a run).
DATA_TABLES = (
    "eda_channel_summary", "eda_vif", "eda_anomalies", "data_readiness",
    "knowledge_business_context",
)


@dataclass(frozen=True)
class RoundTables:
    """The result tables of one (run_id, round); a missing table is an empty DataFrame."""

    run_id: str
    round: int
    mmm_runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_fit_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    channel_roi: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    bayes_gates: pd.DataFrame = field(default_factory=pd.DataFrame)
    bayes_parameter_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    response_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    budget_scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)
    experiment_lifts: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class DataTables:
    """EDA marts and knowledge (not run-scoped); a missing table is an empty DataFrame."""

    eda_channel_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    eda_vif: pd.DataFrame = field(default_factory=pd.DataFrame)
    eda_anomalies: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_readiness: pd.DataFrame = field(default_factory=pd.DataFrame)
    knowledge_business_context: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_round(con: duckdb.DuckDBPyConnection, run_id: str, round_: int) -> RoundTables:
    """All result tables of one (run_id, round)."""
    frames = {name: read_table(con, name, run_id, round_) for name in ROUND_TABLES}
    return RoundTables(run_id=run_id, round=round_, **frames)


def load_data(con: duckdb.DuckDBPyConnection, series: list[str] | None = None) -> DataTables:
    """The EDA marts and Business Context; with ``series``, the marts' rows of those series
    only (a loop on one series of a portfolio)."""
    data = DataTables(**{name: read_table(con, name) for name in DATA_TABLES})
    return series_data(data, series) if series else data


def _of_series(frame: pd.DataFrame, series: list[str]) -> pd.DataFrame:
    """``frame``'s rows of ``series``; a table without a series key (knowledge) as it is."""
    if SERIES_ID not in frame:
        return frame
    return frame[frame[SERIES_ID].isin(series)].reset_index(drop=True)


def series_data(data: DataTables, series: list[str]) -> DataTables:
    """``data`` with only the rows of ``series``."""
    return DataTables(**{f.name: _of_series(getattr(data, f.name), series)
                         for f in fields(DataTables)})


def series_round(tables: RoundTables, series: list[str]) -> RoundTables:
    """``tables`` with only the rows of ``series``."""
    return RoundTables(run_id=tables.run_id, round=tables.round, **{
        f.name: _of_series(getattr(tables, f.name), series) for f in fields(RoundTables)
        if f.name not in ("run_id", "round")})
