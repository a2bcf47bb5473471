"""While another program holds the DuckDB write lock, the app says so instead of showing a
traceback. (Builds never hold it: they write a copy and swap it in.)"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from prism_mmm import warehouse
from tests.app.conftest import assert_no_exception, open_page

HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write: what a notebook or plain `dbt build` holds
    print("locked", flush=True)
    sys.stdin.read()  # hold until the test closes stdin
    """
)


@contextlib.contextmanager
def hold_write_lock(path) -> Iterator[None]:
    """Another process holds a read-write connection on ``path`` inside the block."""
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        yield
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


@pytest.fixture
def write_locked(empty_project, monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(warehouse, "RETRY_DELAYS", (0.05, 0.1))  # keep the test quick
    with hold_write_lock(empty_project.duckdb_path):
        yield


def test_data_layer_raises_the_retry_message(write_locked):
    import data

    with pytest.raises(data.WarehouseLocked) as raised:
        data.data_readiness()
    assert str(raised.value) == data.LOCKED_GIVE_UP
    assert "locked by another program's write connection" in str(raised.value)


def test_page_shows_the_lock_message_not_a_traceback(write_locked):
    import data

    at = open_page("overview")
    assert_no_exception(at)
    assert any(w.value == data.LOCKED_GIVE_UP for w in at.warning)


def test_reads_work_again_after_the_build(empty_project, monkeypatch):
    import data

    monkeypatch.setattr(warehouse, "RETRY_DELAYS", (0.05,))
    with hold_write_lock(empty_project.duckdb_path), pytest.raises(data.WarehouseLocked):
        data.runs()
    data._locked_until = 0.0  # the page's fast-fail window has passed
    # The file opens again: the empty warehouse now answers "not built yet", not "locked".
    with pytest.raises(data.NotBuilt, match="mmm_runs"):
        data.runs()
