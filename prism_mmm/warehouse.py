"""The warehouse file: every connection, lock check, "latest run" and write goes through here.

How the file is shared
----------------------
DuckDB locks the whole file: a read-write connection takes an exclusive lock, a read-only one
a shared lock. So a reader never blocks another reader, but any reader blocks a read-write
open and a writer blocks every reader. PrismMMM therefore never writes the warehouse file in
place:

- **Readers** (the app, ``prism optimize``, the loop's reads, BI tools) open it read-only for
  one query or one unit of work and close it. Our own writers never hold a read-write
  connection on it, so a reader only meets a lock when a foreign writer (a notebook, a plain
  ``dbt build``) holds one; then it retries on :data:`RETRY_DELAYS` and gives up with
  :class:`WarehouseLockedError`.
- **Writers** (``prism build``, the loop's agent tables, ``prism optimize``'s scenarios) copy
  the file, write the copy and swap it in with one ``os.replace`` (:func:`staged_copy`,
  :func:`write_transaction`). A reader holding the old file keeps reading the old, complete
  file; the next one opens the new, complete file. All of a writer's changes appear at once
  or not at all, and a crash, a failed dbt test or a full disk leaves the file byte-identical.
  Retrying a direct read-write connection instead would be wrong twice: it cannot start while
  any reader is connected (a busy dashboard starves it), and while it writes, every reader fails.
- Two locks keep copy-and-swap from losing updates: prism writers take an exclusive ``flock``
  on a lock file next to the warehouse (one prism writer at a time), and hold a shared
  open-file-description lock on the warehouse itself while they work. That shared lock is
  compatible with DuckDB's readers but not with its writers, so a notebook cannot open a write
  connection mid-build (its changes would be overwritten by the swap), and one that already
  holds one stops the build before it starts (:func:`_no_foreign_writer`, the lock check).

A build killed at any point leaves at most a staging copy (``.<name>.building-*``), which the
next writer deletes: it holds the writer lock, so no live writer can own one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import duckdb
import pandas as pd

from prism_mmm.identifiers import check_identifier
from prism_mmm.project import project_dir

T = TypeVar("T")

# The one backoff policy for every wait on a lock (readers on a foreign writer, writers on
# each other): about 3 s in all, long enough for a short write, short enough to report a
# lock held by a notebook instead of hanging.
RETRY_DELAYS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
COPY_CHUNK = 1 << 20


class WarehouseError(RuntimeError):
    """The warehouse cannot be read or written; the message says why and what to do."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse's write lock (or the prism writer lock)."""


class WarehouseWriteError(WarehouseError):
    """A write failed (disk full, file size limit, I/O error); the warehouse is unchanged."""


class MissingTableError(WarehouseError):
    """A table a query needs does not exist (yet)."""

    def __init__(self, table: str) -> None:
        super().__init__(f"table {table!r} does not exist")
        self.table = table


# -- where ------------------------------------------------------------------------------------
def warehouse_path() -> Path:
    """The warehouse file: ``PRISM_DUCKDB_PATH`` (relative to the project), default
    ``warehouse/prism.duckdb``. dbt's profile reads the same variable."""
    path = Path(os.environ.get("PRISM_DUCKDB_PATH", "warehouse/prism.duckdb"))
    return path if path.is_absolute() else project_dir() / path


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _staging_prefix(target: Path) -> str:
    return f".{target.stem}.building-"


def _lock_file(target: Path) -> Path:
    return target.with_name(f".{target.name}.writer.lock")


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


