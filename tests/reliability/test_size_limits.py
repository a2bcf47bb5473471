"""Input size: an input over the configured limits (data.max_input_bytes / rows / columns) is
refused with a clear error before it is read into memory, and the largest allowed input goes
through within a stated memory bound (peak RSS measured in a fresh process)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from bench.size import measure, run_size_measurements, write_long_csv, write_wide_csv
from prism_mmm.cli import main
from prism_mmm.config import DataConfig, PrismConfig
from prism_mmm.ingest import InputError, validate_file
from tests.project import REPO
from tests.reliability.checks import digest, staging_files

DEFAULT_BYTES = DataConfig.model_fields["max_input_bytes"].default
DEFAULT_ROWS = DataConfig.model_fields["max_input_rows"].default
DEFAULT_COLUMNS = DataConfig.model_fields["max_input_columns"].default
VALIDATION_BOUND_MB = 600  # measured 275 MiB at all three default limits
DATA_LAYER_BOUND_MB = 2048


def _cfg(path, **limits) -> PrismConfig:
    return PrismConfig.model_validate({"data": {
        "source": "csv", "path": str(path), "date_column": "week", "kpi": "revenue",
        "channels": ["a"], **limits}})


def test_inputs_over_a_limit_are_refused_before_they_are_read(tmp_path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:  # sparse: 1 byte over the limit, nothing to read
        handle.truncate(DEFAULT_BYTES + 1)
    started = time.perf_counter()
    with pytest.raises(InputError, match="over the limit of 67,108,864.*max_input_bytes"):
        validate_file(huge, _cfg(huge))
    assert time.perf_counter() - started < 1.0

    rows = tmp_path / "rows.csv"
    rows.write_text("week,revenue,a\n" + "".join(f"2024-01-01,{k},1\n" for k in range(101)))
    with pytest.raises(InputError, match="more than 100 data rows.*max_input_rows"):
        validate_file(rows, _cfg(rows, max_input_rows=100))

    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(["week", "revenue", "a", *map(str, range(8))]) + "\n")
    with pytest.raises(InputError, match="11 columns, over the limit of 10.*max_input_columns"):
        validate_file(wide, _cfg(wide, max_input_columns=10))


def test_an_oversized_input_leaves_the_warehouse_untouched(copy_built_warehouse, monkeypatch,
                                                           capsys):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    huge = project.project_dir / "huge.csv"
    with open(huge, "wb") as handle:
        handle.truncate(DEFAULT_BYTES + 1)
    config_path = project.project_dir / "prism.yml"
    config = yaml.safe_load(config_path.read_text())
    config["data"].update({"source": "csv", "path": str(huge)})
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("PRISM_CONFIG", str(config_path))
    before = digest(project.duckdb_path)
    assert main(["build", "--run-id", "huge"]) == 2
    err = capsys.readouterr().err
    assert "max_input_bytes" in err and "left unchanged" in err
    assert digest(project.duckdb_path) == before and staging_files(project.duckdb_path) == []


def _validation_rss(tmp_path, data: dict) -> dict:
    config = tmp_path / f"{data['kpi']}-{len(data['channels'])}.yml"
    config.write_text(yaml.safe_dump({"data": data}))
    code = ("import sys; from prism_mmm.config import load_config; "
            "from prism_mmm.ingest import InputError, validate_file\n"
            "cfg = load_config(sys.argv[1])\n"
            "try:\n    print('rows', len(validate_file(cfg.data.path, cfg)))\n"
            "except InputError as exc:\n    print('InputError:', exc); sys.exit(2)")
    return measure([sys.executable, "-c", code, str(config)], {"PYTHONPATH": str(REPO)},
                   tmp_path)


@pytest.mark.slow
def test_validation_memory_at_every_limit_and_on_the_portfolio_shape(tmp_path):
    """The largest allowed wide file (rows, columns and bytes all at their limits) validates
    in a bounded peak RSS; a 20-series x 5-year daily long file (the portfolio shape) is
    within the limits and refused clearly, since today's data layer models one weekly
    series."""
    wide = write_wide_csv(tmp_path / "wide.csv", DEFAULT_ROWS, DEFAULT_COLUMNS, DEFAULT_BYTES)
    assert (tmp_path / "wide.csv").stat().st_size <= DEFAULT_BYTES
    report = _validation_rss(tmp_path, wide)
    print(f"\nvalidation of the largest allowed wide CSV: {report}")
    assert report["exit"] == 0 and report["tail"][-1] == f"rows {DEFAULT_ROWS}", report
    assert report["peak_rss_mb"] < VALIDATION_BOUND_MB

    long = write_long_csv(tmp_path / "long.csv")
    report = _validation_rss(tmp_path, long)
    print(f"validation of the 20-series x 5-year daily long CSV: {report}")
    assert report["exit"] == 2 and "several series" in report["tail"][-1], report
    assert report["peak_rss_mb"] < VALIDATION_BOUND_MB


@pytest.mark.stress
def test_data_layer_memory_on_the_largest_allowed_input(copy_built_warehouse, tmp_path):
    results = run_size_measurements(copy_built_warehouse.project_dir, tmp_path)
    for r in results:
        print(r)
    wide = [r for r in results if r["input"].startswith("wide")]
    assert all(r["exit"] == 0 for r in wide), wide
    assert all(r["peak_rss_mb"] < DATA_LAYER_BOUND_MB for r in results), results
    long = [r for r in results if r["input"].startswith("long")]
    assert all(r["exit"] == 2 for r in long), long


def test_bench_size_entry_point_runs():
    """``python -m bench size`` is wired (its full run is the slow test above)."""
    done = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "size" in done.stdout
