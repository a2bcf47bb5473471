"""The Experiments page on a small fixture warehouse (no model fits: seconds, not minutes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from prism_mmm.models import in_model_order
from tests.agents.fixture_warehouse import LIFT_TESTS, SERIES, round_frames, write_frames
from tests.app.conftest import assert_no_exception, messages, open_page, read
from tests.project import REPO, Project

RUN = "lifts"
TEST = "geo_search_2024"


def _project(tmp_path: Path, monkeypatch, rounds: dict[int, dict]) -> Project:
    """A project whose warehouse holds run ``RUN``'s rounds (``round -> lifts`` of
    ``round_frames``), the later round finished later."""
    project = Project(project_dir=tmp_path, duckdb_path=tmp_path / "warehouse" / "prism.duckdb")
    project.duckdb_path.parent.mkdir(parents=True)
    (tmp_path / "prism.yml").write_text((REPO / "prism.yml").read_text())
    (tmp_path / "dbt_project.yml").write_text("name: lifts\n")  # marks the project
    with duckdb.connect(str(project.duckdb_path)) as con:
        for round_, lifts in rounds.items():
            frames = round_frames(RUN, round_, lifts=lifts)
            frames["mmm_runs"]["finished_at"] += dt.timedelta(hours=round_)
            write_frames(con, frames, RUN, round_)
    project.activate(monkeypatch)
    return project


@pytest.fixture
def calibrated_in_round_2(tmp_path, monkeypatch) -> Project:
    """Round 1 only checks the search lift test and misses it (z 5, fail); round 2's fits
    calibrate on it (z 0.8, pass)."""
    return _project(tmp_path, monkeypatch, {1: {TEST: (False, 5.0)}, 2: {TEST: (True, 0.8)}})


def test_table_has_each_model_against_each_test_of_the_round(calibrated_in_round_2):
    import charts

    at = open_page("experiments")
    assert_no_exception(at)
    expected = read(calibrated_in_round_2, "select model, implied_lift, z_score, status, "
                    "calibrated from experiment_lifts where run_id = ? and round = 2", [RUN])
    expected = expected.set_index("model").loc[in_model_order(expected["model"])]
    shown = at.dataframe[0].value
    assert list(shown["Lift test"]) == [TEST] * 3
    assert list(shown["Channel"]) == ["Search"] * 3
    models = [charts.model_label(m) for m in expected.index]
    assert list(shown["Model"]) == models
    assert list(shown["z"]) == list(expected["z_score"]) == [0.8] * 3
    assert list(shown["Status"]) == ["pass"] * 3
    assert list(shown["Calibrated"]) == [True] * 3
    assert list(shown["Implied lift (LCU)"]) == list(expected["implied_lift"])
    assert list(shown["Measured lift (LCU)"]) == [LIFT_TESTS[TEST][1]] * 3
    assert len(at.get("plotly_chart")) == 1
    lines = " ".join(m.value for m in at.markdown)
    moves = "; ".join(f"{m} z 5.0 (fail) → 0.8 (pass)" for m in models)
    assert (f"**{TEST}** (Search): round 1 only checked against it, round 2 calibrated on it — "
            f"{moves}.") in lines


def test_a_round_reads_its_own_rows_and_the_earlier_rounds_only(calibrated_in_round_2):
    import data

    assert set(data.experiment_lifts(data.RunKey(RUN, 1, SERIES))["round"]) == {1}
    assert list(data.experiment_lifts(data.RunKey(RUN, 2, SERIES))["round"]) == [1] * 3 + [2] * 3


def test_a_test_only_checked_against_has_no_before(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, {1: {TEST: (False, 5.0)}})
    at = open_page("experiments")
    assert_no_exception(at)
    shown = at.dataframe[0].value
    assert list(shown["z"]) == [5.0] * 3 and list(shown["Status"]) == ["fail"] * 3
    assert list(shown["Calibrated"]) == [False] * 3
    assert not any("Before and after" in s.value for s in at.subheader)


def test_no_experiments_says_how_to_add_one(tmp_path, monkeypatch):
    project = _project(tmp_path, monkeypatch, {1: {TEST: (False, 1.0)}})
    with duckdb.connect(str(project.duckdb_path)) as con:  # built, but no lift test recorded
        con.execute("delete from experiment_lifts")
    at = open_page("experiments")
    assert_no_exception(at)
    assert not at.dataframe
    text = messages(at)
    assert "No lift test is recorded for this run" in text
    assert "knowledge/conjura_apparel/experiments.yml" in text and "Knowledge layer" in text
