"""Run dbt from Python: one place that knows how the project is invoked.

dbt runs as a subprocess of the same interpreter (``python -m dbt.cli.main``), so its own
log lines stream to the user and a crash in dbt cannot take the caller down.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from prism_mmm.models import model_names
from prism_mmm.project import project_dir
from prism_mmm.warehouse import warehouse_path


class DbtError(RuntimeError):
    """dbt returned a non-zero exit code."""




def build_vars() -> dict[str, Any]:
    """dbt vars of every build: the registry's models, which dbt needs while parsing. Nothing
    from prism.yml (the dbt models read it themselves, ``prism_settings``, so a direct ``dbt
    build`` builds what ``prism build`` builds) and nothing that changes from run to run:
    dbt re-parses the whole project when its vars change (see :func:`run_env`)."""
    return {"models": list(model_names())}


def run_env(run_id: str, round_: int, config_overrides: dict[str, Any] | None) -> dict[str, str]:
    """What identifies a build (run, round, the Tuner's overrides of prism.yml), passed to
    dbt as environment variables, which the models read with ``env_var()``: dbt then keeps
    its parse from one build to the next and re-parses only the files that read them, where
    vars that change every round would make it parse the whole project again."""
    return {"PRISM_RUN_ID": str(run_id), "PRISM_ROUND": str(int(round_)),
            "PRISM_CONFIG_OVERRIDES": json.dumps(config_overrides or {}, sort_keys=True)}


def _failed_nodes(since: float) -> str:
    """The nodes that failed in this dbt invocation (started at ``since``), one line each with
    dbt's message (for a model fit: which model failed and why), from
    ``target/run_results.json``; empty when dbt stopped before writing it."""
    path = project_dir() / "target" / "run_results.json"
    try:
        if path.stat().st_mtime < since:
            return ""  # an earlier invocation's results
        results = json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return ""
    lines = [f"  {r['unique_id'].split('.')[-1]} ({r['status']}): {_reason(r.get('message'))}"
             for r in results if r.get("status") in ("error", "fail", "runtime error")]
    return "\nfailed:\n" + "\n".join(lines) if lines else ""


def _reason(message: str | None) -> str:
    """dbt's message in one line: for a Python model, the traceback's last line (the exception
    that failed the node, e.g. ``ModelFailure: ridge failed: ...``)."""
    text = str(message or "")
    if "Traceback" in text:
        text = [line for line in text.splitlines() if line.strip()][-1]
    return " ".join(text.split())[:500]


def _die_with_parent(parent: int) -> None:
    """In the dbt child: get SIGTERM when the parent dies (Linux), so a killed `prism build`
    leaves no orphan build writing into a staging copy nobody will swap in. A parent killed
    before the request took effect is caught by the pid check."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:
        os._exit(1)


def _close_duckdb_environment() -> None:
    """dbt-duckdb keeps one DuckDB instance per process; close it after every in-process
    build, or the next build (same staging file name) would write through a handle on the
    file that was swapped in as the warehouse, and the warehouse would stay locked."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _invoke_in_process(command: list[str], cli_args: list[str], env: dict[str, str]) -> None:
    from dbt.cli.main import dbtRunner

    started = time.time()
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # profiles.yml reads PRISM_DUCKDB_PATH through env_var()
    try:
        result = dbtRunner().invoke(cli_args)
    finally:
        _close_duckdb_environment()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not result.success:
        detail = f": {result.exception}" if result.exception else "; see dbt's log lines above"
        raise DbtError(f"dbt {' '.join(command)} failed{detail}{_failed_nodes(started)}")


def run_dbt(
    command: list[str],
    dbt_vars: dict[str, Any] | None = None,
    run: dict[str, str] | None = None,
    select: str | None = None,
    quiet: bool = False,
    duckdb_path: Path | None = None,
    in_process: bool = False,
) -> subprocess.CompletedProcess | None:
    """Run ``dbt <command>`` in the project against ``duckdb_path`` (default: the warehouse
    itself, which dbt opens for writing: fine for ``compile``; a build passes its staging
    copy, see :func:`prism_mmm.warehouse.staged_copy`); raise :class:`DbtError` on failure.

    By default dbt runs as a child process (its crash cannot take the caller down). With
    ``in_process`` it runs through ``dbtRunner`` here, which keeps Python-level caches (the
    compiled Bayesian sampler) alive across repeated builds, e.g. the loop's rounds.
    """
    root = project_dir()
    duckdb_path = Path(duckdb_path or warehouse_path())
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    cli_args = [*command, "--project-dir", str(root), "--profiles-dir", str(root)]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dbt_vars)]
    if select:
        cli_args += ["--select", select]
    env = {"PRISM_PROJECT_DIR": str(root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
           "PRISM_DUCKDB_PATH": str(duckdb_path), **(run or {})}
    if in_process:
        _invoke_in_process(command, cli_args, env)
        return None
    env = {**os.environ, **env}
    args = [sys.executable, "-m", "dbt.cli.main", *cli_args]
    started = time.time()
    result = subprocess.run(args, cwd=root, env=env, text=True, capture_output=quiet, check=False,
                            preexec_fn=functools.partial(_die_with_parent, os.getpid())
                            if sys.platform == "linux" else None)
    if result.returncode != 0:
        detail = (result.stdout or "")[-4000:] if quiet else "see dbt's log lines above"
        raise DbtError(f"dbt {' '.join(command)} failed (exit {result.returncode}): {detail}"
                       f"{_failed_nodes(started)}")
    return result
