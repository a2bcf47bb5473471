"""``prism optimize`` end to end on a tiny warehouse built in a temporary directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from prism_mmm import warehouse
from prism_mmm.cli import main
from prism_mmm.optimizer import SCENARIO_COLUMNS
from prism_mmm.pipeline import artifact_dir
from prism_mmm.response import ResponseSurface

CHANNELS = ["search", "video", "social"]
CURRENT = np.array([100_000.0, 50_000.0, 50_000.0])


def surface(run_scale: float = 1.0) -> ResponseSurface:
    rng = np.random.default_rng(7)
    draws = 40
    return ResponseSurface(
        model="bayes",
        channels=CHANNELS,
        saturation="hill",
        scale=np.full(3, 1e5),
        coef=run_scale * np.array([1500.0, 4000.0, 1200.0]) * rng.lognormal(0, 0.1, (draws, 3)),
        sat_params={
            "half_sat": np.tile([0.5, 1.2, 0.3], (draws, 1)),
            "shape": np.tile([1.0, 3.0, 0.8], (draws, 1)),
        },
        current_weekly_spend=CURRENT,
    )


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """Warehouse with two usable runs (r-new is newest), a newer failed one, and their inputs."""
    db = tmp_path / "warehouse" / "prism.duckdb"
    db.parent.mkdir()
    weeks = pd.date_range("2023-01-02", periods=8, freq="7D")
    wiggle = np.tile([0.8, 1.2], 4)[:, None]  # averages exactly to CURRENT
    mmm_input = pd.DataFrame({"series_id": "shop", "week_start_date": weeks, "split": "train",
                              "kpi": 1e6})
    for c, channel in enumerate(CHANNELS):
        mmm_input[f"spend_{channel}"] = CURRENT[c] * wiggle[:, 0]
    runs = pd.DataFrame(
        {
            "run_id": ["r-old", "r-new", "r-new", "r-broken"],
            "round": [1, 1, 2, 1],
            "model": "bayes",
            "finished_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-02", "2024-03-01"]),
            "status": ["ok", "ok", "warning", "failed"],
            "series_id": "shop",
        }
    )
    agreement = pd.DataFrame(
        {
            "run_id": "r-new",
            "round": 2,
            "channel": CHANNELS,
            "confirmed": [True, True, False],
            "series_id": "shop",
        }
    )
    con = duckdb.connect(str(db))
    for name, frame in {
        "mmm_input": mmm_input,
        "mmm_runs": runs,
        "model_agreement": agreement,
    }.items():
        con.register("frame", frame)
        con.execute(f'create table "{name}" as select * from frame')
        con.unregister("frame")
    con.close()
    surface().save(artifact_dir(tmp_path, "r-new", 2, "bayes", "shop") / "response_surface.json")
    surface(2.0).save(artifact_dir(tmp_path, "r-old", 1, "bayes", "shop") / "response_surface.json")
    (tmp_path / "dbt_project.yml").write_text("name: optimize_test\n")  # marks the project
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("PRISM_DUCKDB_PATH", str(db))
    monkeypatch.setenv("PRISM_CONFIG", str(tmp_path / "absent.yml"))  # defaults
    monkeypatch.setattr(warehouse, "RETRY_DELAYS", (0.01, 0.02))
    return tmp_path


def scenarios(project: Path) -> pd.DataFrame:
    con = duckdb.connect(str(project / "warehouse" / "prism.duckdb"), read_only=True)
    try:
        return con.execute('select * from "user_budget_scenarios"').df()
    finally:
        con.close()


def test_optimize_appends_a_user_scenario_and_prints_it(project, capsys):
    argv = ["optimize", "--budget", "210000", "--bounds", "video=40000:120000", "--lock", "social"]
    assert main(argv) == 0
    out = capsys.readouterr().out

    rows = scenarios(project)
    assert list(rows.columns) == [*SCENARIO_COLUMNS, "series_id"]
    assert set(rows["series_id"]) == {"shop"}  # the run's one series
    assert len(rows) == 3
    assert set(rows["run_id"]) == {"r-new"} and set(rows["round"]) == {2}
    assert set(rows["scenario"]) == {"user"}
    assert rows["scenario_id"].nunique() == 1
    assert rows["scenario_id"].iloc[0].startswith("r-new-r2-bayes-user-")
    by = rows.set_index("channel")
    assert by["optimal_spend"].sum() == pytest.approx(210_000)
    assert by.loc["social", "optimal_spend"] == pytest.approx(50_000)
    assert by.loc["social", "is_locked"] and not by.loc["search", "is_locked"]
    assert 40_000 - 1e-6 <= by.loc["video", "optimal_spend"] <= 120_000 + 1e-6
    assert (by.loc["video", "lower_bound"], by.loc["video", "upper_bound"]) == (40_000, 120_000)
    # search is confirmed, no user bound: the guard allows ±50% around 100000 * 160/150.
    assert by.loc["search", "upper_bound"] == pytest.approx(1.5 * 100_000 * 160_000 / 150_000)
    assert list(by["is_confirmed"]) == [True, True, False]
    kpi = rows["expected_kpi"].iloc[0]
    assert rows["expected_kpi_low"].iloc[0] < kpi < rows["expected_kpi_high"].iloc[0]
    assert rows["expected_roi"].iloc[0] == pytest.approx(kpi / (210_000 * 13))

    assert "Budget scenario for bayes, run r-new round 2" in out
    video_line = next(line for line in out.splitlines() if line.startswith("video "))
    assert video_line.split()[:3] == ["video", "50,000", f"{by.loc['video', 'optimal_spend']:,.0f}"]
    assert f"Expected KPI, optimal allocation: {kpi:,.0f}" in out
    assert "Expected KPI, current allocation:" in out and "Uplift: +" in out
    assert "locked" in out and "not confirmed*" in out
    assert "limited to ±15% around current spend" in out
    assert f"Saved to user_budget_scenarios as scenario_id {rows['scenario_id'].iloc[0]}" in out

    assert main(["optimize", "--budget", "200000"]) == 0
    rows = scenarios(project)
    assert len(rows) == 6 and rows["scenario_id"].nunique() == 2


def test_printed_table_lines(project, capsys):
    assert main(["optimize", "--budget", "200000", "--lock", "search", "video", "social"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("channel"))
    assert lines[header].split() == ["channel", "current", "optimal", "change", "bounds", "note"]
    assert lines[header + 2].split() == [
        "search",
        "100,000",
        "100,000",
        "+0.0%",
        "100,000",
        "–",
        "100,000",
        "locked",
    ]
    assert lines[header + 5].split()[:4] == ["total", "200,000", "200,000", "+0.0%"]
    assert any(line.startswith("Uplift: +0 (+0.0%)") for line in lines)


def test_run_id_selects_an_older_run(project, capsys, monkeypatch):
    # A relative warehouse path is resolved under the project directory, as dbt's is.
    monkeypatch.setenv("PRISM_DUCKDB_PATH", "warehouse/prism.duckdb")
    assert main(["optimize", "--budget", "200000", "--run-id", "r-old"]) == 0
    assert "run r-old round 1" in capsys.readouterr().out
    rows = scenarios(project)
    assert set(rows["run_id"]) == {"r-old"}
    # No model_agreement rows for r-old: every channel counts as not confirmed.
    assert not rows["is_confirmed"].any()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bounds", "video=1:2:3"], "cannot read bound 'video=1:2:3'"),
        (["--bounds", "video=1x:2%"], "mixes 'x' and '%'"),
        (["--bounds", "tiktok=0:1"], "unknown channel 'tiktok' in bounds"),
        (["--lock", "x'; drop table mmm_runs; --"], "unknown channel \"x'; drop table"),
        (
            ["--bounds", "search=300000:400000"],
            (
                "lower bounds add up to 367,500.00 per week, more than the weekly budget "
                "200,000.00 [search 300,000.00 (your bound); video 25,000.00 (agreement guard "
                "±50%); social 42,500.00 (agreement guard ±15%)]"
            ),
        ),
        (["--run-id", "nope"], "no successfully fitted model 'bayes' run 'nope'"),
        (["--model", "ridge"], "no fitted models yet — run `prism build` first"),
    ],
)
def test_user_errors_exit_2_and_name_the_problem(project, capsys, argv, message):
    assert main(["optimize", "--budget", "200000", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prism optimize: error: ")
    assert message in err
    con = duckdb.connect(str(project / "warehouse" / "prism.duckdb"), read_only=True)
    tables = {
        row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()
    }
    con.close()
    assert "mmm_runs" in tables and "user_budget_scenarios" not in tables


def test_missing_runs_table_says_build_first(project, capsys):
    con = duckdb.connect(str(project / "warehouse" / "prism.duckdb"))
    con.execute('drop table "mmm_runs"')
    con.close()
    assert main(["optimize", "--budget", "1"]) == 2
    assert "no fitted models yet — run `prism build` first" in capsys.readouterr().err


def test_missing_surface_names_the_path(project, capsys):
    path = artifact_dir(project, "r-new", 2, "bayes", "shop") / "response_surface.json"
    path.unlink()
    assert main(["optimize", "--budget", "1"]) == 2
    assert str(path) in capsys.readouterr().err


def test_locked_warehouse_gives_a_clear_message(project, capsys):
    db = project / "warehouse" / "prism.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                "print('held', flush=True); time.sleep(30)"
            ),
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["optimize", "--budget", "200000"]) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"the warehouse {db} is locked by another process" in err
