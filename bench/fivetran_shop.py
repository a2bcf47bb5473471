"""A known-truth shop in the table layouts of Fivetran's dbt packages, for the warehouse-source
path: staging models that read ad platforms and Shopify the way Fivetran lands them, and tests
that check the weekly frame they build (and the ROI a model recovers from it) against the truth.

Process (weekly, Monday weeks, deterministic from a fixed seed; ``generate``):

- A shop and its ad accounts open on Wednesday 2022-12-28; the export ends on Thursday
  2025-01-02. That is a partial week at each end (Mon 2022-12-26: 5 days, Mon 2024-12-30:
  4 days) around 104 full weeks (2023-01-02 to 2024-12-23). Partial weeks hold only their
  days' spend and sales, so a weekly model must drop them; the truth covers the full weeks.
- Weekly spend of 5 channels (EUR): google_search, always on, 2.5-4k rising with the season;
  google_shopping, 1.5-3k, strongest in Q4; meta_facebook, 1.5-3.5k with the season;
  meta_instagram, 0.8-2k with the season; tiktok, flights of 3-6 weeks at 2.5-5k with 4-9
  weeks off. A partial week spends days/7 of a full week (its media contribution follows
  from that spend, carry-over included). Spend is rounded to the cent before anything is
  computed from it.
- net_sales_w = days_w/7 * (12k * (1 + 0.10 t/T + 0.12 sin(2 pi doy/365.25)
                                + 0.06 cos(4 pi doy/365.25)) + Normal(0, 700))
                + sum_c coef_c * hill(adstock(spend_wc / max_c; decay_c); half_sat_c, shape_c)
  (geometric adstock over 8 weeks + Hill, as PrismMMM models it; parameters in ``MEDIA``),
  rounded to the cent.
- True ROI of a channel = its contribution summed over the full weeks / its spend summed over
  the full weeks (PrismMMM's definition).

Then each week is split into days and rows, in integer cents, so that sums reproduce the
weekly truth to the cent: a channel's week over its campaigns, their 2 ads and the week's days
(random positive weights; an ad is paused on ~3% of its days; the rounding remainder goes to
one cell; a day-ad with no spend has no row, as Fivetran's reports do), and a week's net sales
over its days, then over 5-8 valid orders a day. Clicks, impressions, conversions and
conversions_value follow spend with noise; conversions_value is what a platform claims, not
the truth. Test orders (~4% of days) and cancelled orders (~12% of days) are added on top and
are not in the KPI.

Files (``python -m bench.fivetran_shop`` writes them to data/known_truth/fivetran_shop;
``load`` reads them back):

- ``ad_reporting__ad_report.csv``: the layout of ``ad_reporting__ad_report`` in Fivetran's
  dbt_ad_reporting (one row per day and ad), platforms google_ads (two accounts, two
  ``source_relation`` values, one currency), facebook_ads and tiktok_ads. Channels come from
  ``CHANNEL_RULES``: platform plus a substring of the campaign name.
- ``shopify__orders.csv``: a subset of the columns of ``shopify__orders`` in Fivetran's
  dbt_shopify, in the package's order; net_sales = gross_sales - discounts - returns (the
  package's definition). Unlike the package (whose staging drops test orders), it keeps test
  orders, so staging has to filter them: valid orders have is_test_order false and no
  cancelled_timestamp. The package has no shop_id column on orders; source_relation links
  orders to the shop.
- ``shopify__daily_shop.csv``: a subset of ``shopify__daily_shop``, one row per day from the
  shop's creation; its order metrics sum the valid orders by the UTC date of
  created_timestamp (the package's day), so daily net_sales = the sum of valid orders'
  net_sales, to the cent. The KPI is net_sales, in EUR.
- ``truth.json``: true ROI, the channel rules, the week convention, KPI column, currency,
  partial and full weeks, the media parameters and every week's net sales and spend per
  channel (the files' weekly sums, partial weeks included).

Several markets (``generate_markets``, not committed: a couple of seconds per shop): the same
brand's shop in each market, its own draw of the process above (seed 16, 17, ...) and so its
own true ROI, with its own shop_id, source_relation (``shopify_<market>``), ad accounts and
campaign ids. ``union`` stacks the markets' tables the way a Fivetran project with one
connector per shop holds them, and ``Shop.series_rule`` is the series rule that picks a shop's
rows back out (KPI by source_relation, spend by account_id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bench.datasets import KNOWN_TRUTH_DIR, _contributions, _flights, _roi, _weeks
from prism_mmm.transforms import MediaTransform

FIVETRAN_SHOP_DIR = KNOWN_TRUTH_DIR / "fivetran_shop"
TABLE_FILES = ("ad_reporting__ad_report.csv", "shopify__daily_shop.csv", "shopify__orders.csv")

# Fivetran dbt_ad_reporting, models/ad_reporting__ad_report.sql (the version with
# source_relation and conversions).
AD_REPORT_COLUMNS = [
    "source_relation", "date_day", "platform", "account_id", "account_name", "campaign_id",
    "campaign_name", "ad_group_id", "ad_group_name", "ad_id", "ad_name", "clicks",
    "impressions", "spend", "conversions", "conversions_value"]
# Fivetran dbt_shopify, models/rest/shopify__daily_shop.sql (shop columns, then order metrics)
# and the finance columns PR #147 added (gross_sales, discounts, returns, net_sales).
DAILY_SHOP_COLUMNS = [
    "date_day", "shop_id", "name", "domain", "is_deleted", "currency", "iana_timezone",
    "created_at", "source_relation", "count_orders", "count_line_items", "count_customers",
    "count_customer_emails", "order_adjusted_total", "avg_order_value", "shipping_cost",
    "refund_subtotal", "refund_total_tax", "total_discounts", "gross_sales", "discounts",
    "returns", "net_sales"]
# Fivetran dbt_shopify, models/rest/staging/stg_shopify__order.sql (order columns) and
# models/rest/shopify__orders.sql (the joined metrics), in that order.
ORDERS_COLUMNS = [
    "order_id", "total_discounts", "total_line_items_price", "total_price", "total_tax",
    "source_name", "subtotal_price", "has_taxes_included", "name", "order_number",
    "cancel_reason", "created_timestamp", "cancelled_timestamp", "processed_timestamp",
    "currency", "customer_id", "email", "financial_status", "shipping_address_country_code",
    "is_test_order", "is_deleted", "source_relation", "shipping_cost", "refund_subtotal",
    "refund_total_tax", "order_adjusted_total", "line_item_count", "gross_sales", "discounts",
    "returns", "net_sales"]

CHANNELS = ["google_search", "google_shopping", "meta_facebook", "meta_instagram", "tiktok"]
# First rule that matches wins; an empty substring matches every campaign of the platform.
CHANNEL_RULES = [
    {"platform": "google_ads", "campaign_name_contains": "Search", "channel": "google_search"},
    {"platform": "google_ads", "campaign_name_contains": "Shopping",
     "channel": "google_shopping"},
    {"platform": "facebook_ads", "campaign_name_contains": "FB |", "channel": "meta_facebook"},
    {"platform": "facebook_ads", "campaign_name_contains": "IG |", "channel": "meta_instagram"},
    {"platform": "tiktok_ads", "campaign_name_contains": "", "channel": "tiktok"},
]
MEDIA = {  # per channel: geometric decay, Hill half-saturation and shape, weekly coefficient
    "google_search": {"decay": 0.2, "half_sat": 0.6, "shape": 1.2, "coef": 9000.0},
    "google_shopping": {"decay": 0.1, "half_sat": 0.5, "shape": 1.0, "coef": 6000.0},
    "meta_facebook": {"decay": 0.4, "half_sat": 0.5, "shape": 1.5, "coef": 5000.0},
    "meta_instagram": {"decay": 0.3, "half_sat": 0.6, "shape": 1.3, "coef": 2500.0},
    "tiktok": {"decay": 0.6, "half_sat": 0.5, "shape": 2.0, "coef": 4000.0},
}
MAX_LAG = 8

FIRST_DAY = pd.Timestamp("2022-12-28")  # a Wednesday: the shop and the ad accounts open
LAST_DAY = pd.Timestamp("2025-01-02")  # a Thursday: the day of the export
FIRST_MONDAY = pd.Timestamp("2022-12-26")
N_WEEKS = 106  # 1 partial + 104 full + 1 partial
CURRENCY = "EUR"
VAT = 0.19  # the shop quotes prices before tax (has_taxes_included false)


@dataclass(frozen=True)
class Campaign:
    """One campaign with one ad group and two ads; ``share`` is its base share of the
    channel's weekly spend."""

    channel: str
    source_relation: str
    platform: str
    account_id: int
    account_name: str
    campaign_id: int
    campaign_name: str
    share: float


