"""Faults at every step of a write: SIGKILL during the copy, inside dbt, around the swap and
in the middle of a loop round's writes; a dbt data test failing after the copy; a full disk.

After each: the warehouse opens, holds exactly one consistent latest run, a staging copy is
the only possible leftover and the next writer removes it, the next build succeeds, and the
loop resumes without duplicate rows. The kills are real SIGKILLs, sent by the process to
itself at a chosen call (``tests/reliability/killpoint.py``) or by the test at a random time.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.project import REPO, Project
from tests.reliability.checks import (
    TINY_SETTINGS,
    assert_loop_tables_consistent,
    assert_one_consistent_latest_run,
    digest,
    query,
    staging_files,
    use_settings,
)

# A dbt build of one view: the whole copy -> dbt -> swap path in a few seconds of dbt.
SMALL_BUILD = ["build", "--select", "stg_input__marketing_weeks", "--run-id", "kill"]
NO_KILL = ("pread", 0)
TALLY = {"tried": 0, "survived": 0}


def _env(project: Project, **extra: str) -> dict[str, str]:
    env = {**os.environ, **project.env(), "PRISM_CONFIG": str(project.project_dir / "prism.yml"),
           "PYTHONPATH": str(REPO), **extra}
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("NOTION_TOKEN", None)
    return env


def _driver(project: Project, kill: tuple, *args: str, timeout: float = 600,
            **popen) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tests.reliability.killpoint", *map(str, kill), "--",
               *args]
    return subprocess.run(command, cwd=project.project_dir, env=_env(project), text=True,
                          capture_output=True, timeout=timeout, check=False, **popen)


def _survived(project: Project, killed: subprocess.CompletedProcess) -> None:
    """The checks after a kill, then the next writer must succeed and clean up."""
    TALLY["tried"] += 1
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert_one_consistent_latest_run(project.duckdb_path)
    assert_loop_tables_consistent(project.duckdb_path)
    TALLY["survived"] += 1


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def project(copy_built_warehouse) -> Project:
    use_settings(copy_built_warehouse.project_dir, TINY_SETTINGS)
    return copy_built_warehouse


@pytest.fixture(scope="module", autouse=True)
def _report_tally():
    yield
    print(f"\nkill points tried {TALLY['tried']}, survived {TALLY['survived']}")


# -- the copy-and-swap itself (every writer goes through it) ------------------------------------
WRITE_POINTS = [
    ("pread", 1),        # staging file created, nothing copied
    ("pread", 2),        # 1 MiB copied
    ("pread", 5),        # mid-copy
    ("fsync", 1),        # copy written by DuckDB and checkpointed, not yet flushed
    ("replace", 1),      # just before the swap
    ("fsync", 2),        # just after the swap (directory flush)
    ("pread", 1, 0.02),  # random points: a timer started at the first chunk
    ("pread", 1, 0.08),
    ("pread", 1, 0.25),
]


def _markers(path: Path) -> int:
    exists = query(path, "select count(*) from information_schema.tables "
                         "where table_name = 'kill_marker'")[0][0]
    return query(path, "select count(*) from kill_marker")[0][0] if exists else 0


@pytest.mark.slow
def test_kill_at_every_step_of_a_write(project):
    """The same staged copy serves builds, loop rounds and `prism optimize`."""
    path = project.duckdb_path
    for point in WRITE_POINTS:
        before = _markers(path)
        killed = _driver(project, point, "write", "1", timeout=120)
        _survived(project, killed)
        after = _markers(path)
        if len(point) == 2:  # a precise point: the row is there exactly when it was swapped in
            assert after == before + (point == ("fsync", 2)), (point, before, after)
        else:  # a timer: before or after the swap, but whole either way
            assert after in (before, before + 1), (point, before, after)
        done = _driver(project, NO_KILL, "write", "1", timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert _markers(path) == after + 1
        assert staging_files(path) == [], "the next writer removes staging copies"


def test_rows_a_crashed_notebook_left_in_the_log_survive_the_next_write(project):
    """A foreign writer killed with committed rows still in DuckDB's write-ahead log: the
    next staged write copies the log too, so the rows survive the swap and no stale log is
    left next to the new file."""
    path = project.duckdb_path
    notebook = subprocess.Popen(
        [sys.executable, "-c", ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "c.execute('create table notebook_notes as select 42 as answer'); "
         "print('written', flush=True); time.sleep(60)"), str(path)],
        stdout=subprocess.PIPE, text=True)
    assert notebook.stdout.readline().strip() == "written"
    os.kill(notebook.pid, signal.SIGKILL)
    notebook.wait(timeout=30)
    assert path.with_name(path.name + ".wal").exists(), "the notebook left no log to recover"
    done = _driver(project, NO_KILL, "write", "1", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not path.with_name(path.name + ".wal").exists()
    assert query(path, "select answer from notebook_notes") == [(42,)]
    assert _markers(path) == 1
    assert_one_consistent_latest_run(path)


# -- a build ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_a_build_during_the_copy_dbt_and_the_swap(project):
    path = project.duckdb_path
    before = digest(path)
    # During the copy, and just before the swap: the old file, byte for byte.
    for point in [("pread", 3), ("replace", 1)]:
        killed = _driver(project, point, "cli", *SMALL_BUILD)
        _survived(project, killed)
        assert digest(path) == before, point
        assert staging_files(path), "the killed build left its copy (removed by the next one)"

    # At a random moment inside dbt (seeded, so a failure can be replayed): the build's
    # process is killed; its dbt child must die with it, and nothing was swapped in.
    rng = random.Random(19)
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD], cwd=project.project_dir,
            env=_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        dbt = _children(proc.pid)
        assert dbt, "dbt never started"
        time.sleep(rng.uniform(0.2, 4.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _survived(project, subprocess.CompletedProcess(proc.args, proc.returncode, "", ""))
        assert digest(path) == before
        deadline = time.monotonic() + 60
        while any(_alive(p) for p in dbt) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in dbt), "dbt outlived the killed build"

    # dbt itself killed (the OOM killer, say): the build fails cleanly and says so.
    proc = subprocess.Popen(
        [sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD], cwd=project.project_dir,
        env=_env(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    for child in _children(proc.pid):
        os.kill(child, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    TALLY["tried"] += 1
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    assert "dbt build failed" in err and "left unchanged" in err and "Traceback" not in err
    assert digest(path) == before
    assert staging_files(path) == [], "a failed build removes its own copy"
    assert_one_consistent_latest_run(path)
    TALLY["survived"] += 1

    # Just after the swap: the new file is in place and whole.
    killed = _driver(project, ("fsync", 2), "cli", *SMALL_BUILD)
    _survived(project, killed)
    assert digest(path) != before

    done = _driver(project, NO_KILL, "cli", *SMALL_BUILD)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert staging_files(path) == []
    assert_one_consistent_latest_run(path)


@pytest.mark.slow
def test_a_full_build_killed_after_the_swap_has_the_new_run(project):
    """A whole build (three real fits) killed right after its swap: the new run is complete."""
    killed = _driver(project, ("fsync", 2), "cli", "build", "--run-id", "killed-after-swap")
    _survived(project, killed)
    assert assert_one_consistent_latest_run(project.duckdb_path).run_id == "killed-after-swap"


@pytest.mark.stress
def test_whole_builds_killed_at_random_moments(project):
    """Five whole builds (three real fits each) killed at seeded random moments anywhere from
    the copy to the swap; after each, the checks and then a build that must succeed."""
    rng = random.Random(2019)
    path = project.duckdb_path
    for k in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "prism_mmm.cli", "build", "--run-id", f"random-{k}"],
            cwd=project.project_dir, env=_env(project), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 60.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.returncode == 0:
            continue  # it finished first: not a kill point
        _survived(project, subprocess.CompletedProcess(proc.args, proc.returncode, "", ""))
        latest = assert_one_consistent_latest_run(path).run_id
        done = _driver(project, NO_KILL, "cli", "build", "--run-id", f"after-{k}")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert assert_one_consistent_latest_run(path).run_id == f"after-{k}", latest
        assert staging_files(path) == []


@pytest.mark.slow
def test_a_failing_data_test_after_the_copy_leaves_the_warehouse_untouched(project):
    path = project.duckdb_path
    before = digest(path)
    failing = project.project_dir / "tests" / "dbt" / "assert_fails_after_the_copy.sql"
    failing.write_text("-- fails on purpose: every input row is a failure\n"
                       "select week_start_date from {{ ref('stg_input__marketing_weeks') }}\n")
    done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                          cwd=project.project_dir, env=_env(project), capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "assert_fails_after_the_copy" in done.stdout
    assert "left unchanged" in done.stderr and "Traceback" not in done.stderr
    assert digest(path) == before and staging_files(path) == []
    failing.unlink()
    done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                          cwd=project.project_dir, env=_env(project), capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


# -- a full disk --------------------------------------------------------------------------------
def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.slow
def test_a_write_size_limit_fails_the_build_cleanly(project):
    """A file size limit on the build process (RLIMIT_FSIZE) smaller than the warehouse: the
    copy cannot be written. A clear error, the old file byte for byte, no copy left."""
    path = project.duckdb_path
    before = digest(path)
    done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                          cwd=project.project_dir, env=_env(project), capture_output=True,
                          text=True, timeout=600, check=False,
                          preexec_fn=_limit_file_size(path.stat().st_size // 2))
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "a file size limit was reached" in done.stderr, done.stderr[-2000:]
    assert "left unchanged" in done.stderr and "Traceback" not in done.stderr
    assert digest(path) == before and staging_files(path) == []
    done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *SMALL_BUILD],
                          cwd=project.project_dir, env=_env(project), capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root")
def test_a_full_small_filesystem_fails_the_build_cleanly(project, tmp_path):
    """The warehouse on a tmpfs made for the test: first with no room for the copy, then with
    room for the copy but not for what dbt writes into it. ENOSPC both times, not a crash."""
    size = project.duckdb_path.stat().st_size
    table_build = ["build", "--select", "mmm_input", "--run-id", "kill"]
    for room, build, expected in ((size * 3 // 2, SMALL_BUILD, "the disk is full"),
                                  (2 * size + 8192, table_build, "dbt build failed")):
        mount = tmp_path / f"small-{room}"
        mount.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={room}", "tmpfs",
                                  str(mount)], capture_output=True, text=True, check=False)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        try:
            small = Project(project.project_dir, mount / "prism.duckdb")
            small.duckdb_path.write_bytes(project.duckdb_path.read_bytes())
            before = digest(small.duckdb_path)
            done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *build],
                                  cwd=project.project_dir, env=_env(small), capture_output=True,
                                  text=True, timeout=600, check=False)
            assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
            assert expected in done.stderr, done.stdout[-3000:] + done.stderr[-2000:]
            assert "left unchanged" in done.stderr and "Traceback" not in done.stderr
            assert digest(small.duckdb_path) == before
            assert staging_files(small.duckdb_path) == []
            assert_one_consistent_latest_run(small.duckdb_path)
        finally:
            subprocess.run(["umount", str(mount)], check=False)


# -- a loop round's writes ----------------------------------------------------------------------
LOOP_POINTS = [
    ("replace", 1),      # round 1 about to be marked running
    ("replace", 2),      # round 1 about to be closed: none of its rows may show
    ("fsync", 4),        # right after round 1 closed
    ("replace", 4),      # round 2 about to be closed
    ("replace", 7),      # the report's rows about to be written
    ("pread", 1, 0.5),   # random points in the loop
    ("pread", 1, 1.5),
]


def _decisions(path: Path) -> list[tuple]:
    return query(path, 'select "round", step, agent, action, kept from agent_decisions '
                       'order by 1, 2')


@pytest.mark.slow
def test_kill_a_loop_round_mid_write_then_resume(tmp_path):
    """The loop with its real writes (and stand-in fits from tests/agents), killed at each
    point and resumed with the same run id: it ends exactly like an uninterrupted loop."""
    _loop_kills(tmp_path, [LOOP_POINTS[i] for i in (1, 2, 4, 5)])


@pytest.mark.stress
def test_kill_a_loop_round_at_every_point_then_resume(tmp_path):
    _loop_kills(tmp_path, LOOP_POINTS)


def _loop_kills(tmp_path: Path, points: list[tuple]) -> None:
    from tests.agents import fixture_warehouse

    def fresh(name: str) -> Project:
        folder = tmp_path / name
        folder.mkdir()
        path = fixture_warehouse.create_warehouse(folder / "w.duckdb")
        return Project(project_dir=folder, duckdb_path=path)

    reference = fresh("reference")
    done = _driver(reference, NO_KILL, "loop", "k", "3", timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    expected_rounds = query(reference.duckdb_path,
                            'select "round", status, score from agent_rounds order by 1')
    expected = _decisions(reference.duckdb_path)

    for i, point in enumerate(points):
        project = fresh(f"kill-{i}")
        killed = _driver(project, point, "loop", "k", "3", timeout=300)
        TALLY["tried"] += 1
        assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr
        assert_loop_tables_consistent(project.duckdb_path)
        resumed = _driver(project, NO_KILL, "loop", "k", "3", timeout=300)
        assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
        assert_loop_tables_consistent(project.duckdb_path)
        assert query(project.duckdb_path, 'select "round", status, score from agent_rounds '
                                          "order by 1") == expected_rounds, point
        assert _decisions(project.duckdb_path) == expected, point
        assert staging_files(project.duckdb_path) == []
        TALLY["survived"] += 1