# -- readers ----------------------------------------------------------------------------------
def retry_on_lock(work: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``work``; while it raises :class:`WarehouseLockedError`, wait on
    :data:`RETRY_DELAYS` (through ``sleep``, which a UI may wrap in a message) and try again."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return work()
        except WarehouseLockedError:
            if delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def open_read_only(path: str | Path) -> duckdb.DuckDBPyConnection:
    """One attempt at a read-only connection; a foreign writer's lock raises
    :class:`WarehouseLockedError`."""
    path = Path(path)
    if not path.exists():
        raise WarehouseError(f"no warehouse at {path}: run `prism build` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if _is_lock_error(exc):
            raise WarehouseLockedError(
                f"the warehouse {path} is locked by another process (a program holding a "
                "write connection: a notebook, a BI tool, a plain `dbt build`); try again "
                f"when it has finished ({str(exc).splitlines()[0]})"
            ) from None
        raise


@contextlib.contextmanager
def connect_read(
    path: str | Path | None = None, sleep: Callable[[float], None] = time.sleep
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, retried on the backoff while a writer holds the
    file. Everything read inside the block comes from one version of the file."""
    target = Path(path) if path is not None else warehouse_path()
    con = retry_on_lock(lambda: open_read_only(target), sleep)
    try:
        yield con
    finally:
        con.close()


def table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()
    return {row[0] for row in rows}


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return name in table_names(con)


def read_query(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = (),
    tables: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Run ``sql`` after checking that every table in ``tables`` exists
    (:class:`MissingTableError` names the first missing one)."""
    present = table_names(con)
    for table in tables:
        if table not in present:
            raise MissingTableError(table)
    return con.execute(sql, list(params)).df()


def read_table(
    con: duckdb.DuckDBPyConnection, name: str, run_id: str | None = None,
    round_: int | None = None,
) -> pd.DataFrame:
    """Rows of ``name`` (optionally one run / round); empty DataFrame when the table is absent."""
    check_identifier(name, "table")
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


# -- the latest run ---------------------------------------------------------------------------
FINISHED_STATUSES = ("ok", "warning", "failed")
USABLE_STATUSES = ("ok", "warning")


class RunRef(NamedTuple):
    """One finished (run_id, round) of ``mmm_runs``; ``model`` when the caller asked for one."""

    run_id: str
    round: int
    finished_at: Any
    model: str | None = None


def finished_runs_query(model: str | None = None, run_id: str | None = None) -> tuple[str, list]:
    """SQL and parameters listing finished (run_id, round) pairs, newest first.

    The single definition of "finished", used for "latest" everywhere: a (run_id, round)
    whose every ``mmm_runs`` row has finished (``finished_at`` set and a final status — a
    failed fit has finished too, and ``any_failed`` flags it). Order: newest last finish, then
    the highest round. With ``model``, only pairs where that model's fit is usable (ok or
    warning); with ``run_id``, only that run. Builds write into a copy that replaces the
    warehouse only when everything passed, so a half-written run is never visible; the rule
    also keeps out rows written by other tools that never finished.
    """
    finished = ", ".join(f"'{s}'" for s in FINISHED_STATUSES)
    usable = ", ".join(f"'{s}'" for s in USABLE_STATUSES)
    having = [f"bool_and(finished_at is not null and status in ({finished}))"]
    params: list = []
    if model is not None:
        having.append(f"bool_or(model = ? and status in ({usable}))")
        params.append(model)
    where = ""
    if run_id is not None:
        where = "where run_id = ? "
        params.insert(0, run_id)
    sql = (
        'select run_id, "round", max(finished_at) as finished_at, '
        "bool_or(status = 'failed') as any_failed "
        f"from mmm_runs {where}group by run_id, \"round\" having {' and '.join(having)} "
        'order by max(finished_at) desc, "round" desc, run_id'
    )
    return sql, params


def finished_runs(
    con: duckdb.DuckDBPyConnection, model: str | None = None, run_id: str | None = None
) -> pd.DataFrame:
    """Finished (run_id, round) pairs, newest first (see :func:`finished_runs_query`)."""
    if not table_exists(con, "mmm_runs"):
        return pd.DataFrame(columns=["run_id", "round", "finished_at", "any_failed"])
    return con.execute(*finished_runs_query(model, run_id)).df()


# The series a (run_id, round) fitted, in order (none for rows written before series); its
# parameters are the run id and the round.
RUN_SERIES_QUERY = ('select distinct "series_id" from "mmm_runs" where "run_id" = ? and '
                    '"round" = ? and "series_id" is not null order by 1')


def run_series(con: duckdb.DuckDBPyConnection, run_id: str, round_: int) -> list[str]:
    """The series a (run_id, round) fitted, in order (none for rows written before series)."""
    rows = con.execute(RUN_SERIES_QUERY, [run_id, int(round_)]).fetchall()
    return [str(row[0]) for row in rows]


def latest_run(
    con: duckdb.DuckDBPyConnection, model: str | None = None, run_id: str | None = None
) -> RunRef | None:
    """The latest finished (run_id, round), or None (no ``mmm_runs`` table or no such run)."""
    if not table_exists(con, "mmm_runs"):
        return None
    rows = con.execute(*finished_runs_query(model, run_id)).fetchall()
    if not rows:
        return None
    return RunRef(str(rows[0][0]), int(rows[0][1]), rows[0][2], model)


# -- the lock check ---------------------------------------------------------------------------
def _ofd_lock(fd: int, kind: int) -> bool:
    """Try a non-blocking lock on the whole file that belongs to this open file (Linux OFD
    lock: unlike a classic POSIX lock, closing another descriptor of the same file in this
    process does not drop it). False when a conflicting lock is held."""
    request = struct.pack("hhqqi4x", kind, os.SEEK_SET, 0, 0, 0)  # struct flock, l_pid 0
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, request)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _locked_message(path: Path, detail: str) -> str:
    return (
        f"the warehouse {path} is locked by another process ({detail}). Close the program "
        "holding it (a notebook or BI tool with a write connection, a plain `dbt build`) "
        "and run again; nothing was changed."
    )


@contextlib.contextmanager
def _no_foreign_writer(path: Path) -> Iterator[int | None]:
    """Hold a shared lock on the warehouse file: DuckDB readers can still open it, a DuckDB
    writer cannot (and one already holding it makes this fail, after the backoff). Yields the
    locked descriptor to copy from, or None when the file does not exist yet."""
    if not path.exists():
        yield None
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(fcntl, "F_OFD_SETLK"):
            def attempt() -> None:
                if not _ofd_lock(fd, fcntl.F_RDLCK):
                    raise WarehouseLockedError(_locked_message(path, "a write connection"))
        else:  # no OFD locks (not Linux): check with a read-only open, which a writer refuses
            def attempt() -> None:
                try:
                    duckdb.connect(str(path), read_only=True).close()
                except duckdb.IOException as exc:
                    if _is_lock_error(exc):
                        raise WarehouseLockedError(
                            _locked_message(path, str(exc).splitlines()[0])) from None
                    raise
        retry_on_lock(attempt)
        yield fd
    finally:
        os.close(fd)  # releases the OFD lock


@contextlib.contextmanager
def _writer_lock(target: Path) -> Iterator[None]:
    """One prism writer at a time (build, loop, optimize): an exclusive ``flock`` on a lock
    file next to the warehouse, released by the kernel when the process dies."""
    lock = _lock_file(target)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehouseWriteError(f"cannot create the writer lock {lock} ({exc}); nothing "
                                  "was changed") from None
    try:
        def attempt() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock.read_text(errors="replace").strip() or "another prism process"
                raise WarehouseLockedError(_locked_message(
                    target, f"{holder} is writing it")) from None

        retry_on_lock(attempt)
        with contextlib.suppress(OSError):  # who holds it, for the message above: a courtesy
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"prism pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


# -- writers: copy, write the copy, swap ------------------------------------------------------
def remove_stale_staging(target: Path) -> None:
    """Delete staging copies left by killed writers. Only called under the writer lock, so no
    live writer owns any of them."""
    for leftover in target.parent.glob(f"{_staging_prefix(target)}*"):
        leftover.unlink(missing_ok=True)


def _copy_from_fd(source_fd: int, destination: Path) -> None:
    with open(destination, "xb") as out:
        offset = 0
        while chunk := os.pread(source_fd, COPY_CHUNK, offset):
            out.write(chunk)
            offset += len(chunk)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _absorb_wal(path: Path) -> None:
    """Fold a write-ahead log left next to ``path`` into the file itself (the swap moves only
    the main file)."""
    if _wal(path).exists():
        duckdb.connect(str(path)).execute("checkpoint").close()


def _write_failed(target: Path, exc: OSError) -> WarehouseWriteError:
    what = {errno.ENOSPC: "the disk is full", errno.EFBIG: "a file size limit was reached",
            errno.EDQUOT: "the disk quota is exceeded"}.get(exc.errno, exc.strerror or str(exc))
    return WarehouseWriteError(
        f"could not write the new copy of the warehouse next to {target}: {what} "
        f"({exc}). The warehouse was left unchanged; free space and run again."
    )


@contextlib.contextmanager
def staged_copy(target: str | Path | None = None) -> Iterator[Path]:
    """Yield the path of a private copy of the warehouse; when the block succeeds, the copy
    replaces the warehouse atomically, otherwise it is deleted and the warehouse is untouched.

    Holds the prism writer lock and keeps foreign writers out for the whole block (see the
    module docstring). Raises :class:`WarehouseLockedError` when either is taken, and
    :class:`WarehouseWriteError` when the copy or the swap cannot be written.
    """
    target = Path(target) if target is not None else warehouse_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(target), _no_foreign_writer(target) as source_fd:
        remove_stale_staging(target)
        # One name per warehouse (the lock admits one writer): dbt keeps its partial parse
        # only while the profile's path stays the same from one build to the next.
        staging = target.with_name(f"{_staging_prefix(target)}copy{target.suffix}")
        try:
            if source_fd is not None:
                try:
                    _copy_from_fd(source_fd, staging)
                    # A foreign writer that crashed left committed rows in the log: keep them.
                    if _wal(target).exists():
                        with open(_wal(target), "rb") as wal:
                            _copy_from_fd(wal.fileno(), _wal(staging))
                except OSError as exc:
                    raise _write_failed(target, exc) from None
            yield staging
            if not staging.exists():
                raise WarehouseError(f"the write into {staging.name} produced no file; the "
                                     "warehouse was left unchanged")
            try:
                _absorb_wal(staging)
                _fsync(staging)
                # Only after a foreign writer crashed: its log now lives in the copy, and a
                # stale log next to the new file would be replayed into it.
                _wal(target).unlink(missing_ok=True)
                os.replace(staging, target)
                _fsync(target.parent)
            except OSError as exc:
                raise _write_failed(target, exc) from None
        finally:
            for leftover in staging.parent.glob(f"{staging.name}*"):  # its log and inputs too
                leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def write_transaction(target: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a staged copy: everything done in the block becomes
    visible at once when it ends without error, or not at all."""
    with staged_copy(target) as staging:
        try:
            con = duckdb.connect(str(staging))
        except duckdb.IOException as exc:
            raise WarehouseWriteError(f"could not open the new copy of the warehouse ({exc}); "
                                      "the warehouse was left unchanged") from None
        try:
            yield con
            con.execute("checkpoint")  # the swap moves the main file only
        except duckdb.IOException as exc:
            raise WarehouseWriteError(f"could not write the new copy of the warehouse ({exc}); "
                                      "the warehouse was left unchanged") from None
        finally:
            con.close()


# -- the loop's tables ------------------------------------------------------------------------
# Columns and types of the tables the loop writes (docs/TABLES.md, "Agent loop").
AGENT_TABLES: dict[str, dict[str, str]] = {
    "agent_rounds": {
        "run_id": "varchar", "round": "integer", "started_at": "timestamp",
        "finished_at": "timestamp", "status": "varchar", "score": "double",
        "best_score": "double", "verdict": "varchar", "config_json": "varchar",
        "cv_smape": "double",
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
ROUND_RUNNING = "running"
REPORT_AGENTS = ("reporter", "proofreader")


def ensure_agent_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the agent tables when missing, and add columns a newer version defines to the
    tables of an older warehouse (the loop is their only writer)."""
    for name, columns in AGENT_TABLES.items():
        table = check_identifier(name, "table")
        cols = ", ".join(f'"{check_identifier(col)}" {dtype}' for col, dtype in columns.items())
        con.execute(f'create table if not exists "{table}" ({cols})')
        for col, dtype in columns.items():
            con.execute(f'alter table "{table}" add column if not exists "{col}" {dtype}')


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


def start_round(path: Path, run_id: str, round_: int, started_at: Any) -> None:
    """Mark a round as running (so a reader sees it is under way, and a resumed loop knows
    to redo it)."""
    with write_transaction(path) as con:
        ensure_agent_tables(con)
        insert_rows(con, "agent_rounds", [{"run_id": run_id, "round": round_,
                                           "started_at": started_at, "status": ROUND_RUNNING}])


def discard_unfinished_rounds(path: Path, run_id: str) -> None:
    """Delete every row of rounds of ``run_id`` that never finished (killed mid-round); a
    no-op, without a write, when there are none."""
    with connect_read(path) as con:
        if not table_exists(con, "agent_rounds"):
            return
        unfinished = con.execute(
            'select count(*) from agent_rounds where run_id = ? and status = ?',
            [run_id, ROUND_RUNNING]).fetchall()[0][0]
    if not unfinished:
        return
    with write_transaction(path) as con:
        ensure_agent_tables(con)
        rounds = 'select "round" from agent_rounds where run_id = ? and status = ?'
        for table in ("agent_decisions", "critic_checks"):
            con.execute(f'delete from {table} where run_id = ? and "round" in ({rounds})',
                        [run_id, run_id, ROUND_RUNNING])
        con.execute("delete from agent_rounds where run_id = ? and status = ?",
                    [run_id, ROUND_RUNNING])


def finish_round(
    path: Path, run_id: str, round_: int, decisions: list[dict], checks: list[dict],
    result: dict[str, Any],
) -> None:
    """Write everything a round recorded and close it, in one swap: a round's rows are all
    visible with its final status, or (killed before) none of them are.

    ``result`` holds the ``agent_rounds`` columns to set (status, finished_at, score, ...).
    """
    columns = set(AGENT_TABLES["agent_rounds"]) - {"run_id", "round"}
    if set(result) - columns:
        raise ValueError(f"unknown agent_rounds columns: {sorted(set(result) - columns)}")
    with write_transaction(path) as con:
        ensure_agent_tables(con)
        insert_rows(con, "agent_decisions", decisions)
        insert_rows(con, "critic_checks", checks)
        assignments = ", ".join(f'"{check_identifier(c)}" = ?' for c in result)
        updated = con.execute(
            f'update agent_rounds set {assignments} where run_id = ? and "round" = ? '
            "returning 1", [*result.values(), run_id, round_]).fetchall()
        if len(updated) != 1:
            raise WarehouseError(f"round {round_} of run {run_id} was not started "
                                 f"({len(updated)} agent_rounds rows)")


def replace_report_decisions(path: Path, run_id: str, rows: list[dict]) -> None:
    """Replace the run's reporter and proofreader decisions by ``rows``, in one swap."""
    with write_transaction(path) as con:
        ensure_agent_tables(con)
        placeholders = ", ".join("?" for _ in REPORT_AGENTS)
        con.execute(f"delete from agent_decisions where run_id = ? and agent in ({placeholders})",
                    [run_id, *REPORT_AGENTS])
        insert_rows(con, "agent_decisions", rows)

