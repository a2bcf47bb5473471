"""Spend and KPI from warehouse tables in the layouts of Fivetran's dbt packages
(ad_reporting__ad_report, shopify__daily_shop, shopify__orders), daily and long, on the
known-truth shop (bench/fivetran_shop.py): the SQL maps and aggregates them into exactly the
generator's weeks, the models recover the true ROI, and bad source data is refused with every
problem named while the warehouse stays as it was."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from bench.fivetran_shop import FIVETRAN_SHOP_DIR, TABLE_FILES, load
from prism_mmm.config import deep_merge
from prism_mmm.project import QUICK_SETTINGS
from tests.integration.test_other_datasets import check_results, prism
from tests.project import copy_project

DATA_LAYER = "+mmm_input"


def load_tables(path: Path, edit=None) -> None:
    """The three files as tables in schema ``fivetran``, as a connector and Fivetran's package
    models leave them; ``edit(name, frame)`` may alter a table first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists fivetran")
        for name in TABLE_FILES:
            table = Path(name).stem
            con.execute(f"create or replace table fivetran.{table} as "
                        "select * from read_csv(?, header = true)", [str(FIVETRAN_SHOP_DIR / name)])
            if edit is not None:
                frame = edit(table, con.execute(f"select * from fivetran.{table}").df())
                con.register("edited", frame)
                con.execute(f"create or replace table fivetran.{table} as select * from edited")
                con.unregister("edited")


def warehouse_project(tmp_path, layout="shopify__daily_shop", rules=None, settings=None,
                      edit=None):
    truth = load().truth
    project = copy_project(tmp_path / "project")
    load_tables(project.duckdb_path, edit)
    data = {"source": "warehouse", "dataset": "fivetran_shop", "kpi": "net_sales",
            "currency": truth["currency"], "brand": "A Shopify shop",
            "warehouse": {"spend_relation": "fivetran.ad_reporting__ad_report",
                          "kpi_relation": f"fivetran.{layout}", "kpi_layout": layout,
                          "week_start": truth["week_start"],
                          "channel_mapping": rules or truth["channel_rules"]}}
    config_file = project.project_dir / "prism.yml"
    config = deep_merge(yaml.safe_load(config_file.read_text()), settings or {})
    config["data"] = data
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return project, config


def table(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


def expected_weeks() -> pd.DataFrame:
    truth = load().truth
    return pd.DataFrame([{"week_start_date": pd.Timestamp(w["week_start"]),
                          "kpi": w["net_sales"], **{f"spend_{c}": v for c, v in w["spend"].items()}}
                         for w in truth["weekly"] if w["full_week"]])


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["shopify__daily_shop", "shopify__orders"])
def test_daily_long_tables_become_the_true_weeks(tmp_path, layout):
    project, _ = warehouse_project(tmp_path, layout)
    built = prism(project, "build", "--run-id", "wh", "--select", DATA_LAYER)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    expected = expected_weeks()
    mmm_input = table(project.duckdb_path, "select * from mmm_input order by week_start_date")
    pd.testing.assert_frame_equal(mmm_input[list(expected.columns)], expected,
                                  check_dtype=False, check_exact=False, atol=1e-6)
    partial = table(project.duckdb_path, "select week_start_date, n_days from "
                    "int_warehouse_kpi_weekly where is_partial_week order by 1")
    assert [d.strftime("%Y-%m-%d") for d in partial["week_start_date"]] == \
        load().truth["partial_weeks"]
    assert (partial["n_days"] < 7).all()
    # The build summary says what was left out.
    assert "Input: partial weeks left out: 2022-12-26 (5 of 7 days), 2024-12-30 (4 of 7 days)" \
        in built.stdout
    edge_spend = sum(sum(w["spend"].values()) for w in load().truth["weekly"]
                     if not w["full_week"])
    assert f"spend outside the KPI's full weeks left out: {edge_spend:,.2f} EUR" in built.stdout


