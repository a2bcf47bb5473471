"""The Fivetran-layout known-truth shop (bench/fivetran_shop.py): the committed files are what
the generator writes, in Fivetran's column layouts, and their weekly sums are the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.fivetran_shop import (
    FIVETRAN_SHOP_DIR,
    TABLE_FILES,
    FivetranShop,
    generate,
    generate_markets,
    load,
    union,
)
from prism_mmm.transforms import MediaTransform

# The layouts staging models will read, pinned here so a generator change cannot move them
# silently (column names from Fivetran's dbt_ad_reporting and dbt_shopify models).
LAYOUTS = {
    "ad_reporting__ad_report.csv": [
        "source_relation", "date_day", "platform", "account_id", "account_name", "campaign_id",
        "campaign_name", "ad_group_id", "ad_group_name", "ad_id", "ad_name", "clicks",
        "impressions", "spend", "conversions", "conversions_value"],
    "shopify__daily_shop.csv": [
        "date_day", "shop_id", "name", "domain", "is_deleted", "currency", "iana_timezone",
        "created_at", "source_relation", "count_orders", "count_line_items", "count_customers",
        "count_customer_emails", "order_adjusted_total", "avg_order_value", "shipping_cost",
        "refund_subtotal", "refund_total_tax", "total_discounts", "gross_sales", "discounts",
        "returns", "net_sales"],
    "shopify__orders.csv": [
        "order_id", "total_discounts", "total_line_items_price", "total_price", "total_tax",
        "source_name", "subtotal_price", "has_taxes_included", "name", "order_number",
        "cancel_reason", "created_timestamp", "cancelled_timestamp", "processed_timestamp",
        "currency", "customer_id", "email", "financial_status",
        "shipping_address_country_code", "is_test_order", "is_deleted", "source_relation",
        "shipping_cost", "refund_subtotal", "refund_total_tax", "order_adjusted_total",
        "line_item_count", "gross_sales", "discounts", "returns", "net_sales"],
}


def _cents(amount: pd.Series) -> pd.Series:
    return np.rint(amount * 100).astype(np.int64)


def _monday(day: pd.Series) -> pd.Series:
    dates = pd.to_datetime(day)
    return (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def markets() -> dict[str, FivetranShop]:
    return generate_markets(("de", "nl"))


# Every property of the files holds for the committed shop and for a market's shop alike.
@pytest.fixture(scope="module", params=["committed", "market nl"])
def committed(request, markets) -> FivetranShop:
    return load() if request.param == "committed" else markets["nl"]


@pytest.fixture(scope="module")
def weekly_truth(committed):
    return committed.weekly.set_index("week_start")


@pytest.fixture(scope="module")
def channel_spend(committed):
    """Weekly spend per channel (cents) from the ad report, channels by the truth's rules."""
    ads, truth = committed.ad_report, committed.truth
    channel_of = {}
    for platform, campaign in ads[["platform", "campaign_name"]].drop_duplicates().itertuples(
            index=False):
        matches = [r["channel"] for r in truth["channel_rules"]
                   if r["platform"] == platform and r["campaign_name_contains"] in campaign]
        assert len(matches) == 1, (platform, campaign, matches)  # rules are unambiguous
        channel_of[platform, campaign] = matches[0]
    channel = [channel_of[key] for key in zip(ads["platform"], ads["campaign_name"],
                                              strict=True)]
    return (ads.assign(channel=channel, week=_monday(ads["date_day"]), cents=_cents(ads["spend"]))
            .pivot_table(index="week", columns="channel", values="cents", aggfunc="sum",
                         fill_value=0))


def test_committed_files_are_what_the_generator_writes(tmp_path):
    committed = load()
    regenerated = load(generate().write(tmp_path))
    for table in ("ad_report", "daily_shop", "orders"):
        pd.testing.assert_frame_equal(getattr(regenerated, table), getattr(committed, table))
    truth = dict(regenerated.truth)
    assert truth.pop("true_roi") == pytest.approx(committed.truth["true_roi"])
    assert truth == {k: v for k, v in committed.truth.items() if k != "true_roi"}


def test_tables_have_fivetran_layouts():
    assert set(LAYOUTS) == set(TABLE_FILES)
    for name, columns in LAYOUTS.items():
        header = (FIVETRAN_SHOP_DIR / name).read_text().split("\n", 1)[0]
        assert header.split(",") == columns, name


def test_ad_report_has_a_row_per_day_and_ad_that_spent(committed):
    ads = committed.ad_report
    assert (ads["spend"] > 0).all()
    assert not ads.duplicated(["source_relation", "date_day", "ad_id"]).any()
    assert set(ads["platform"]) == {"google_ads", "facebook_ads", "tiktok_ads"}
    google = ads[ads["platform"] == "google_ads"]
    assert google["account_id"].nunique() == 2


