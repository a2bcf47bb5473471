"""`prism build`: validate the input, then build the warehouse without ever damaging it.

dbt writes into a copy of the warehouse file; only a fully successful build (models and data
tests) replaces the real file, atomically. A failed build, bad input or a crash leaves the
previous warehouse exactly as it was, and readers (the app, BI tools) keep reading the old
file until the swap.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb

from prism_mmm.config import PrismConfig
from prism_mmm.dbt import build_vars, run_dbt, warehouse_path


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse's write lock."""


def new_run_id() -> str:
    return time.strftime("run-%Y%m%d-%H%M%S-", time.gmtime()) + uuid.uuid4().hex[:4]


def check_not_locked(path: Path) -> None:
    """Fail early with a clear message when another process writes to the warehouse."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseLockedError(
                f"the warehouse {path} is locked by another process ({exc}). Close the "
                "program holding it (a notebook, a BI tool with a write connection, another "
                "`dbt build`) and run again; nothing was changed."
            ) from None
        raise


def remove_stale_staging(target: Path) -> None:
    """Delete staging copies left by builds whose process was killed (pid no longer alive)."""
    for leftover in target.parent.glob(f".{target.stem}.building-*{target.suffix}*"):
        pid = leftover.name.split("building-")[1].split(".")[0]
        try:
            os.kill(int(pid), 0)
        except (ValueError, ProcessLookupError):
            leftover.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, owned by someone else


def validate_input(cfg: PrismConfig) -> None:
    if cfg.data.source == "csv":
        from prism_mmm.ingest import validate_file

        validate_file(cfg.data.path, cfg)
    from prism_mmm.knowledge.check import check_knowledge

    check_knowledge(cfg)  # knowledge naming a channel or column the data lacks stops here


def build_warehouse(
    cfg: PrismConfig,
    run_id: str,
    round_: int = 1,
    config_overrides: dict[str, Any] | None = None,
    select: str | None = None,
    in_process: bool = False,
) -> Path:
    """Validate, then ``dbt build`` (seeds included) into a copy and swap it in on success.

    ``in_process`` runs dbt through its programmatic runner in this process, so Python-level
    caches (the Bayesian model's compiled sampler) survive from one loop round to the next.
    """
    validate_input(cfg)
    target = warehouse_path()
    check_not_locked(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = target.with_name(f".{target.stem}.building-{os.getpid()}{target.suffix}")
    if target.exists():
        shutil.copy2(target, staging)
    dbt_vars = build_vars(cfg, run_id=run_id, round=round_, config_overrides=config_overrides or {})
    try:
        run_dbt(["build"], dbt_vars=dbt_vars, select=select, duckdb_path=staging,
                in_process=in_process)
        os.replace(staging, target)
    finally:
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return target

