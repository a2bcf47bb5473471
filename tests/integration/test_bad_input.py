"""Bad input gets a clear error naming the column and week(s), and loses nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from prism_mmm.cli import main
from tests.project import write_settings_table

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bad_input"

CASES = {
    "duplicate_week.csv": ["'date'", "duplicate weeks", "2022-04-04"],
    "missing_week.csv": ["'date'", "missing week", "2022-01-31"],
    "negative_spend.csv": ["'google_search'", "negative", "2021-12-27"],
    "text_in_numeric.csv": ["'meta_facebook'", "non-numeric", "2022-01-10", "'n/a'"],
    "empty.csv": ["empty"],
    "empty_rows.csv": ["no rows"],
    "kpi_all_zero.csv": ["'revenue'", "zero in every week"],
    "unsafe_channel_name.csv": ["google\"; drop table x; --", "unsafe name"],
    "mixed_date_formats.csv": ["'date'", "mixed", "13/12/2021"],
}


@pytest.mark.parametrize("fixture, expected", sorted(CASES.items()))
def test_init_names_the_problem(fixture, expected, tmp_path, capsys):
    output = tmp_path / "prism.yml"
    code = main(["init", "--data", str(FIXTURES / fixture), "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 2
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    assert not output.exists()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _point_config_at(project, csv: Path) -> None:
    config_path = project.project_dir / "prism.yml"
    config = yaml.safe_load(config_path.read_text())
    config["data"].update({"source": "csv", "path": str(csv)})
    config_path.write_text(yaml.safe_dump(config))


@pytest.mark.parametrize("fixture", ["duplicate_week.csv", "text_in_numeric.csv",
                                     "negative_spend.csv", "missing_week.csv"])
def test_build_with_bad_input_leaves_the_warehouse_intact(
    fixture, copy_built_warehouse, monkeypatch, capsys
):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    before = _digest(project.duckdb_path)
    _point_config_at(project, FIXTURES / fixture)
    monkeypatch.setenv("PRISM_CONFIG", str(project.project_dir / "prism.yml"))
    assert main(["build", "--run-id", "bad"]) == 2
    err = capsys.readouterr().err
    assert "left unchanged" in err and CASES[fixture][0] in err
    assert _digest(project.duckdb_path) == before
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    assert con.execute("select count(*) from mmm_input").fetchall()[0][0] == 132
    con.close()


@pytest.mark.slow
def test_locked_warehouse_is_reported_and_untouched(copy_built_warehouse, monkeypatch, capsys):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    monkeypatch.setenv("PRISM_CONFIG", str(project.project_dir / "prism.yml"))
    before = _digest(project.duckdb_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
          "time.sleep(60)"), str(project.duckdb_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        assert main(["build", "--run-id", "locked"]) == 2
        assert time.perf_counter() - started < 30
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "locked" in err and "nothing was changed" in err
    assert _digest(project.duckdb_path) == before


@pytest.mark.slow
def test_dbt_refuses_an_unsafe_channel_name_from_the_settings_table(built_warehouse, tmp_path):
    """The Jinja twin of the identifier check stops a name before it is rendered into SQL,
    even one that did not come through prism.yml's validation."""
    import os

    scratch = tmp_path / "scratch.duckdb"
    write_settings_table(scratch, channels=['google"; drop table x; --'])
    env = {**built_warehouse.env(), "PRISM_DUCKDB_PATH": str(scratch)}
    result = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "compile", "--select", "stg_input__marketing_weeks",
         "--project-dir", str(built_warehouse.project_dir),
         "--profiles-dir", str(built_warehouse.project_dir)],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
        cwd=built_warehouse.project_dir)
    assert result.returncode != 0
    assert 'unsafe channel name "google\\"; drop table x; --"' in result.stdout


def test_python_identifier_check_names_every_bad_name():
    from prism_mmm.identifiers import UnsafeIdentifierError, check_identifiers

    with pytest.raises(UnsafeIdentifierError, match=r"'Google Search'.*'1tv'.*'select'"):
        check_identifiers(["google_search", "Google Search", "1tv", "select"], "channel")
