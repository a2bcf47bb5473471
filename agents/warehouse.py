"""Warehouse IO for the agent loop: read result tables, create and write the agent tables.

DuckDB allows one writer per file and ``dbt build`` runs as a separate process, so every
connection here is short-lived: open, read or write, close. Nothing is held across a build.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

# Columns and types of the tables the loop writes (docs/TABLES.md, "Agent loop").
AGENT_TABLES: dict[str, dict[str, str]] = {
    "agent_rounds": {
        "run_id": "varchar", "round": "integer", "started_at": "timestamp",
        "finished_at": "timestamp", "status": "varchar", "score": "double",
        "best_score": "double", "verdict": "varchar", "config_json": "varchar",
    },
    "agent_decisions": {
        "run_id": "varchar", "round": "integer", "step": "integer", "agent": "varchar",
        "action": "varchar", "what": "varchar", "why": "varchar", "kept": "boolean",
        "score_before": "double", "score_after": "double", "created_at": "timestamp",
    },
    "critic_checks": {
        "run_id": "varchar", "round": "integer", "attempt": "integer",
        "check_name": "varchar", "status": "varchar", "reason": "varchar",
        "value": "double", "threshold": "varchar",
    },
}

# Result tables scoped to one (run_id, round), as written by ``dbt build``.
ROUND_TABLES = (
    "mmm_runs", "model_fit_metrics", "channel_roi", "model_agreement", "bayes_gates",
    "bayes_parameter_summary", "response_curves", "budget_scenarios",
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


@dataclass(frozen=True)
class DataTables:
    """EDA marts and knowledge (not run-scoped); a missing table is an empty DataFrame."""

    eda_channel_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    eda_vif: pd.DataFrame = field(default_factory=pd.DataFrame)
    eda_anomalies: pd.DataFrame = field(default_factory=pd.DataFrame)
    data_readiness: pd.DataFrame = field(default_factory=pd.DataFrame)
    knowledge_business_context: pd.DataFrame = field(default_factory=pd.DataFrame)


@contextlib.contextmanager
def connect(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-write connection (closed on exit so ``dbt build`` can write)."""
    con = duckdb.connect(str(path))
    try:
        yield con
        # The build copies the file (without its WAL) before swapping: persist writes now.
        con.execute("checkpoint")
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    query = "select count(*) from information_schema.tables where table_name = ?"
    return con.execute(query, [name]).fetchall()[0][0] > 0


def read_table(
    con: duckdb.DuckDBPyConnection, name: str, run_id: str | None = None,
    round_: int | None = None,
) -> pd.DataFrame:
    """Rows of ``name`` (optionally one run / round); empty DataFrame when the table is absent."""
    if not table_exists(con, name):
        return pd.DataFrame()
    where, params = [], []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    if round_ is not None:
        where.append('"round" = ?')
        params.append(round_)
    sql = f'select * from "{name}"' + (f" where {' and '.join(where)}" if where else "")
    return con.execute(sql, params).df()


def load_round(con: duckdb.DuckDBPyConnection, run_id: str, round_: int) -> RoundTables:
    """All result tables of one (run_id, round)."""
    frames = {name: read_table(con, name, run_id, round_) for name in ROUND_TABLES}
    return RoundTables(run_id=run_id, round=round_, **frames)


def load_data(con: duckdb.DuckDBPyConnection) -> DataTables:
    """The EDA marts and Business Context."""
    return DataTables(**{name: read_table(con, name) for name in DATA_TABLES})


def ensure_agent_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the agent tables when missing (the loop is their only writer)."""
    for name, columns in AGENT_TABLES.items():
        cols = ", ".join(f'"{col}" {dtype}' for col, dtype in columns.items())
        con.execute(f'create table if not exists "{name}" ({cols})')


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    """Insert dict rows into an agent table; keys must be a subset of its columns."""
    if not rows:
        return
    columns = list(AGENT_TABLES[table])
    unknown = set().union(*rows) - set(columns)
    if unknown:
        raise ValueError(f"unknown columns for {table}: {sorted(unknown)}")
    quoted = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f'insert into "{table}" ({quoted}) values ({placeholders})',
        [[row.get(c) for c in columns] for row in rows],
    )