@pytest.mark.slow
def test_a_sunday_week_start_regroups_the_days(tmp_path):
    project, config = warehouse_project(tmp_path)
    config["data"]["warehouse"]["week_start"] = "sunday"
    (project.project_dir / "prism.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    built = prism(project, "build", "--run-id", "wh", "--select", DATA_LAYER)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    mmm_input = table(project.duckdb_path, "select week_start_date, kpi from mmm_input order by 1")
    assert (mmm_input["week_start_date"].dt.day_of_week == 6).all()  # pandas: Sunday = 6
    shop = load().daily_shop.assign(date_day=lambda f: pd.to_datetime(f["date_day"]))
    first = mmm_input["week_start_date"].iloc[0]
    week = shop[(shop["date_day"] >= first) & (shop["date_day"] < first + pd.Timedelta(days=7))]
    assert mmm_input["kpi"].iloc[0] == pytest.approx(week["net_sales"].sum())


@pytest.mark.slow
def test_the_models_recover_the_true_roi_from_warehouse_tables(tmp_path):
    project, config = warehouse_project(tmp_path, settings=QUICK_SETTINGS)
    built = prism(project, "build", "--run-id", "e2e")
    config["data"]["channels"] = load().truth["channels"]  # derived from the mapping
    check_results(project, config, load().truth["true_roi"], built)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_bad_source_data_is_refused_naming_every_problem(tmp_path):
    """An unmapped campaign, a day with two currencies' rows, a missing day and negative spend:
    one refusal lists them all, and the warehouse is byte-for-byte as before."""
    def edit(table, frame):
        if table == "ad_reporting__ad_report":
            google = frame.index[frame["platform"] == "google_ads"]
            frame.loc[google[:3], "campaign_name"] = "Brand | Display | test"
            frame.loc[google[10], "spend"] = -5.0
        if table == "shopify__daily_shop":
            days = pd.to_datetime(frame["date_day"])
            frame.loc[days == "2023-06-01", "currency"] = "USD"
            frame = frame[days != "2023-03-15"]
        return frame

    project, _ = warehouse_project(tmp_path, edit=edit)
    before = _digest(project.duckdb_path)
    built = prism(project, "build", "--run-id", "bad", "--select", DATA_LAYER)
    assert built.returncode != 0
    out = built.stdout + built.stderr
    assert "matches no rule of data.warehouse.channel_mapping: 'google_ads / Brand | Display | test'" in out, out[-4000:]
    negative_day = pd.Timestamp(load().ad_report.query("platform == 'google_ads'")
                                .iloc[10]["date_day"]).strftime("%Y-%m-%d")
    assert "is negative for google_" in out and f"on {negative_day}" in out
    assert "mixes currencies (EUR in weeks" in out and "USD in weeks 2023-05-29 to 2023-05-29" in out
    assert "has no row for 2023-03-15" in out
    assert "The existing warehouse was left unchanged." in out
    assert _digest(project.duckdb_path) == before


@pytest.mark.slow
def test_a_missing_relation_or_column_is_named(tmp_path):
    project, config = warehouse_project(
        tmp_path, edit=lambda table, frame: frame.drop(columns=["currency"])
        if table == "shopify__daily_shop" else frame)
    built = prism(project, "build", "--run-id", "bad", "--select", DATA_LAYER)
    assert built.returncode != 0
    assert "relation fivetran.shopify__daily_shop (prism.yml data.warehouse.kpi_relation) " \
        "lacks column(s) currency" in built.stdout + built.stderr

    config["data"]["warehouse"]["spend_relation"] = "fivetran.ad_reporting__campaign_report"
    (project.project_dir / "prism.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    built = prism(project, "build", "--run-id", "bad", "--select", DATA_LAYER)
    assert built.returncode != 0
    assert "relation fivetran.ad_reporting__campaign_report (prism.yml " \
        "data.warehouse.spend_relation) is not in the warehouse" in built.stdout + built.stderr


@pytest.mark.slow
def test_a_campaign_report_without_campaign_rules_maps_by_platform(tmp_path):
    """Coarser reports drop columns: platform rules alone need no campaign_name."""
    def edit(table, frame):
        if table == "ad_reporting__ad_report":
            frame = frame.drop(columns=["campaign_name", "ad_group_id", "ad_group_name",
                                        "ad_id", "ad_name", "campaign_id"])
        return frame

    rules = [{"platform": p, "channel": c} for p, c in
             [("google_ads", "google"), ("facebook_ads", "meta"), ("tiktok_ads", "tiktok")]]
    project, _ = warehouse_project(tmp_path, rules=rules, edit=edit)
    built = prism(project, "build", "--run-id", "wh", "--select", DATA_LAYER)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    mmm_input = table(project.duckdb_path, "select * from mmm_input order by week_start_date")
    expected = expected_weeks()
    np.testing.assert_allclose(
        mmm_input["spend_google"],
        expected["spend_google_search"] + expected["spend_google_shopping"], atol=1e-6)
    np.testing.assert_allclose(
        mmm_input["spend_meta"],
        expected["spend_meta_facebook"] + expected["spend_meta_instagram"], atol=1e-6)
    assert json.loads(table(project.duckdb_path, "select value_json from prism_settings "
                            "where setting = 'channels'").iloc[0, 0]) == ["google", "meta", "tiktok"]


@pytest.mark.slow
def test_init_proposes_a_configuration_from_the_tables(tmp_path):
    """`prism init` on warehouse relations: the orders layout detected, one channel per
    platform, the shop's currency; `prism build` then builds the true weeks."""
    project, _ = warehouse_project(tmp_path)
    init = prism(project, "init", "--spend-relation", "fivetran.ad_reporting__ad_report",
                 "--kpi-relation", "fivetran.shopify__orders", "--dataset", "my_shop", "--force")
    assert init.returncode == 0, init.stdout + init.stderr
    data = yaml.safe_load((project.project_dir / "prism.yml").read_text())["data"]
    assert data["warehouse"]["kpi_layout"] == "shopify__orders"
    assert data["currency"] == "EUR" and data["kpi"] == "net_sales"
    assert sorted(r["channel"] for r in data["warehouse"]["channel_mapping"]) == \
        ["facebook", "google", "tiktok"]
    assert (project.project_dir / "knowledge" / "my_shop" / "field_definitions.yml").exists()

    built = prism(project, "build", "--run-id", "wh", "--select", DATA_LAYER)
    assert built.returncode == 0, (built.stdout + built.stderr)[-4000:]
    expected = expected_weeks()
    mmm_input = table(project.duckdb_path, "select * from mmm_input order by week_start_date")
    np.testing.assert_allclose(mmm_input["kpi"], expected["kpi"], atol=1e-6)
    np.testing.assert_allclose(
        mmm_input["spend_facebook"],
        expected["spend_meta_facebook"] + expected["spend_meta_instagram"], atol=1e-6)


def test_init_names_a_missing_relation(tmp_path):
    project, _ = warehouse_project(tmp_path)
    init = prism(project, "init", "--spend-relation", "fivetran.nope", "--kpi-relation",
                 "fivetran.shopify__orders", "--dataset", "my_shop", "--force")
    assert init.returncode != 0
    assert "relation fivetran.nope is not in the warehouse" in init.stderr


@pytest.mark.slow
def test_production_settings_converge_and_recover_the_truth_from_warehouse_tables(tmp_path):
    project, config = warehouse_project(tmp_path)
    built = prism(project, "build", "--run-id", "e2e")
    config["data"]["channels"] = load().truth["channels"]  # derived from the mapping
    gates = check_results(project, config, load().truth["true_roi"], built)
    assert gates.loc["max_r_hat", "value"] <= 1.01
    assert gates.loc["divergences", "value"] == 0
    assert gates.loc["min_ess_bulk", "value"] >= 400