CAMPAIGNS = [
    Campaign("google_search", "google_ads_eu", "google_ads", 4_816_200_731, "Acme Living EU",
             21_700_001, "Brand | Search | EU", 0.6),
    Campaign("google_search", "google_ads_us", "google_ads", 7_305_118_420, "Acme Living US",
             21_700_002, "Brand | Search | US", 0.4),
    Campaign("google_shopping", "google_ads_eu", "google_ads", 4_816_200_731, "Acme Living EU",
             21_700_003, "Generic | Shopping | EU", 0.65),
    Campaign("google_shopping", "google_ads_us", "google_ads", 7_305_118_420, "Acme Living US",
             21_700_004, "Generic | Shopping | US", 0.35),
    Campaign("meta_facebook", "facebook_ads", "facebook_ads", 1_029_384_756, "Acme Living",
             23_851_001, "FB | Prospecting | Broad", 1.0),
    Campaign("meta_instagram", "facebook_ads", "facebook_ads", 1_029_384_756, "Acme Living",
             23_851_002, "IG | Retargeting | Stories", 1.0),
    Campaign("tiktok", "tiktok_ads", "tiktok_ads", 7_120_450_009, "Acme Living",
             17_640_001, "TT | Awareness | Flights", 1.0),
]


@dataclass(frozen=True)
class Shop:
    """Who the tables belong to: the Shopify shop and the campaigns of its ad accounts."""

    shop_id: int
    name: str
    domain: str
    source_relation: str
    campaigns: tuple[Campaign, ...]
    iana_timezone: str = "Etc/UTC"
    currency: str = CURRENCY

    def series_rule(self, key: dict[str, str]) -> dict:
        """The data.warehouse.series_mapping rule that picks this shop's rows."""
        return {"key": key, "kpi_where": {"source_relation": [self.source_relation]},
                "spend_where": {"account_id": sorted({str(c.account_id) for c in self.campaigns})}}


