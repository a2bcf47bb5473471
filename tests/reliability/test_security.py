"""Security basics: secrets never leave the environment variables they came in; the app's
connection cannot write; every name that reaches SQL is checked first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from prism_mmm.cli import main
from prism_mmm.identifiers import UnsafeIdentifierError
from prism_mmm.warehouse import connect_read, read_table
from tests.agents.fake_anthropic import FakeAnthropic
from tests.knowledge.fake_notion import FakeNotion
from tests.project import REPO, write_settings_table
from tests.reliability.checks import TINY_SETTINGS, digest, use_settings

NOTION_SECRET = "ntn_4f9aSECRETnotionTOKEN8c21"
ANTHROPIC_SECRET = "sk-ant-api03-SECRETanthropicKEY-77e1"
SECRETS = (NOTION_SECRET, ANTHROPIC_SECRET)


def _text_of_every_file(root: Path) -> dict[Path, bytes]:
    """Every file under ``root`` as bytes; zip containers (pptx) also unpacked."""
    found = {}
    for path in root.rglob("*"):
        if not path.is_file() or ".venv" in path.parts:
            continue
        data = path.read_bytes()
        found[path] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    found[path / name] = archive.read(name)
    return found


def _every_value_in_the_warehouse(path: Path) -> list[str]:
    values = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables").fetchall()]
        for table in tables:
            frame = con.execute(f'select * from "{table}"').df()
            values += [str(v) for v in frame.astype(str).to_numpy().ravel()]
            values += list(frame.columns)
    return values


@pytest.mark.slow
def test_tokens_never_appear_in_logs_tables_reports_or_errors(copy_built_warehouse, tmp_path):
    """Knowledge sync (one good, one refused by the server), a loop round with Notion and
    Claude configured (its build writes dbt's logs), a budget scenario, a failing command:
    then every output is searched for the tokens."""
    project = copy_built_warehouse
    use_settings(project.project_dir, TINY_SETTINGS)
    knowledge = project.project_dir / "knowledge"
    outputs: list[str] = []
    with FakeNotion(token=NOTION_SECRET, page_size=5) as notion, FakeAnthropic() as claude:
        ids = notion.seed(knowledge)
        config_path = use_settings(project.project_dir, {"knowledge": {
            "directory": str(knowledge), "notion": notion.notion_config(ids)}})
        env = {**os.environ, **project.env(), "PRISM_CONFIG": str(config_path),
               "PYTHONPATH": str(REPO), "NOTION_TOKEN": NOTION_SECRET,
               "ANTHROPIC_API_KEY": ANTHROPIC_SECRET, "ANTHROPIC_BASE_URL": claude.base_url}

        def prism(*args: str, **extra: str) -> subprocess.CompletedProcess:
            done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *args],
                                  cwd=project.project_dir, env={**env, **extra},
                                  capture_output=True, text=True, timeout=900, check=False)
            outputs.extend([done.stdout, done.stderr])
            return done

        assert prism("knowledge", "sync").returncode == 0, outputs[-1][-2000:]
        notion.fail(401, path_contains="/databases/")  # an error path that quotes the server
        assert prism("knowledge", "sync").returncode != 0
        assert "401" in outputs[-1]
        looped = prism("loop", "--rounds", "1", "--run-id", "secret-run")
        assert looped.returncode in (0, 1), outputs[-2][-3000:] + outputs[-1][-3000:]
        assert claude.server.requests, "Claude was never asked: the key was not exercised"
        assert any(value.endswith(NOTION_SECRET) for r in notion.requests
                   for name, value in r.headers.items() if name.lower() == "authorization"), \
            "the Notion token was not exercised"
        done = prism("optimize", "--budget", "2000000")
        assert done.returncode == 0, outputs[-1][-2000:]
        assert prism("optimize", "--budget", "1", "--run-id", "no-such-run").returncode == 2

    for secret in SECRETS:
        for text in outputs:
            assert secret not in text
        for path, data in _text_of_every_file(project.project_dir).items():
            assert secret.encode() not in data, f"{secret[:8]}… found in {path}"
        assert not any(secret in v for v in _every_value_in_the_warehouse(project.duckdb_path))
    assert (project.project_dir / "logs" / "dbt.log").exists(), "dbt's log was not searched"
    assert (project.project_dir / "reports" / "secret-run" / "report.md").exists()


def test_the_app_connection_refuses_writes(copy_built_warehouse, monkeypatch):
    """The app's own query path is read-only: DuckDB refuses a write and the file stays
    byte-identical."""
    project = copy_built_warehouse
    project.activate(monkeypatch)
    app_dir = str(REPO / "streamlit_app")
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    import streamlit as st

    import data

    st.cache_data.clear()
    before = digest(project.duckdb_path)
    for sql in ("create table evil as select 1 as x",
                "insert into mmm_runs (run_id) values ('evil')",
                "delete from channel_roi",
                "drop table mmm_runs"):
        with pytest.raises(duckdb.Error, match="read-only"):
            data.query(sql, tables=())
    with connect_read(project.duckdb_path) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("create table evil as select 1 as x")
    assert digest(project.duckdb_path) == before


@pytest.mark.parametrize("field, value", [
    ("date_column", 'date"; drop table mmm_runs; --'),
    ("kpi", "revenue\nunion select 1"),
    ("rename", {"google_search": "google search"}),
])
def test_unsafe_names_in_the_configuration_are_refused_before_sql(
        field, value, copy_built_warehouse, monkeypatch, capsys):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    csv = project.project_dir / "input.csv"
    shutil.copy(REPO / "seeds" / "conjura_apparel_weekly.csv", csv)
    config_path = project.project_dir / "prism.yml"
    config = yaml.safe_load(config_path.read_text())
    config["data"].update({"source": "csv", "path": str(csv), field: value})
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("PRISM_CONFIG", str(config_path))
    before = digest(project.duckdb_path)
    assert main(["build", "--run-id", "unsafe"]) == 2
    err = capsys.readouterr().err
    assert "unsafe" in err and "left unchanged" in err
    assert digest(project.duckdb_path) == before


def test_table_names_pass_the_identifier_check(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with connect_read(path) as con, pytest.raises(UnsafeIdentifierError):
        read_table(con, 'agent_rounds"; drop table x; --')


@pytest.mark.slow
def test_channel_names_that_reach_dbt_are_checked_there_too(built_warehouse, tmp_path):
    """Names that reach the SQL without passing prism.yml's validation (a hand-edited
    prism_settings table) meet the Jinja twin of the check; see also
    tests/integration/test_bad_input.py."""
    scratch = tmp_path / "scratch.duckdb"
    write_settings_table(scratch, controls=["temp; drop table x"])
    env = {**os.environ, **built_warehouse.env(), "PRISM_DUCKDB_PATH": str(scratch)}
    done = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "compile", "--select", "stg_input__marketing_weeks",
         "--project-dir", str(built_warehouse.project_dir),
         "--profiles-dir", str(built_warehouse.project_dir)],
        capture_output=True, text=True, env=env, check=False, cwd=built_warehouse.project_dir)
    assert done.returncode != 0 and "unsafe control name" in done.stdout
