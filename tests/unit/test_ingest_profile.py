"""`prism init` profiling on good files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from prism_mmm.cli import main
from prism_mmm.config import load_config
from prism_mmm.ingest import profile

REPO = Path(__file__).resolve().parents[2]


def test_profile_of_the_bundled_data():
    found = profile(REPO / "seeds" / "conjura_apparel_weekly.csv")
    assert found.date_column == "date" and found.frequency == "weekly"
    assert found.kpi == "revenue"
    assert found.channels == ["google_search", "google_shopping", "google_pmax", "google_display",
                              "google_video", "meta_facebook", "meta_instagram", "meta_other"]
    assert found.controls == []  # orders and all_revenue are outcomes, never controls
    assert found.n_weeks == 132


def test_messy_headers_are_renamed_and_a_constant_id_is_a_label(tmp_path, monkeypatch):
    monkeypatch.setenv("PRISM_PROJECT_DIR", str(tmp_path))  # init scaffolds knowledge/messy/ here
    (tmp_path / "dbt_project.yml").write_text("name: messy\n")  # marks the project
    frame = pd.read_csv(REPO / "seeds" / "conjura_apparel_weekly.csv").head(60)
    frame = frame.rename(columns={"google_search": "Google Search ($)", "date": "Week"})
    frame.insert(0, "brand", "acme")
    frame["temperature"] = range(60)
    path = tmp_path / "messy.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "prism.yml"
    assert main(["init", "--data", str(path), "--output", str(out)]) == 0
    written = yaml.safe_load(out.read_text())
    assert written["data"]["rename"] == {"Google Search ($)": "google_search", "Week": "week"}
    assert written["data"]["label_columns"] == {"brand": "acme"}
    assert written["data"]["controls"] == ["temperature"]
    cfg = load_config(out)
    assert cfg.data.date_column == "week" and "google_search" in cfg.channels


def test_series_that_are_all_unusable_are_refused_by_name(tmp_path, capsys):
    # An id column names series (tests/unit/test_series_input.py); here each of the two has
    # 20 weeks, every other week of the file, so no series is left to model.
    frame = pd.read_csv(REPO / "seeds" / "conjura_apparel_weekly.csv").head(40)
    frame.insert(0, "geo", ["north", "south"] * 20)
    path = tmp_path / "two_series.csv"
    frame.to_csv(path, index=False)
    assert main(["init", "--data", str(path), "--output", str(tmp_path / "p.yml")]) == 2
    err = capsys.readouterr().err
    assert "every series was refused: series north: " in err and "; series south: " in err


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "prism.yml"
    out.write_text("keep: me\n")
    assert main(["init", "--data", str(REPO / "seeds" / "conjura_apparel_weekly.csv"),
                 "--output", str(out)]) == 2
    assert out.read_text() == "keep: me\n"