ACME = Shop(68_000_000_001, "Acme Living", "acme-living.myshopify.com", "shopify",
            tuple(CAMPAIGNS))


def market_shop(market: str, number: int) -> Shop:
    """Acme Living's shop in another market (``number`` 1, 2, ...): its own shop, ad accounts
    and campaigns, named the same way (so the same channel rules map them), ids offset."""
    upper = market.upper()
    campaigns = tuple(
        replace(c, source_relation=f"{c.platform}_{market}", account_id=c.account_id + number,
                account_name=f"Acme Living {upper}",
                campaign_id=c.campaign_id + 100 * number,
                campaign_name=c.campaign_name.replace("| EU", f"| {upper}").replace(
                    "| US", f"| {upper} US"))
        for c in CAMPAIGNS)
    return Shop(ACME.shop_id + number, f"Acme Living {upper}",
                f"acme-living-{market}.myshopify.com", f"shopify_{market}", campaigns)


@dataclass(frozen=True)
class FivetranShop:
    """The three tables as Fivetran's packages would hold them, and the truth about them."""

    ad_report: pd.DataFrame
    daily_shop: pd.DataFrame
    orders: pd.DataFrame
    truth: dict
    shop: Shop = ACME

    @property
    def weekly(self) -> pd.DataFrame:
        """The weekly truth: one row per Monday week, net_sales and spend per channel."""
        return pd.DataFrame([{"week_start": w["week_start"], "days": w["days"],
                              "full_week": w["full_week"], "net_sales": w["net_sales"],
                              **w["spend"]} for w in self.truth["weekly"]])

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for frame, name in zip((self.ad_report, self.daily_shop, self.orders), TABLE_FILES,
                               strict=True):
            frame.to_csv(directory / name, index=False)
        (directory / "truth.json").write_text(
            json.dumps(self.truth, indent=1, sort_keys=True) + "\n")
        return directory


