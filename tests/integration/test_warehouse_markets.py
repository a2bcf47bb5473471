"""Several shops in the same Fivetran relations, one series each (data.warehouse.series_mapping):
`prism init` says which rules to write, the SQL builds each shop's true weeks, a shop with bad
data is refused alone while the others go on, rows of no series are reported, and the models
fit every shop on its own (bench/fivetran_shop.py generate_markets: each market its own truth)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
import yaml

from bench.fivetran_shop import generate_markets, union
from prism_mmm.config import deep_merge
from prism_mmm.project import QUICK_SETTINGS
from prism_mmm.series import SERIES_ID
from tests.integration.test_other_datasets import MAX_POINT_ERROR, prism
from tests.integration.test_warehouse_source import DATA_LAYER, table
from tests.project import copy_project

MARKETS = ("de", "nl", "at")


@pytest.fixture(scope="module")
def markets():
    return generate_markets(MARKETS)


def load_union(path, tables: dict[str, pd.DataFrame]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists fivetran")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create or replace table fivetran.{name} as select * from frame")
            con.unregister("frame")


def markets_project(tmp_path, shops: dict, tables: dict, settings: dict | None = None):
    """A project on the union of ``tables``, configured with one series rule per shop."""
    project = copy_project(tmp_path / "project")
    load_union(project.duckdb_path, tables)
    truth = next(iter(shops.values())).truth
    config_file = project.project_dir / "prism.yml"
    config = deep_merge(yaml.safe_load(config_file.read_text()), settings or {})
    config["data"] = {
        "source": "warehouse", "dataset": "acme_markets", "kpi": "net_sales",
        "currency": truth["currency"], "series_columns": ["market"],
        "warehouse": {"spend_relation": "fivetran.ad_reporting__ad_report",
                      "kpi_relation": "fivetran.shopify__daily_shop",
                      "kpi_layout": "shopify__daily_shop", "week_start": truth["week_start"],
                      "channel_mapping": truth["channel_rules"],
                      "series_mapping": [shop.shop.series_rule({"market": market})
                                         for market, shop in shops.items()]}}
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return project


def true_weeks(shop) -> pd.DataFrame:
    return pd.DataFrame([{"week_start_date": pd.Timestamp(w["week_start"]),
                          "kpi": w["net_sales"], **{f"spend_{c}": v for c, v in w["spend"].items()}}
                         for w in shop.truth["weekly"] if w["full_week"]])


@pytest.mark.slow
def test_init_names_the_shops_then_each_shop_is_a_series_and_a_bad_one_is_refused_alone(
        tmp_path, markets):
    tables = union(markets)
    # Market at: a day in USD and a missing day. Spend of an account no rule names, and the
    # KPI of a shop no rule names, are left out and reported.
    shop = tables["shopify__daily_shop"]
    at_days = shop["source_relation"] == "shopify_at"
    shop.loc[at_days & (shop["date_day"] == "2023-06-01"), "currency"] = "USD"
    shop = shop[~(at_days & (shop["date_day"] == "2023-03-15"))]
    uk = shop[shop["source_relation"] == "shopify_de"].head(30).assign(
        source_relation="shopify_uk", shop_id=1)
    tables["shopify__daily_shop"] = pd.concat([shop, uk], ignore_index=True)
    ads = tables["ad_reporting__ad_report"]
    stray = ads.head(5).assign(account_id=999, spend=10.0)
    tables["ad_reporting__ad_report"] = pd.concat([ads, stray], ignore_index=True)
    project = markets_project(tmp_path, markets, tables)

    init = prism(project, "init", "--spend-relation", "fivetran.ad_reporting__ad_report",
                 "--kpi-relation", "fivetran.shopify__daily_shop", "--dataset", "acme",
                 "--force")
    assert init.returncode != 0
    assert "relation fivetran.shopify__daily_shop holds 4 shops (shop_id 1, " in init.stderr, \
        init.stderr
    assert "data.warehouse.series_mapping" in init.stderr
    assert "1029384757 (Acme Living DE)" in init.stderr  # the accounts to assign

    built = prism(project, "build", "--run-id", "wh", "--select", f"{DATA_LAYER} stg_input__series")
    out = built.stdout + built.stderr
    assert built.returncode == 0, out[-4000:]
    series = table(project.duckdb_path, "select * from stg_input__series").set_index(SERIES_ID)
    assert series.loc[["de", "nl"], "status"].tolist() == ["ok", "ok"]
    assert series.loc["at", "status"] == "refused"
    message = series.loc["at", "message"]
    assert message.startswith("series at: ")
    assert "mixes currencies (EUR in weeks" in message and "USD in weeks 2023-05-29" in message
    assert "has no row for 2023-03-15" in message
    assert "Input: refused series at: " in out
    for market in ("de", "nl"):
        mmm_input = table(project.duckdb_path, f"select * from mmm_input where series_id = "
                          f"'{market}' order by week_start_date")
        expected = true_weeks(markets[market])
        assert (mmm_input["market"] == market).all()
        pd.testing.assert_frame_equal(mmm_input[list(expected.columns)], expected,
                                      check_dtype=False, check_exact=False, atol=1e-6)
    notes = "\n".join(line for line in out.splitlines() if line.startswith("Input:"))
    assert "Input: partial weeks left out: de: 2022-12-26 (5 of 7 days), de: 2024-12-30 " \
        "(4 of 7 days), nl: 2022-12-26" in notes, notes  # at is refused whole
    outside = next(line for line in notes.splitlines() if "outside the KPI's full weeks" in line)
    assert "left out: de: " in outside and "; nl: " in outside and "at: " not in outside
    stray_spend = stray.groupby("platform")["spend"].sum().sort_values(ascending=False)
    assert "spend of no series (no rule of data.warehouse.series_mapping matched) left out: " + \
        ", ".join(f"{p} {s:,.2f}" for p, s in stray_spend.items()) in notes, notes
    assert f"KPI of no series left out: {uk['net_sales'].sum():,.2f} over 30 days" in notes


def build_shops(tmp_path, markets, settings: dict | None = None):
    shops = {m: markets[m] for m in ("de", "nl")}
    project = markets_project(tmp_path, shops, union(shops), settings)
    built = prism(project, "build", "--run-id", "e2e")
    out = built.stdout + built.stderr
    assert built.returncode == 0, out[-4000:]
    runs = table(project.duckdb_path, "select series_id, model, status, message from mmm_runs "
                 "where run_id = 'e2e'")
    assert sorted(set(runs[SERIES_ID])) == ["de", "nl"]
    assert len(runs) == 6 and runs["status"].isin(["ok", "warning"]).all(), runs.to_string()
    roi = table(project.duckdb_path, "select series_id, model, channel, roi, roi_low, roi_high "
                "from channel_roi where run_id = 'e2e'")
    return shops, roi


@pytest.mark.slow
def test_each_shop_gets_its_own_fits(tmp_path, markets):
    """Quick sampler settings: the wiring (every model fits every shop, on that shop's
    weeks); recovery is checked at production settings below."""
    shops, roi = build_shops(tmp_path, markets, QUICK_SETTINGS)
    for model, fitted in roi.groupby("model"):
        by_series = fitted.pivot(index="channel", columns=SERIES_ID, values="roi")
        assert sorted(by_series.index) == sorted(shops["de"].truth["true_roi"]), model
        assert by_series.notna().all().all() and (by_series["de"] != by_series["nl"]).all()


@pytest.mark.slow
def test_production_settings_recover_each_shops_own_truth(tmp_path, markets):
    shops, roi = build_shops(tmp_path, markets)
    bayes = roi[roi["model"] == "bayes"]
    for market, shop in shops.items():
        fitted = bayes[bayes[SERIES_ID] == market].set_index("channel")
        for channel, true_roi in shop.truth["true_roi"].items():
            row = fitted.loc[channel]
            assert row.roi_low <= true_roi <= row.roi_high, (market, channel, true_roi,
                                                             row.to_dict())
            assert abs(row.roi / true_roi - 1) <= MAX_POINT_ERROR, (market, channel, row.roi)
