"""Knowledge edited in "Notion" reaches the warehouse: a known issue flags its week in
mmm_input after a rebuild, an expected ROI range reaches the Bayesian model's priors, and
events and experiments reach their tables (an experiment's totals included)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
import yaml

from prism_mmm.cli import main
from prism_mmm.pipeline import roi_ranges_from_context
from tests.knowledge.fake_notion import FakeNotion
from tests.project import build


@pytest.mark.slow
def test_notion_known_issue_and_roi_range_reach_the_warehouse(
    copy_built_warehouse, monkeypatch, capsys, tmp_path
):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    # Notion starts as the bundled knowledge without google_video's ROI range; the team then
    # adds a known issue and a new range there.
    seed_dir = tmp_path / "notion_seed"
    shutil.copytree(project.project_dir / "knowledge" / "conjura_apparel", seed_dir)
    context_file = seed_dir / "business_context.yml"
    context = yaml.safe_load(context_file.read_text())
    context["context"] = [row for row in context["context"]
                          if not (row["key"] == "expected_roi" and row.get("channel") == "google_video")]
    context_file.write_text(yaml.safe_dump(context))
    with FakeNotion(page_size=3) as fake:
        ids = fake.seed(seed_dir)
        fake.add_row(ids["known_issues_id"], {
            "issue_id": "tracking_outage_2023_03_06", "start_date": "2023-03-06",
            "end_date": "2023-03-06", "column_name": "meta_facebook",
            "description": "Pixel outage: spend under-reported", "action": "exclude",
        })
        fake.add_row(ids["business_context_id"], {
            "key": "expected_roi", "channel": "google_video", "roi_low": 2.0, "roi_high": 3.0,
            "value": "Brand-lift study, 2023",
        })
        config_path = project.project_dir / "prism.yml"
        config = yaml.safe_load(config_path.read_text())
        config["knowledge"] = {"notion": fake.notion_config(ids)}
        config_path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("PRISM_CONFIG", str(config_path))
        monkeypatch.setenv("NOTION_TOKEN", fake.token)
        assert main(["knowledge", "sync"]) == 0
    assert "tracking_outage_2023_03_06" in capsys.readouterr().out

    build(project, run_id="after-sync", select="+mmm_input knowledge_business_context")
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    week = con.execute(
        "select known_issue_id, known_issue_action from mmm_input "
        "where week_start_date = '2023-03-06'").fetchall()[0]
    assert week == ("tracking_outage_2023_03_06", "exclude")
    context = con.sql("select * from knowledge_business_context").df()
    con.close()
    ranges = roi_ranges_from_context(context)
    assert ranges["google_video"] == (2.0, 3.0)


@pytest.mark.slow
def test_notion_events_and_experiments_reach_the_warehouse(
    copy_built_warehouse, monkeypatch, capsys
):
    project = copy_built_warehouse
    project.activate(monkeypatch)
    with FakeNotion(page_size=3) as fake:
        ids = fake.seed(project.project_dir / "knowledge" / "conjura_apparel")
        fake.add_row(ids["events_id"], {
            "event_id": "black_friday", "start_date": "2023-11-24", "end_date": "2023-11-27",
            "description": "Black Friday to Cyber Monday", "kind": "promotion"})
        fake.add_row(ids["experiments_id"], {
            "experiment_id": "geo_meta_2024_03", "channel": "meta_facebook", "type": "geo_lift",
            "start_date": "2024-03-04", "end_date": "2024-03-31", "spend": 50000.0,
            "spend_change": 20000.0, "lift": 80000.0, "lift_low": 30000.0,
            "lift_high": 130000.0, "figures": "per_week", "calibrate": True})
        config_path = project.project_dir / "prism.yml"
        config = yaml.safe_load(config_path.read_text())
        config["knowledge"] = {"notion": fake.notion_config(ids)}
        config_path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("PRISM_CONFIG", str(config_path))
        monkeypatch.setenv("NOTION_TOKEN", fake.token)
        assert main(["knowledge", "sync"]) == 0
    out = capsys.readouterr().out
    assert "added   black_friday 2023-11-24" in out and "added   geo_meta_2024_03" in out

    build(project, run_id="after-sync", select="knowledge_events knowledge_experiments")
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    events = con.execute(
        "select event_id, start_date, end_date, kind from knowledge_events "
        "order by start_date").fetchall()
    experiment = con.sql("select * from knowledge_experiments").df()
    types = dict(con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_name = 'knowledge_experiments'").fetchall())
    con.close()
    assert [e[0] for e in events] == ["late_may_promotion"] * 2 + ["black_friday"]
    assert events[2][1:] == (dt.date(2023, 11, 24), dt.date(2023, 11, 27), "promotion")
    (row,) = experiment.to_dict("records")
    # Per week over 4 weeks: totals are 4x; the 90 % interval's width 100000 is an SE of
    # 100000 / (2 * 1.6449) per week.
    assert (row["n_weeks"], row["spend_total"], row["spend_change_total"], row["lift_total"]) == (
        4.0, 200000.0, 80000.0, 320000.0)
    assert row["lift_se_total"] == pytest.approx(4 * 100000 / (2 * 1.6449), rel=1e-4)
    assert (row["figures"], row["lift"], row["calibrate"]) == ("per_week", 80000.0, True)
    assert types["start_date"] == "DATE" and types["lift_se"] == "DOUBLE"
    assert types["calibrate"] == "BOOLEAN"
