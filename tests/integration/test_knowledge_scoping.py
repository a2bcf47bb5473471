"""A new dataset starts with neutral knowledge of its own, and knowledge that names what the
data does not have is a clear error at `prism build` and in a direct `dbt build`, never a model
crash (the real CLI and dbt, in a temporary copy of the project)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from prism_mmm.cli import main
from prism_mmm.pipeline import roi_ranges_from_context
from tests.project import REPO, copy_project

DEMO = "conjura_apparel"


def acme_csv(path: Path, weeks: int = 60) -> Path:
    """A small weekly dataset that is not the demo: odd headers, a label, a control, an
    outcome that is not the KPI."""
    rng = np.random.default_rng(7)
    tv, search = rng.uniform(0, 100, weeks).round(2), rng.uniform(10, 50, weeks).round(2)
    price = rng.normal(10, 1, weeks).round(2)
    sales = (1000 + 3 * tv + 5 * search - 20 * price + rng.normal(0, 20, weeks)).round(2)
    pd.DataFrame({
        "Week": pd.date_range("2022-01-03", periods=weeks, freq="7D").strftime("%Y-%m-%d"),
        "brand": "acme", "TV Spend": tv, "search": search, "price": price,
        "orders": (sales / 10).round(), "sales": sales,
    }).to_csv(path, index=False)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    project = copy_project(tmp_path / "project")
    project.activate(monkeypatch)
    monkeypatch.delenv("PRISM_CONFIG", raising=False)
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    return project


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _yaml(path: Path, key: str) -> list[dict]:
    return yaml.safe_load(path.read_text())[key]


@pytest.mark.slow
def test_init_scaffolds_neutral_knowledge_that_reaches_the_warehouse(project, tmp_path, capsys):
    root = project.project_dir / "knowledge"
    demo_before = _files(root / DEMO)
    # Another dataset's field definitions must not steer the profile: here the demo's folder
    # says "search" is a control; for acme it stays a spend channel.
    with (root / DEMO / "field_definitions.yml").open("a") as handle:
        handle.write("  - {column_name: search, is_control: true}\n")
    csv = acme_csv(tmp_path / "Acme Weekly.csv")

    assert main(["init", "--data", str(csv), "--force"]) == 0
    out = capsys.readouterr().out
    folder = root / "acme_weekly"
    assert f"Scaffolded the knowledge of dataset acme_weekly in {folder}" in out
    config = yaml.safe_load((project.project_dir / "prism.yml").read_text())
    assert config["data"]["dataset"] == "acme_weekly"
    assert config["data"]["channels"] == ["tv_spend", "search"]
    assert config["data"]["controls"] == ["price"]

    fields = {r["column_name"]: r for r in _yaml(folder / "field_definitions.yml", "fields")}
    assert list(fields) == ["week", "sales", "tv_spend", "search", "price", "orders", "brand"]
    roles = {c: [k for k in ("is_spend", "is_kpi", "is_control") if r[k]]
             for c, r in fields.items()}
    assert roles == {"week": [], "sales": ["is_kpi"], "tv_spend": ["is_spend"],
                     "search": ["is_spend"], "price": ["is_control"], "orders": [], "brand": []}
    assert "'TV Spend'" in fields["tv_spend"]["meaning"]
    context = _yaml(folder / "business_context.yml", "context")
    assert [r["key"] for r in context] == ["brand", "kpi"]  # no expected_roi
    assert _yaml(folder / "known_issues.yml", "issues") == []
    for name in ("events", "experiments"):  # empty, with a commented example row
        assert _yaml(folder / f"{name}.yml", name) == []
        assert f"#   - {{{name[:-1]}_id: " in (folder / f"{name}.yml").read_text()
    demo_after = _files(root / DEMO)
    assert demo_after.keys() == demo_before.keys()
    assert demo_after["business_context.yml"] == demo_before["business_context.yml"]
    assert demo_after["known_issues.yml"] == demo_before["known_issues.yml"]

    assert main(["build", "--select", "tag:knowledge"]) == 0
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    context = con.sql("select * from knowledge_business_context").df()
    issues = con.execute("select count(*) from knowledge_known_issues").fetchone()[0]
    columns = con.execute("select column_name from knowledge_field_definitions").fetchall()
    events = con.execute("select count(*) from knowledge_events").fetchone()[0]
    experiments = con.execute("select count(*) from knowledge_experiments").fetchone()[0]
    types = con.execute(
        "select table_name, column_name, data_type from information_schema.columns where "
        "table_name in ('knowledge_events', 'knowledge_experiments') and column_name in "
        "('start_date', 'kind', 'lift_total', 'calibrate')").fetchall()
    con.close()
    assert roi_ranges_from_context(context) == {}  # neutral: the model's default priors
    assert issues == 0  # the demo's promo week is not this dataset's
    assert events == 0 and experiments == 0  # nor its late-May promotion
    # Empty tables still have their column types, for the SQL that reads them.
    assert sorted(types) == [
        ("knowledge_events", "kind", "VARCHAR"), ("knowledge_events", "start_date", "DATE"),
        ("knowledge_experiments", "calibrate", "BOOLEAN"),
        ("knowledge_experiments", "lift_total", "DOUBLE"),
        ("knowledge_experiments", "start_date", "DATE")]
    assert {c for (c,) in columns} == set(fields)


def test_init_keeps_existing_knowledge_unless_forced(project, tmp_path, capsys):
    csv = acme_csv(tmp_path / "acme.csv")
    assert main(["init", "--data", str(csv), "--dataset", "acme", "--force"]) == 0
    folder = project.project_dir / "knowledge" / "acme"
    # The team describes its data: a meaning, a ROI range, and "price" is really a channel.
    fields = _yaml(folder / "field_definitions.yml", "fields")
    for row in fields:
        if row["column_name"] == "price":
            row.update(is_control=False, is_spend=True, meaning="Price promotions spend")
    (folder / "field_definitions.yml").write_text(yaml.safe_dump({"fields": fields}))
    with (folder / "business_context.yml").open("a") as handle:
        handle.write("- {key: expected_roi, channel: tv_spend, roi_low: 0.5, roi_high: 4.0}\n")
    kept = _files(folder)
    capsys.readouterr()

    other = project.project_dir / "other.yml"
    assert main(["init", "--data", str(csv), "--dataset", "acme", "--output", str(other)]) == 0
    out = capsys.readouterr().out
    assert f"Kept the existing knowledge of dataset acme in {folder}" in out
    assert _files(folder) == kept
    written = yaml.safe_load(other.read_text())["data"]
    assert written["channels"] == ["tv_spend", "search", "price"]  # its own definitions won
    assert written["controls"] == []

    assert main(["init", "--data", str(csv), "--dataset", "acme", "--force"]) == 0
    out = capsys.readouterr().out
    assert "previous file kept as" in out
    assert (folder / "business_context.yml.bak").read_bytes() == kept["business_context.yml"]
    assert "expected_roi" not in (folder / "business_context.yml").read_text().split("context:")[1]
    rows = {r["column_name"]: r for r in _yaml(folder / "field_definitions.yml", "fields")}
    assert rows["price"]["meaning"] == "Price promotions spend"  # rows it had are kept

    assert main(["init", "--data", str(csv), "--dataset", "Acme Brand", "--force"]) == 2
    assert "--dataset: unsafe dataset name 'Acme Brand'" in capsys.readouterr().err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_knowledge_naming_what_the_data_lacks_fails_build_and_dbt(project, tmp_path, capsys):
    csv = acme_csv(tmp_path / "acme.csv")
    assert main(["init", "--data", str(csv), "--force"]) == 0
    folder = project.project_dir / "knowledge" / "acme"
    # The demo's knowledge copied by hand into the new dataset's folder: the leak the scoping
    # prevents, caught before any model sees it.
    for name in ("business_context.yml", "known_issues.yml"):
        (folder / name).write_bytes((REPO / "knowledge" / DEMO / name).read_bytes())
    with (folder / "field_definitions.yml").open("a") as handle:
        handle.write("- {column_name: first_orders, meaning: copied from the demo}\n")
    (folder / "experiments.yml").write_text(
        "experiments:\n  - {experiment_id: geo_search, channel: google_search, type: geo_lift, "
        "start_date: 2022-03-07, end_date: 2022-04-03, spend: 100, spend_change: 50, lift: 300, "
        "lift_se: 80, figures: total}\n")
    project.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(project.duckdb_path))
    con.execute("create table mmm_input as select 1 as week")
    con.close()
    before = _digest(project.duckdb_path)
    capsys.readouterr()

    assert main(["build", "--run-id", "leak"]) == 2
    err = capsys.readouterr().err
    context = folder / "business_context.yml"
    assert (f"{context}: context[5]: expected_roi for google_search: no such channel in dataset "
            "acme (channels: tv_spend, search)") in err
    assert "context[12]: expected_roi for meta_other" in err
    assert (f"{folder / 'known_issues.yml'}: issues[0] (issue_id 'promo_2022_05_30')" not in err)
    assert (f"{folder / 'field_definitions.yml'}: fields[7]: field definition of first_orders: "
            "no such column in the input of dataset acme") in err
    assert (f"{folder / 'experiments.yml'}: experiments[0] (experiment_id 'geo_search', "
            "channel 'google_search'): experiment on google_search: no such channel in dataset "
            "acme") in err
    assert "The existing warehouse was left unchanged." in err
    assert _digest(project.duckdb_path) == before

    # dbt run directly (no prism build): the knowledge model fails with the same message.
    env = {**os.environ, **project.env(), "PRISM_DUCKDB_PATH": str(tmp_path / "scratch.duckdb")}
    result = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "build", "--select", "knowledge_business_context",
         "--project-dir", str(project.project_dir), "--profiles-dir", str(project.project_dir)],
        capture_output=True, text=True, env=env, cwd=project.project_dir, check=False)
    assert result.returncode != 0
    assert ("context[5]: expected_roi for google_search: no such channel in dataset acme "
            "(channels: tv_spend, search)") in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "build", "--select", "knowledge_experiments",
         "--project-dir", str(project.project_dir), "--profiles-dir", str(project.project_dir)],
        capture_output=True, text=True, env=env, cwd=project.project_dir, check=False)
    assert result.returncode != 0
    assert "experiment on google_search: no such channel in dataset acme" in result.stdout
