"""`prism app` starts `streamlit run` headless with the warehouse and project passed through."""

from __future__ import annotations

import subprocess

from prism_mmm.cli import main
from prism_mmm.commands import app as app_command


def test_prism_app_runs_streamlit_headless_with_paths(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "streamlit_app").mkdir(parents=True)
    (project / "streamlit_app" / "app.py").write_text("")
    (project / "dbt_project.yml").write_text("name: app_test\n")  # marks the project
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(project))
    monkeypatch.setenv("PRISM_DUCKDB_PATH", "warehouse/w.duckdb")  # relative to the project
    calls = []

    def fake_run(args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(app_command.subprocess, "run", fake_run)
    assert main(["app", "--port", "8600", "--address", "0.0.0.0"]) == 0
    ((args, kwargs),) = calls
    assert args[1:4] == ["-m", "streamlit", "run"]
    assert args[4] == str(project / "streamlit_app" / "app.py")
    options = dict(zip(args[5::2], args[6::2]))
    assert options == {
        "--server.headless": "true",
        "--server.port": "8600",
        "--server.address": "0.0.0.0",
        "--browser.gatherUsageStats": "false",
    }
    assert kwargs["env"]["PRISM_PROJECT_DIR"] == str(project)
    assert kwargs["env"]["PRISM_DUCKDB_PATH"] == str(project / "warehouse" / "w.duckdb")


def test_prism_app_defaults_to_localhost_8501(tmp_path, monkeypatch):
    (tmp_path / "dbt_project.yml").write_text("name: app_test\n")  # marks the project
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))
    args = app_command.streamlit_command(8501, "localhost")
    options = dict(zip(args[5::2], args[6::2]))
    assert options["--server.port"] == "8501"
    assert options["--server.address"] == "localhost"


def test_prism_app_without_the_app_is_a_clear_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "dbt_project.yml").write_text("name: app_test\n")  # a project, without the app
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))
    assert main(["app"]) == 2
    assert "streamlit_app/app.py not found" in capsys.readouterr().err