# Per channel: cost per click, click-through rate, conversion rate (the ad report's metrics).
AD_METRICS = {"google_search": (0.9, 0.06, 0.04), "google_shopping": (0.5, 0.012, 0.03),
              "meta_facebook": (0.7, 0.011, 0.02), "meta_instagram": (0.8, 0.008, 0.025),
              "tiktok": (0.4, 0.007, 0.01)}


def load(directory: Path = FIVETRAN_SHOP_DIR) -> FivetranShop:
    """The written files, read back (the committed ones by default)."""
    ad_report, daily_shop, orders = (pd.read_csv(directory / name) for name in TABLE_FILES)
    return FivetranShop(ad_report, daily_shop, orders,
                        json.loads((directory / "truth.json").read_text()))


def _cents(amount: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(amount) * 100).astype(np.int64)


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` cents split in proportion to ``weights``, each part rounded down and the
    remainder put on the largest weight, so the parts sum to ``total`` exactly."""
    parts = np.floor(total * weights / weights.sum()).astype(np.int64)
    parts[np.argmax(weights)] += total - parts.sum()
    return parts


def _days_in_week(monday: pd.Timestamp) -> pd.DatetimeIndex:
    days = pd.date_range(monday, periods=7, freq="D")
    return days[(days >= FIRST_DAY) & (days <= LAST_DAY)]


def _weekly_truth(rng: np.random.Generator, weeks: pd.DatetimeIndex
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weekly spend (T, C) and net sales (T,) in cents, and contributions (T, C) in EUR."""
    n = len(weeks)
    fraction = np.array([len(_days_in_week(w)) / 7 for w in weeks])
    doy = weeks.day_of_year.to_numpy(dtype=float)
    season = 0.12 * np.sin(2 * np.pi * doy / 365.25) + 0.06 * np.cos(4 * np.pi * doy / 365.25)
    q4 = np.isin(weeks.month, (10, 11, 12))
    spend = np.column_stack([
        rng.uniform(2.5e3, 4e3, n) * (1 + 1.5 * season),
        rng.uniform(1.5e3, 3e3, n) * (1 + 0.5 * q4),
        rng.uniform(1.5e3, 3.5e3, n) * (1 + season),
        rng.uniform(0.8e3, 2e3, n) * (1 + season),
        _flights(rng, n, first=6, lengths=(3, 7), gaps=(4, 10), spend=(2.5e3, 5e3)),
    ]) * fraction[:, None]
    spend_cents = _cents(spend)
    media = MediaTransform("geometric", "hill", max_lag=MAX_LAG)
    contributions = _contributions(
        spend_cents / 100, np.array([MEDIA[c]["coef"] for c in CHANNELS]), media,
        **{p: np.array([MEDIA[c][p] for c in CHANNELS]) for p in ("decay", "half_sat", "shape")})
    base = 12e3 * (1 + 0.10 * np.arange(n) / n + season) + rng.normal(0, 700, n)
    net_sales_cents = _cents(fraction * base + contributions.sum(axis=1))
    return spend_cents, net_sales_cents, contributions


def _ad_report(rng: np.random.Generator, weeks: pd.DatetimeIndex,
               spend_cents: np.ndarray, shop: Shop) -> pd.DataFrame:
    rows = []
    for week, week_spend in zip(weeks, spend_cents, strict=True):
        days = _days_in_week(week)
        for c, channel in enumerate(CHANNELS):
            if week_spend[c] == 0:
                continue
            campaigns = [k for k in shop.campaigns if k.channel == channel]
            campaign_share = np.array([k.share for k in campaigns]) * rng.uniform(
                0.85, 1.15, len(campaigns))
            ad_share = rng.uniform(0.3, 0.7, (len(campaigns), 1))
            ad_share = np.hstack([ad_share, 1 - ad_share])
            day_weight = rng.uniform(0.7, 1.3, (len(campaigns), 2, len(days)))
            day_weight *= rng.uniform(size=day_weight.shape) > 0.03  # paused ad-days
            weights = campaign_share[:, None, None] * ad_share[:, :, None] * day_weight
            cents = _allocate(int(week_spend[c]), weights.ravel()).reshape(weights.shape)
            rows += [(campaign, ad, day, int(cents[k, ad, d]))
                     for k, campaign in enumerate(campaigns) for ad in range(2)
                     for d, day in enumerate(days) if cents[k, ad, d] > 0]
    campaign, ad, day, cents = zip(*rows, strict=True)
    n = len(rows)
    cpc, ctr, cvr = np.array([AD_METRICS[k.channel] for k in campaign]).T
    spend = np.array(cents) / 100
    clicks = np.maximum(1, np.rint(spend / (cpc * rng.uniform(0.8, 1.25, n))))
    impressions = np.rint(clicks / (ctr * rng.uniform(0.8, 1.25, n)))
    conversions = np.round(clicks * cvr * rng.uniform(0.5, 1.5, n), 2)
    return pd.DataFrame({
        "source_relation": [k.source_relation for k in campaign],
        "date_day": [d.strftime("%Y-%m-%d") for d in day],
        "platform": [k.platform for k in campaign],
        "account_id": [k.account_id for k in campaign],
        "account_name": [k.account_name for k in campaign],
        "campaign_id": [k.campaign_id for k in campaign],
        "campaign_name": [k.campaign_name for k in campaign],
        "ad_group_id": [k.campaign_id * 100 + 1 for k in campaign],
        "ad_group_name": "Core",
        "ad_id": [k.campaign_id * 1000 + 10 + a for k, a in zip(campaign, ad, strict=True)],
        "ad_name": [f"Ad {'AB'[a]}" for a in ad],
        "clicks": clicks.astype(np.int64),
        "impressions": impressions.astype(np.int64),
        "spend": spend,
        "conversions": conversions,
        "conversions_value": np.round(conversions * rng.uniform(380, 520, n), 2),
    }).sort_values(["date_day", "platform", "source_relation", "ad_id"],
                   ignore_index=True)[AD_REPORT_COLUMNS]


def _daily_net_sales(rng: np.random.Generator, weeks: pd.DatetimeIndex,
                     net_sales_cents: np.ndarray) -> pd.Series:
    """Each week's net sales (cents) split over its days in the data, with a weekday
    pattern."""
    weekday = np.array([1.05, 1.0, 0.98, 1.0, 0.95, 0.92, 1.1])
    parts = []
    for week, total in zip(weeks, net_sales_cents, strict=True):
        days = _days_in_week(week)
        weights = rng.uniform(0.85, 1.15, len(days)) * weekday[days.day_of_week]
        parts.append(pd.Series(_allocate(int(total), weights), index=days))
    return pd.concat(parts)


def _orders(rng: np.random.Generator, daily_net_sales: pd.Series, shop: Shop) -> pd.DataFrame:
    """Valid orders whose net sales sum to each day's net sales (cents), plus test and
    cancelled orders; amounts in cents, columns named as in shopify__orders."""
    days, net_cents, kinds = [], [], []
    for day, total in daily_net_sales.items():
        parts = _allocate(int(total), rng.dirichlet(np.full(rng.integers(5, 9), 3.0)))
        extra = [k for k, p in (("test", 0.04), ("cancelled", 0.12)) if rng.uniform() < p]
        days += [day] * (len(parts) + len(extra))
        net_cents += [*parts, *_cents(rng.uniform(100, 900, len(extra)))]
        kinds += ["valid"] * len(parts) + extra
    n = len(days)
    net = np.array(net_cents, dtype=np.int64)
    kind = np.array(kinds)
    if (net[kind == "valid"] <= 0).any():
        raise ValueError("a valid order got no net sales: fewer orders per day are needed")
    returns = np.where(rng.uniform(size=n) < 0.08, _cents(net / 100 * rng.uniform(0.1, 0.4, n)),
                       0)
    discount_rate = np.where(rng.uniform(size=n) < 0.3,
                             rng.choice([0.05, 0.1, 0.15, 0.2], n), 0.0)
    gross = _cents((net + returns) / 100 / (1 - discount_rate))
    discounts = gross - net - returns
    subtotal = gross - discounts
    shipping = np.where(subtotal < 15_000, 590, 0)  # free shipping from 150 EUR
    tax = _cents((subtotal + shipping) / 100 * VAT)
    total_price = subtotal + shipping + tax
    refund_tax = _cents(returns / 100 * VAT)
    created = (pd.DatetimeIndex(days)
               + pd.to_timedelta(rng.integers(300, 82_800, n), unit="s"))
    order = np.argsort(created.asi8, kind="stable")  # order numbers follow time
    created = created[order]
    customer = 6_900_000_000_000 + rng.integers(0, 4_000, n)
    cancelled = pd.Series(
        created + pd.to_timedelta(rng.integers(600, 36_000, n), unit="s")).where(
        kind[order] == "cancelled")
    frame = pd.DataFrame({
        "order_id": 5_210_000_000_000 + np.arange(n),
        "total_discounts": discounts[order],
        "total_line_items_price": gross[order],
        "total_price": total_price[order],
        "total_tax": tax[order],
        "source_name": "web",
        "subtotal_price": subtotal[order],
        "has_taxes_included": False,
        "name": [f"#{1001 + i}" for i in range(n)],
        "order_number": 1001 + np.arange(n),
        "cancel_reason": np.where(kind[order] == "cancelled",
                                  rng.choice(["customer", "inventory"], n), None),
        "created_timestamp": created.strftime("%Y-%m-%d %H:%M:%S"),
        "cancelled_timestamp": cancelled.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "processed_timestamp": (created + pd.to_timedelta(rng.integers(0, 5, n), unit="s")
                                ).strftime("%Y-%m-%d %H:%M:%S"),
        "currency": shop.currency,
        "customer_id": customer[order],
        "email": [f"customer{c % 10_000}@example.com" for c in customer[order]],
        "financial_status": np.select(
            [kind[order] == "cancelled", returns[order] > 0], ["voided", "partially_refunded"],
            "paid"),
        "shipping_address_country_code": rng.choice(
            ["DE", "FR", "NL", "AT", "BE", "US", "GB"], n,
            p=[0.35, 0.15, 0.12, 0.08, 0.07, 0.15, 0.08]),
        "is_test_order": kind[order] == "test",
        "is_deleted": False,
        "source_relation": shop.source_relation,
        "shipping_cost": shipping[order],
        "refund_subtotal": returns[order],
        "refund_total_tax": refund_tax[order],
        "order_adjusted_total": (total_price - returns - refund_tax)[order],
        "line_item_count": rng.integers(1, 5, n),
        "gross_sales": gross[order],
        "discounts": discounts[order],
        "returns": returns[order],
        "net_sales": net[order],
    })
    frame.loc[frame["is_test_order"], "email"] = "shop-staff@example.com"  # staff test the shop
    return frame


def _daily_shop(orders_cents: pd.DataFrame, shop: Shop) -> pd.DataFrame:
    """shopify__daily_shop over valid orders (cents), by UTC date of created_timestamp."""
    valid = orders_cents[~orders_cents["is_test_order"]
                         & orders_cents["cancelled_timestamp"].isna()]
    money = ["order_adjusted_total", "shipping_cost", "refund_subtotal", "refund_total_tax",
             "total_discounts", "gross_sales", "discounts", "returns", "net_sales"]
    daily = valid.groupby(valid["created_timestamp"].str[:10]).agg(
        count_orders=("order_id", "size"), count_line_items=("line_item_count", "sum"),
        count_customers=("customer_id", "nunique"), count_customer_emails=("email", "nunique"),
        **{m: (m, "sum") for m in money})
    daily["avg_order_value"] = daily["order_adjusted_total"] / daily["count_orders"]
    calendar = pd.date_range(FIRST_DAY, LAST_DAY).strftime("%Y-%m-%d")
    daily = daily.reindex(calendar, fill_value=0).rename_axis("date_day").reset_index()
    for m in [*money, "avg_order_value"]:
        daily[m] = (daily[m] / 100).round(2)
    return daily.assign(
        shop_id=shop.shop_id, name=shop.name, domain=shop.domain, is_deleted=False,
        currency=shop.currency, iana_timezone=shop.iana_timezone,
        created_at=FIRST_DAY.strftime("%Y-%m-%d %H:%M:%S"),
        source_relation=shop.source_relation)[DAILY_SHOP_COLUMNS]


def generate(seed: int = 15, shop: Shop = ACME) -> FivetranShop:
    """The shop's three tables and the truth (see the module docstring)."""
    rng = np.random.default_rng(seed)
    weeks = _weeks(FIRST_MONDAY.strftime("%Y-%m-%d"), N_WEEKS)
    spend_cents, net_sales_cents, contributions = _weekly_truth(rng, weeks)
    ad_report = _ad_report(rng, weeks, spend_cents, shop)
    orders_cents = _orders(rng, _daily_net_sales(rng, weeks, net_sales_cents), shop)
    daily_shop = _daily_shop(orders_cents, shop)
    money = ["total_discounts", "total_line_items_price", "total_price", "total_tax",
             "subtotal_price", "shipping_cost", "refund_subtotal", "refund_total_tax",
             "order_adjusted_total", "gross_sales", "discounts", "returns", "net_sales"]
    orders = orders_cents.assign(**{m: orders_cents[m] / 100 for m in money})[ORDERS_COLUMNS]

    full = slice(1, N_WEEKS - 1)
    days_per_week = [len(_days_in_week(w)) for w in weeks]
    scale = spend_cents.max(axis=0) / 100
    truth = {
        "description": (
            "generated: a shop and its ad accounts in Fivetran dbt package layouts "
            "(dbt_ad_reporting ad_reporting__ad_report, dbt_shopify shopify__orders and "
            "shopify__daily_shop); 5 channels, geometric adstock + Hill; KPI = daily_shop "
            "net_sales = net_sales of valid orders (not test, not cancelled); drop the partial "
            "first and last weeks; true ROI over the full weeks"),
        "kpi": {"table": "shopify__daily_shop", "column": "net_sales", "date_column": "date_day",
                "orders_table": "shopify__orders",
                "valid_orders": "not is_test_order and cancelled_timestamp is null",
                "order_date": "UTC date of created_timestamp"},
        "currency": shop.currency,
        "week_start": "monday",
        "first_day": FIRST_DAY.strftime("%Y-%m-%d"),
        "last_day": LAST_DAY.strftime("%Y-%m-%d"),
        "partial_weeks": [weeks[0].strftime("%Y-%m-%d"), weeks[-1].strftime("%Y-%m-%d")],
        "first_full_week": weeks[1].strftime("%Y-%m-%d"),
        "last_full_week": weeks[-2].strftime("%Y-%m-%d"),
        "n_full_weeks": N_WEEKS - 2,
        "channels": CHANNELS,
        "channel_rules": CHANNEL_RULES,
        "true_roi": _roi(contributions[full], spend_cents[full] / 100, CHANNELS),
        "media": {"adstock": "geometric", "saturation": "hill", "max_lag": MAX_LAG,
                  "scale": "the channel's largest weekly spend",
                  "params": {c: {**MEDIA[c], "scale": float(scale[i])}
                             for i, c in enumerate(CHANNELS)}},
        "weekly": [{"week_start": w.strftime("%Y-%m-%d"), "days": days_per_week[t],
                    "full_week": days_per_week[t] == 7,
                    "net_sales": int(net_sales_cents[t]) / 100,
                    "spend": {c: int(spend_cents[t, i]) / 100 for i, c in enumerate(CHANNELS)}}
                   for t, w in enumerate(weeks)],
    }
    return FivetranShop(ad_report, daily_shop, orders, truth, shop)


def generate_markets(markets: tuple[str, ...] = ("de", "nl"), seed: int = 16
                     ) -> dict[str, FivetranShop]:
    """One brand's shops in several markets, each with its own truth (new draws: seed, seed +
    1, ...). :func:`union` stacks their tables as Fivetran's packages union connectors."""
    return {market: generate(seed + n, market_shop(market, n + 1))
            for n, market in enumerate(markets)}


def union(shops: dict[str, FivetranShop]) -> dict[str, pd.DataFrame]:
    """The tables of several shops as one relation each (file stem -> frame), rows told apart
    by source_relation, account_id and shop_id as in a multi-connector Fivetran project."""
    return {Path(name).stem: pd.concat([getattr(shop, attribute) for shop in shops.values()],
                                       ignore_index=True)
            for name, attribute in zip(TABLE_FILES, ("ad_report", "daily_shop", "orders"),
                                       strict=True)}


if __name__ == "__main__":
    print(generate().write(FIVETRAN_SHOP_DIR))
