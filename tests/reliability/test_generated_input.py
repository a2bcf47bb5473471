"""Generated input: every CSV either validates to exactly the values written, or stops with an
``InputError`` naming the column and the row of its defect. Never a traceback, never a
changed warehouse.

Most examples go through :func:`prism_mmm.ingest.validate_file`, the check ``prism build``
runs before dbt; a few go through a real ``prism build`` (dbt, three fits, data tests).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from prism_mmm.config import PrismConfig
from prism_mmm.ingest import InputError, validate_file
from tests.project import REPO, Project
from tests.reliability.checks import TINY_SETTINGS, digest, staging_files
from tests.reliability.generated_csv import Spec, specs

TRIED = {"validated": 0, "refused": 0, "built": 0, "refused_by_build": 0}
QUICK = settings(max_examples=300, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
THOROUGH = settings(max_examples=3000, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\ngenerated inputs: {TRIED}")


def _config(spec: Spec, path: Path) -> PrismConfig:
    return PrismConfig.model_validate({"data": {**spec.config, "path": str(path)}})


def check_validation(spec: Spec, folder: Path) -> None:
    digest_of = hashlib.sha256(spec.content).hexdigest()[:12]
    path = folder / f"input-{digest_of}.csv"
    path.write_bytes(spec.content)
    try:
        typed = validate_file(path, _config(spec, path))
    except InputError as exc:
        message = str(exc)
        TRIED["refused"] += 1
        assert not spec.valid, f"a valid file was refused: {message}\n{spec.describe()}"
        if spec.column is not None:
            assert repr(spec.column) in message, f"column not named: {message}\n{spec.describe()}"
        for row in spec.rows:
            assert f"row {row}" in message, f"row {row} not named: {message}\n{spec.describe()}"
        return
    TRIED["validated"] += 1
    assert spec.valid, f"a {spec.defect} defect was accepted\n{spec.describe()}"
    dates = [str(d) for d in typed["week"].to_numpy().astype("datetime64[D]")]
    assert dates == [d.isoformat() for d in spec.expected["week"]], spec.describe()
    for name, values in spec.expected.items():
        if name != "week":
            np.testing.assert_allclose(typed[name].to_numpy(), values, rtol=1e-12, atol=0,
                                       err_msg=spec.describe())


@pytest.mark.slow
@QUICK
@given(spec=specs())
def test_generated_csvs_validate_exactly_or_name_column_and_row(spec, tmp_path_factory):
    check_validation(spec, tmp_path_factory.mktemp("csv", numbered=True))


@pytest.mark.stress
@THOROUGH
@given(spec=specs())
def test_many_generated_csvs(spec, tmp_path_factory):
    check_validation(spec, tmp_path_factory.mktemp("csv", numbered=True))


def test_files_that_are_not_csv_at_all(tmp_path):
    """Bytes a generator of text rows does not produce."""
    cases = {
        "nul.csv": (b"week,revenue,a\n2024-01-01,1,1\n2024-01-08,\x002,1\n", "row 3"),
        "binary.csv": (bytes(range(256)) * 4, "row"),
        "open_quote.csv": (b'week,revenue,a\n2024-01-01,"1,1\n', "row 2"),
        "ragged.csv": (b"week,revenue,a\n2024-01-01,1,2,3\n", "row 2"),
        "only_blank_lines.csv": (b"\n\n \n", "empty"),
        "only_delimiters.csv": (b",,,\n,,,\n", "no header"),
        "newline_in_a_cell.csv": (b'week,revenue,a\n2024-01-01,"1\n2",1\n', "row 2"),
    }
    cfg = PrismConfig.model_validate({"data": {"source": "csv", "path": "x", "date_column":
                                               "week", "kpi": "revenue", "channels": ["a"]}})
    for name, (content, fragment) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as raised:
            validate_file(path, cfg)
        assert fragment in str(raised.value), (name, str(raised.value))


# -- through a real build --------------------------------------------------------------------
def _prism_build(project: Project, spec: Spec, tmp: Path) -> subprocess.CompletedProcess:
    path = tmp / "input.csv"
    path.write_bytes(spec.content)
    config_path = project.project_dir / "prism.yml"
    config = yaml.safe_load(config_path.read_text())
    config["data"] = {**spec.config, "path": str(path)}
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
    env = {**os.environ, **project.env(), "PRISM_CONFIG": str(config_path),
           "PYTHONPATH": str(REPO)}
    # Random series may leave a model nothing to fit (that exits 1 and is tested elsewhere):
    # here the input is under test, so partial results are accepted and checked below.
    return subprocess.run([sys.executable, "-m", "prism_mmm.cli", "build", "--run-id", "gen",
                           "--allow-failed-models"],
                          cwd=project.project_dir, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def _fresh_project(built: Project, tmp: Path) -> Project:
    target = tmp / "project"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built.project_dir, target)
    project = Project(target, target / "warehouse" / "prism.duckdb")
    config_path = target / "prism.yml"
    config = yaml.safe_load(config_path.read_text())
    config.update(TINY_SETTINGS)
    config_path.write_text(yaml.safe_dump(config))
    return project


def check_build(spec: Spec, built: Project, tmp: Path) -> None:
    project = _fresh_project(built, tmp)
    before = digest(project.duckdb_path)
    done = _prism_build(project, spec, tmp)
    output = done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, output
    if not spec.valid:
        TRIED["refused_by_build"] += 1
        assert done.returncode == 2, output
        assert "left unchanged" in done.stderr, output
        assert spec.column is None or repr(spec.column) in done.stderr, output
        assert digest(project.duckdb_path) == before, "a refused build changed the warehouse"
        return
    TRIED["built"] += 1
    assert done.returncode == 0, f"{output}\n{spec.describe()}"
    assert staging_files(project.duckdb_path) == []
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        frame = con.execute("select * from mmm_input order by week_start_date").df()
        statuses = con.execute("select model, status, message from mmm_runs "
                               "where run_id = 'gen'").fetchall()
    assert len(frame) == len(spec.expected["week"])
    np.testing.assert_allclose(frame["kpi"].to_numpy(), spec.expected["revenue"], rtol=1e-12)
    for name in spec.config["channels"]:
        np.testing.assert_allclose(frame[f"spend_{name}"].to_numpy(), spec.expected[name],
                                   rtol=1e-12)
    assert len(statuses) == 3, statuses
    for model, status, message in statuses:  # a failure is named, never silent
        assert status != "failed" or (
            message and re.search(rf"\b{model}\s+FAILED", done.stdout)), statuses


@pytest.mark.slow
@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(spec=specs(valid=True, years=(1995, 2035)))
def test_generated_valid_csvs_build(spec, built_warehouse, tmp_path_factory):
    check_build(spec, built_warehouse, tmp_path_factory.mktemp("build", numbered=True))


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(spec=specs(valid=False, years=(1995, 2035)))
def test_generated_bad_csvs_are_refused_by_the_build(spec, built_warehouse, tmp_path_factory):
    check_build(spec, built_warehouse, tmp_path_factory.mktemp("refused", numbered=True))


@pytest.mark.stress
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=specs(years=(1995, 2035)))
def test_more_generated_csvs_through_a_build(spec, built_warehouse, tmp_path_factory):
    check_build(spec, built_warehouse, tmp_path_factory.mktemp("build", numbered=True))
