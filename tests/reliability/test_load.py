"""Atomic visibility under load: 4 reader processes (the app's queries and a BI client's
`select … from channel_roi where run_id = latest`, no retry) read while `prism build` and a
`prism loop` round write. Every read is the old complete run or the new one, never an error."""

from __future__ import annotations

import pytest

from bench.load import LOAD_SETTINGS, run_load
from tests.reliability.checks import (
    assert_loop_tables_consistent,
    assert_one_consistent_latest_run,
    staging_files,
    use_settings,
)


def _check(result, project) -> None:
    print(result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.lock_errors == 0
    assert result.partial == [], result.partial[:5]
    assert result.out_of_order == [], result.out_of_order[:5]
    assert result.unknown_runs == []
    # The readers saw the old run and the new ones: the writes happened under their reads.
    assert result.runs_seen[0] == result.produced[0] and len(result.runs_seen) >= 2
    assert result.reads >= 100
    assert_one_consistent_latest_run(project.duckdb_path)
    assert_loop_tables_consistent(project.duckdb_path)
    assert staging_files(project.duckdb_path) == []


@pytest.mark.slow
def test_readers_see_old_or_new_complete_runs_during_a_build_and_a_loop_round(
        copy_built_warehouse):
    project = copy_built_warehouse
    use_settings(project.project_dir, LOAD_SETTINGS)
    # Readers pause 200 ms here (50 ms in the slow test and the bench) so that on two shared
    # cores they do not starve the writers the test is waiting for.
    result = run_load(project.project_dir, project.duckdb_path, builds=1, loop_rounds=1,
                      pause=0.2, timeout=1500)
    _check(result, project)
    assert result.produced[-1] == "load-loop/1"


@pytest.mark.stress
def test_readers_during_three_builds_and_a_loop_round(copy_built_warehouse):
    project = copy_built_warehouse
    use_settings(project.project_dir, LOAD_SETTINGS)
    result = run_load(project.project_dir, project.duckdb_path, builds=3, loop_rounds=1,
                      timeout=1800)
    _check(result, project)
    assert len(result.produced) == 5
