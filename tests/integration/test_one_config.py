"""prism.yml is the one configuration: `dbt build` run directly (no vars, as an analytics
engineer runs it) builds the same data layer as `prism build`, on data that is not the bundled
brand, and refuses bad input with the same message."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pandas as pd
import pytest
import yaml

from bench.datasets import user_csv
from tests.integration.test_other_datasets import prism
from tests.project import copy_project

DATA_LAYER = "+mmm_input +data_readiness"


def plain_dbt(project, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` from inside the project, as a user types it: no --vars, no PrismMMM
    environment besides the warehouse path."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PRISM_CONFIG", "PRISM_PROJECT_DIR")}
    project.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    env.update({"PRISM_DUCKDB_PATH": str(project.duckdb_path),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    return subprocess.run([sys.executable, "-m", "dbt.cli.main", *args],
                          cwd=project.project_dir, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def table(path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(f'select * from "{name}"').df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.mark.slow
def test_dbt_build_and_prism_build_build_the_same_data(tmp_path):
    project = copy_project(tmp_path / "project")
    # An export with awkward headers (renamed), currency signs and a day-first date format:
    # only the validated input reads it right.
    csv = user_csv("awkward_3ch", tmp_path / "their data")
    init = prism(project, "init", "--data", str(csv), "--force")
    assert init.returncode == 0, init.stdout + init.stderr
    config = yaml.safe_load((project.project_dir / "prism.yml").read_text())
    assert config["data"]["rename"], "the dataset must exercise data.rename"

    built = prism(project, "build", "--run-id", "same", "--select", DATA_LAYER)
    assert built.returncode == 0, built.stdout + built.stderr
    by_prism = {name: table(project.duckdb_path, name)
                for name in ("prism_settings", "mmm_input", "data_readiness")}
    project.duckdb_path.unlink()

    direct = plain_dbt(project, "build", "--select", DATA_LAYER)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    for name, expected in by_prism.items():
        pd.testing.assert_frame_equal(table(project.duckdb_path, name), expected, obj=name)
    mmm_input = by_prism["mmm_input"]
    channels = config["data"]["channels"]
    assert [f"spend_{c}" for c in channels] == [c for c in mmm_input if c.startswith("spend_")]
    assert len(mmm_input) == len(pd.read_csv(csv))


@pytest.mark.slow
def test_dbt_build_refuses_bad_input_with_the_validation_message(tmp_path):
    project = copy_project(tmp_path / "project")
    csv = user_csv("brand_4ch", tmp_path / "their data")
    init = prism(project, "init", "--data", str(csv), "--force")
    assert init.returncode == 0, init.stdout + init.stderr
    frame = pd.read_csv(csv)
    channel = frame.columns[2]
    frame.loc[5, channel] = -1.0
    frame.to_csv(csv, index=False)

    direct = plain_dbt(project, "build", "--select", DATA_LAYER)
    assert direct.returncode != 0
    # The column, the file row (header = row 1) and the week, as `prism build` says it.
    assert f"is negative in row 7 (week {frame.iloc[5, 0]}" in direct.stdout, direct.stdout[-3000:]
