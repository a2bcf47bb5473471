"""`prism build`: validate the input, then build the warehouse without ever damaging it.

dbt writes into a copy of the warehouse file (:func:`prism_mmm.warehouse.staged_copy`); only
a fully successful build (models and data tests) replaces the real file, atomically. A failed
build, bad input, a full disk or a crash leaves the previous warehouse exactly as it was, and
readers (the app, BI tools) keep reading the old file until the swap: they never block a build
and a build never breaks them. Only a writer (another build, a notebook with a write
connection) stops it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from prism_mmm.config import PrismConfig
from prism_mmm.dbt import build_vars, run_dbt, run_env
from prism_mmm.warehouse import (
    connect_read,
    read_table,
    staged_copy,
    warehouse_path,
)


def new_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:4]


def validate_input(cfg: PrismConfig) -> None:
    """Check the configured names, an input file, and the knowledge against the data before
    anything is copied. Warehouse tables are checked inside the build (model
    ``stg_input__weeks``), whose failure leaves the warehouse as it was all the same."""
    from prism_mmm.ingest import check_config_names, input_series
    from prism_mmm.knowledge.check import check_knowledge

    check_config_names(cfg)
    if cfg.data.input_path() is not None:
        input_series(cfg)  # refuses the input only when no series is left
    check_knowledge(cfg)  # knowledge naming a channel or column the data lacks stops here


def data_layer_identity(cfg: PrismConfig) -> str:
    """What the data layer (everything upstream of the fits) is built from: its settings
    (:meth:`PrismConfig.data_layer_hash`) and the files it reads, the input file and the
    dataset's knowledge YAML (a Notion sync rewrites them), by size and modification time.
    Equal identities build the same data layer; warehouse-table sources are read where they
    are, so a change to them between two builds of one loop is not seen."""
    from prism_mmm.knowledge.local import knowledge_directory

    knowledge = knowledge_directory(cfg)
    files = [cfg.data.input_path(), *(sorted(knowledge.iterdir()) if knowledge.is_dir() else [])]
    stats = []
    for path in filter(None, files):
        try:
            stat = path.stat()
            stats.append([str(path), stat.st_size, stat.st_mtime_ns])
        except FileNotFoundError:
            stats.append([str(path), None, None])
    payload = json.dumps([cfg.data_layer_hash(), stats])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def build_warehouse(
    cfg: PrismConfig,
    run_id: str,
    round_: int = 1,
    config_overrides: dict[str, Any] | None = None,
    select: str | None = None,
    in_process: bool = False,
    allow_failed_models: bool = False,
) -> Path:
    """Validate, then ``dbt build`` (seeds included) into a copy and swap it in on success.

    dbt validates the input again itself (model ``stg_input__weeks``, the same
    :func:`prism_mmm.ingest.input_series`), so a direct ``dbt build`` loads exactly what this
    one does; validating here first refuses bad input before the warehouse is even copied.

    ``in_process`` runs dbt through its programmatic runner in this process, so Python-level
    caches (the Bayesian model's compiled sampler) survive from one loop round to the next.

    ``allow_failed_models`` builds under ``diagnostics_gating: warn`` whatever the
    configuration says: a failed model is a 'failed' row in ``mmm_runs`` (see
    :func:`model_status`) and the other models' results land, instead of failing the build.
    """
    validate_input(cfg)
    target = warehouse_path()
    overrides = dict(config_overrides or {})
    if allow_failed_models:
        overrides["diagnostics_gating"] = "warn"
    with staged_copy(target) as staging:
        run_dbt(["build"], dbt_vars=build_vars(), run=run_env(run_id, round_, overrides),
                select=select, duckdb_path=staging, in_process=in_process)
    return target


def model_status(path: Path, run_id: str, round_: int) -> pd.DataFrame:
    """One row per model and series of this build (model, series_id, status, message) from
    ``mmm_runs``; empty when the build fitted no model (e.g. the data layer alone)."""
    columns = ["model", "series_id", "status", "message"]
    with connect_read(path) as con:
        runs = read_table(con, "mmm_runs", run_id, round_)
    if runs.empty:
        return pd.DataFrame(columns=columns)
    return runs[columns].sort_values(["model", "series_id"]).reset_index(drop=True)


def format_model_status(status: pd.DataFrame) -> str:
    """The per-model lines the CLI prints after a build: status, and the reason when a model
    did not fit cleanly; with several series, one line per model and series."""
    names = status["model"].astype(str)
    if status["series_id"].nunique() > 1:
        names = names + " [" + status["series_id"].astype(str) + "]"
    width = max((len(m) for m in names), default=0)
    lines = []
    for name, row in zip(names, status.itertuples()):
        reason = f"  {row.message.splitlines()[0]}" if row.status != "ok" and row.message else ""
        flag = "FAILED" if row.status == "failed" else row.status
        lines.append(f"  {name:<{width}}  {flag}{reason}")
    return "\n".join(lines)
