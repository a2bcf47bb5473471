"""A regular (not editable) install plus a project folder works: the package finds the
project from the working directory, as dbt does, not from where pip put the package."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from tests.project import REPO, copy_project


@pytest.mark.slow
def test_non_editable_install_builds_a_project_found_from_the_working_directory(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(REPO)],
        check=False, capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    project = copy_project(tmp_path / "my project")  # a space in the path, as users have
    env = {k: v for k, v in os.environ.items()
           if k not in ("PRISM_PROJECT_DIR", "PRISM_DUCKDB_PATH", "PRISM_CONFIG")}
    env["PYTHONPATH"] = str(site)
    where = subprocess.run(
        [sys.executable, "-c", "import prism_mmm; print(prism_mmm.__file__)"],
        cwd=project.project_dir / "models", env=env, capture_output=True, text=True, check=True,
    )
    assert where.stdout.strip().startswith(str(site))  # the installed copy, not the repo's

    # From a subfolder of the project, as with dbt: the project is found upwards.
    built = subprocess.run(
        [sys.executable, "-m", "prism_mmm.cli", "build", "--select", "+tag:data_layer"],
        cwd=project.project_dir / "models", env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    warehouse = project.project_dir / "warehouse" / "prism.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        weeks = con.execute("select count(*) from mmm_input").fetchone()[0]
    assert weeks == 132

    # Outside any project the CLI says so, without a traceback.
    lost = subprocess.run(
        [sys.executable, "-m", "prism_mmm.cli", "build"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert lost.returncode == 2
    assert "no PrismMMM project found" in lost.stderr and "Traceback" not in lost.stderr
