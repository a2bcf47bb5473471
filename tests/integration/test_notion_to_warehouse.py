"""Knowledge edited in "Notion" reaches the warehouse: a known issue flags its week in
mmm_input after a rebuild, and an expected ROI range reaches the Bayesian model's priors."""

from __future__ import annotations

import shutil

import duckdb
import yaml

from prism_mmm.cli import main
from prism_mmm.pipeline import roi_ranges_from_context
from tests.knowledge.fake_notion import FakeNotion
from tests.project import build


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
