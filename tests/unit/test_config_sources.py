"""The configuration of a warehouse source, and the settings dbt reads."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from prism_mmm.config import PrismConfig, settings_frame

RULES = [{"platform": "google_ads", "campaign_name_contains": "Search", "channel": "search"},
         {"platform": "google_ads", "channel": "google_other"},
         {"platform": "facebook_ads", "channel": "meta"}]


def warehouse(**data):
    return {"data": {"source": "warehouse", "dataset": "shop", "kpi": "net_sales",
                     "warehouse": {"spend_relation": "fivetran.ad_reporting__ad_report",
                                   "kpi_relation": "fivetran.shopify__daily_shop",
                                   "channel_mapping": RULES}, **data}}


def test_channels_default_to_the_mapping_in_rule_order():
    cfg = PrismConfig.model_validate(warehouse())
    assert cfg.channels == ["search", "google_other", "meta"]
    assert cfg.data.input_path() is None
    assert cfg.data.warehouse.week_start == "monday"


@pytest.mark.parametrize("data, message", [
    ({"channels": ["search", "meta"]}, "every channel needs a rule"),
    ({"controls": ["price"]}, "data.controls is not supported for a warehouse source"),
    ({"dataset": None}, "data.dataset must be set for a warehouse source"),
    ({"warehouse": None}, "data.warehouse is not set"),
])
def test_inconsistent_warehouse_configuration_is_refused(data, message):
    raw = warehouse()
    raw["data"].update(data)
    with pytest.raises(ValidationError, match=message):
        PrismConfig.model_validate(raw)


@pytest.mark.parametrize("name", ['fivetran."x"; drop table y', "a.b.c.d", "1table", "x y"])
def test_relation_names_that_could_carry_sql_are_refused(name):
    raw = warehouse()
    raw["data"]["warehouse"]["kpi_relation"] = name
    with pytest.raises(ValidationError, match="must be table, schema.table"):
        PrismConfig.model_validate(raw)


def test_unsafe_channel_names_in_rules_are_refused():
    raw = warehouse()
    raw["data"]["warehouse"]["channel_mapping"] = [{"platform": "x", "channel": "Bad Name"}]
    with pytest.raises(ValidationError, match="Bad Name"):
        PrismConfig.model_validate(raw)


def test_the_settings_table_holds_what_the_sql_renders_with():
    cfg = PrismConfig.model_validate(warehouse())
    settings = dict(zip(*settings_frame(cfg).to_dict("list").values(), strict=True))
    assert json.loads(settings["channels"]) == cfg.channels
    assert json.loads(settings["warehouse"])["channel_mapping"][0]["campaign_name_contains"] \
        == "Search"
    assert json.loads(settings["source"]) == "warehouse"
    demo = dict(zip(*settings_frame(PrismConfig()).to_dict("list").values(), strict=True))
    assert json.loads(demo["warehouse"]) is None and json.loads(demo["kpi_column"]) == "revenue"


def series_rule(market, shop, accounts):
    return {"key": {"market": market}, "kpi_where": {"source_relation": [shop]},
            "spend_where": {"account_id": accounts}}


def markets(*rules, **data):
    raw = warehouse(**{"series_columns": ["market"], **data})
    raw["data"]["warehouse"]["series_mapping"] = list(rules)
    return raw


def test_series_rules_give_each_shop_its_series_id_and_text_values():
    cfg = PrismConfig.model_validate(markets(series_rule("de", "shopify_de", [4816200732, "x"]),
                                             series_rule("nl", "shopify_nl", 7305118422)))
    rules = cfg.sql_settings()["warehouse_series"]
    assert [r["series_id"] for r in rules] == ["de", "nl"]
    assert rules[0]["spend_where"] == {"account_id": ["4816200732", "x"]}  # YAML ids as text
    assert rules[1]["spend_where"] == {"account_id": ["7305118422"]}
    assert cfg.sql_settings()["dataset"] == "shop"
    assert PrismConfig.model_validate(warehouse()).sql_settings()["warehouse_series"] == []


@pytest.mark.parametrize("raw, message", [
    (markets(), "data.series_columns and data.warehouse.series_mapping go together"),
    (markets(series_rule("de", "s", ["1"]), series_columns=[]), "go together"),
    (markets(series_rule("de", "a", ["1"]), series_rule("de", "b", ["2"])),
     "rules 1 and 2 both define series de"),
    (markets({"key": {"geo": "de"}, "kpi_where": {"shop_id": ["1"]},
              "spend_where": {"account_id": ["1"]}}), "must give exactly the series columns"),
    (markets(series_rule("de", "a", [])), "lists no values"),
    (markets({"key": {"market": "de"}, "kpi_where": {'x"; drop': ["1"]},
              "spend_where": {"account_id": ["1"]}}), "unsafe series rule column name"),
    (markets({"key": {"market": "de"}, "kpi_where": {},
              "spend_where": {"account_id": ["1"]}}), "kpi_where"),
])
def test_inconsistent_series_rules_are_refused(raw, message):
    with pytest.raises(ValidationError, match=message):
        PrismConfig.model_validate(raw)


def test_another_datasets_report_never_carries_the_demos_brand():
    assert PrismConfig().data.brand == "Conjura apparel brand"  # the demo's own
    assert PrismConfig.model_validate(warehouse()).data.brand == "shop"  # its dataset key
    assert PrismConfig.model_validate(warehouse(brand="Acme")).data.brand == "Acme"