def test_market_shops_are_told_apart_by_their_series_rules(markets):
    """Each market's rows are its own: no id is shared, and the series rule of a shop picks
    exactly its rows out of the union of the markets' tables."""
    tables = union(markets)
    for column, table in (("shop_id", "shopify__daily_shop"), ("source_relation", "shopify__orders"),
                          ("account_id", "ad_reporting__ad_report"),
                          ("campaign_id", "ad_reporting__ad_report")):
        owners = [set(getattr(shop, {"shopify__daily_shop": "daily_shop",
                                     "shopify__orders": "orders",
                                     "ad_reporting__ad_report": "ad_report"}[table])[column])
                  for shop in markets.values()]
        assert not set.intersection(*owners), column
        assert set.union(*owners) == set(tables[table][column])
    for market, shop in markets.items():
        rule = shop.shop.series_rule({"market": market})
        (kpi_column, kpi_values), = rule["kpi_where"].items()
        (spend_column, spend_values), = rule["spend_where"].items()
        picked = tables["shopify__daily_shop"][kpi_column].astype(str).isin(kpi_values)
        pd.testing.assert_frame_equal(
            tables["shopify__daily_shop"][picked].reset_index(drop=True), shop.daily_shop)
        spend = tables["ad_reporting__ad_report"][spend_column].astype(str).isin(spend_values)
        assert spend.sum() == len(shop.ad_report)
        assert shop.truth["true_roi"] != markets["de" if market == "nl" else "nl"].truth["true_roi"]


def test_valid_orders_sum_to_daily_net_sales(committed):
    orders, daily, truth = committed.orders, committed.daily_shop, committed.truth
    valid = ~orders["is_test_order"] & orders["cancelled_timestamp"].isna()
    assert orders["is_test_order"].any() and orders["cancelled_timestamp"].notna().any()
    assert (orders.loc[~valid, "net_sales"] > 0).all()  # including them would break the KPI
    by_day = (_cents(orders.loc[valid, "net_sales"])
              .groupby(orders.loc[valid, "created_timestamp"].str[:10]).sum())
    assert list(daily["date_day"]) == list(
        pd.date_range(truth["first_day"], truth["last_day"]).strftime("%Y-%m-%d"))
    assert by_day.reindex(daily["date_day"], fill_value=0).tolist() == _cents(
        daily["net_sales"]).tolist()
    assert daily.groupby("date_day").size().max() == 1
    assert (valid.groupby(orders["created_timestamp"].str[:10]).sum().between(5, 8)).all()
    net = orders["gross_sales"] - orders["discounts"] - orders["returns"]
    assert (_cents(net) == _cents(orders["net_sales"])).all()
    assert set(daily["currency"]) == set(orders["currency"]) == {truth["currency"]}


def test_weeks_are_mondays_with_a_partial_week_at_each_end(committed, weekly_truth):
    truth = committed.truth
    first, last = pd.Timestamp(truth["first_day"]), pd.Timestamp(truth["last_day"])
    assert first.day_name() == "Wednesday" and last.day_name() == "Thursday"
    assert truth["week_start"] == "monday"
    assert truth["partial_weeks"] == [
        (first - pd.Timedelta(days=first.day_of_week)).strftime("%Y-%m-%d"),
        (last - pd.Timedelta(days=last.day_of_week)).strftime("%Y-%m-%d")]
    full = weekly_truth.index[weekly_truth["full_week"]]
    assert len(full) == truth["n_full_weeks"] == 104
    assert (full[0], full[-1]) == (truth["first_full_week"], truth["last_full_week"])
    assert list(weekly_truth.index[~weekly_truth["full_week"]]) == truth["partial_weeks"]


def test_weekly_sums_of_the_files_are_the_truth(committed, weekly_truth, channel_spend):
    daily, truth = committed.daily_shop, committed.truth
    kpi = _cents(daily[truth["kpi"]["column"]]).groupby(_monday(daily["date_day"])).sum()
    assert kpi.tolist() == _cents(weekly_truth["net_sales"]).tolist()
    assert list(kpi.index) == list(weekly_truth.index)
    spend = channel_spend.reindex(weekly_truth.index, fill_value=0)[truth["channels"]]
    pd.testing.assert_frame_equal(
        spend, weekly_truth[truth["channels"]].apply(_cents), check_names=False)


def test_true_roi_is_contribution_over_spend_on_full_weeks(committed, weekly_truth,
                                                           channel_spend):
    truth = committed.truth
    channels, media = truth["channels"], truth["media"]
    spend = channel_spend.reindex(weekly_truth.index, fill_value=0)[channels].to_numpy() / 100
    params = {p: np.array([media["params"][c][p] for c in channels])
              for p in ("decay", "half_sat", "shape", "coef", "scale")}
    assert params["scale"].tolist() == spend.max(axis=0).tolist()
    transform = MediaTransform(media["adstock"], media["saturation"], max_lag=media["max_lag"])
    contributions = params["coef"] * transform.features(
        spend, params["scale"], decay=params["decay"], half_sat=params["half_sat"],
        shape=params["shape"])
    full = weekly_truth["full_week"].to_numpy()
    roi = contributions[full].sum(axis=0) / spend[full].sum(axis=0)
    assert dict(zip(channels, roi, strict=True)) == pytest.approx(truth["true_roi"], rel=1e-9)
