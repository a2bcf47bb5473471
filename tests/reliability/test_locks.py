"""Who may stop whom. Readers never stop a build; a writer does; nobody gets a write connection
in while a build works; two prism writers never interleave. Also pins the DuckDB locking this
relies on, so an upgrade that changes it fails here first."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from tests.project import REPO
from tests.reliability.checks import digest, staging_files

SMALL_BUILD = ["build", "--select", "stg_input__marketing_weeks", "--run-id", "locks"]
READ_HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("select count(*) from mmm_runs").fetchall()
    print("reading", flush=True)
    sys.stdin.read()
""")
RECONNECTING_READER = textwrap.dedent("""
    import os, sys, time, duckdb
    errors = 0
    print("reading", flush=True)
    while not os.path.exists(sys.argv[2]):
        try:
            with duckdb.connect(sys.argv[1], read_only=True) as con:
                con.execute("select count(*) from channel_roi").fetchall()
        except duckdb.Error as exc:
            errors += 1
            print("error", exc, flush=True)
        time.sleep(0.05)
    print("errors", errors, flush=True)
""")
WRITER_HOLDER = textwrap.dedent("""
    import sys
    from prism_mmm.warehouse import staged_copy
    with staged_copy(sys.argv[1]):
        print("writing", flush=True)
        sys.stdin.read()
""")


def _env(project) -> dict[str, str]:
    return {**os.environ, **project.env(), "PYTHONPATH": str(REPO),
            "PRISM_CONFIG": str(project.project_dir / "prism.yml")}


def _build(project, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                          cwd=project.project_dir, env=_env(project), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _start(code: str, *args: str, env=None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().split()[0] in ("reading", "writing")
    return proc


def test_duckdb_locking_is_what_the_warehouse_relies_on(tmp_path):
    path = str(tmp_path / "w.duckdb")
    duckdb.connect(path).execute("create table t as select 1 as x").close()
    reader = _start(READ_HOLDER.replace("mmm_runs", "t"), path)
    try:
        duckdb.connect(path, read_only=True).close()  # readers share
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(path)  # a reader blocks a read-write open
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)


@pytest.mark.slow
def test_readers_do_not_stop_a_build(copy_built_warehouse, tmp_path):
    """The case from the issue: three held read-only connections and three readers
    reconnecting every 50 ms. The build goes through; no reader sees an error."""
    project = copy_built_warehouse
    path = str(project.duckdb_path)
    stop = tmp_path / "stop"
    holders = [_start(READ_HOLDER, path) for _ in range(3)]
    readers = [_start(RECONNECTING_READER, path, str(stop)) for _ in range(3)]
    try:
        done = _build(project)
    finally:
        stop.touch()
        for proc in holders:
            proc.stdin.close()
        outputs = [proc.communicate(timeout=60)[0] for proc in readers]
        for proc in holders:
            proc.wait(timeout=30)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert all(out.strip().endswith("errors 0") for out in outputs), outputs


@pytest.mark.slow
def test_a_build_keeps_write_connections_out_until_it_has_swapped(copy_built_warehouse):
    """While a build works on its copy, a notebook can read the warehouse but cannot open it
    for writing (its changes would be overwritten by the swap)."""
    project = copy_built_warehouse
    proc = subprocess.Popen([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                            cwd=project.project_dir, env=_env(project),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not staging_files(project.duckdb_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the build ended before the check"
        with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
            assert con.execute("select count(*) from mmm_runs").fetchall()[0][0] > 0
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(project.duckdb_path))
    finally:
        out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    duckdb.connect(str(project.duckdb_path)).close()  # after the build, it opens again


@pytest.mark.slow
def test_a_second_writer_waits_briefly_then_names_the_first(copy_built_warehouse):
    project = copy_built_warehouse
    before = digest(project.duckdb_path)
    holder = _start(WRITER_HOLDER, str(project.duckdb_path), env=_env(project))
    try:
        started = time.perf_counter()
        done = _build(project)
        waited = time.perf_counter() - started
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"prism pid {holder.pid} is writing it" in done.stderr
    assert "nothing was changed" in done.stderr and waited < 60
    assert digest(project.duckdb_path) == before
