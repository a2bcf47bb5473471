"""What must hold after any fault: the warehouse opens, holds one consistent latest run, the
loop's tables are all-or-nothing, and staging copies are the only possible leftovers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import yaml

from prism_mmm.config import deep_merge
from prism_mmm.warehouse import RunRef, latest_run

# Smallest real fits: these tests are about files, locks and processes, not the numbers.
TINY_SETTINGS = {
    "bayes": {"sampling": {"chains": 2, "draws": 60, "tune": 60}},
    "ridge": {"n_boot": 5},
    "nls": {"n_boot": 3, "n_starts": 1},
    "agents": {"cv_origins": 1},
}


def use_settings(project_dir: Path, settings: dict) -> Path:
    """Merge ``settings`` into the project's prism.yml; returns its path."""
    path = project_dir / "prism.yml"
    path.write_text(yaml.safe_dump(deep_merge(yaml.safe_load(path.read_text()), settings)))
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def staging_files(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.stem}.building-*"))


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def assert_one_consistent_latest_run(path: Path, n_models: int = 3) -> RunRef:
    """The file opens read-only; its latest run has every model and every model has every
    channel; no result row is duplicated. Returns the latest run."""
    assert not path.with_name(path.name + ".wal").exists(), "a write-ahead log was left"
    with duckdb.connect(str(path), read_only=True) as con:
        ref = latest_run(con)
        assert ref is not None, "no finished run"
        key = [ref.run_id, ref.round]
        models = con.execute('select count(*), count(distinct model) from mmm_runs where '
                             'run_id = ? and "round" = ?', key).fetchall()[0]
        assert models == (n_models, n_models), models
        fitted = {r[0] for r in con.execute(
            "select model from mmm_runs where run_id = ? and \"round\" = ? and status in "
            "('ok', 'warning')", key).fetchall()}
        per_model = con.execute('select model, count(distinct channel), count(*) from '
                                'channel_roi where run_id = ? and "round" = ? group by model',
                                key).fetchall()
        assert {m for m, _, _ in per_model} == fitted, (per_model, fitted)  # failed: no rows
        assert len({(c, n) for _, c, n in per_model}) <= 1, per_model
        assert all(c == n for _, c, n in per_model), per_model
        for table, grain in (("channel_roi", "channel"), ("model_fit_metrics", "split"),
                             ("mmm_runs", "1")):
            dupes = con.execute(f'select count(*) from (select run_key, model, {grain}, count(*) '
                                f'n from {table} group by all having n > 1)').fetchall()[0][0]
            assert dupes == 0, f"duplicate rows in {table}"
    return ref


def assert_loop_tables_consistent(path: Path) -> list[tuple]:
    """Rounds are unique; a running round has no rows yet, a completed one exactly one closing
    decision and its critic checks; no decision or check is duplicated."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        if "agent_rounds" not in tables:
            return []
        rounds = con.execute(
            'select r.run_id, r."round", r.status, '
            '(select count(*) from agent_decisions d where d.run_id = r.run_id and '
            'd."round" = r."round" and d.agent not in (\'reporter\', \'proofreader\')), '
            '(select count(*) from agent_decisions d where d.run_id = r.run_id and '
            'd."round" = r."round" and d.action in (\'baseline\', \'keep\', \'revert\')), '
            '(select count(*) from critic_checks c where c.run_id = r.run_id and '
            'c."round" = r."round") from agent_rounds r order by 1, 2').fetchall()
        assert len({(r[0], r[1]) for r in rounds}) == len(rounds), rounds
        for run_id, round_, status, decisions, finals, checks in rounds:
            if status == "running":
                assert decisions == 0 and checks == 0, (run_id, round_, decisions, checks)
            elif status == "completed":
                assert finals == 1 and checks > 0, (run_id, round_, finals, checks)
        for sql in (('select count(*) from (select run_id, "round", step, count(*) n from '
                    "agent_decisions group by all having n > 1)"),
                    ('select count(*) from (select run_id, "round", attempt, check_name, count(*) '
                    "n from critic_checks group by all having n > 1)")):
            assert con.execute(sql).fetchall()[0][0] == 0, sql
    return rounds
