"""Warehouse sources: the weekly input built from daily tables in Fivetran's layouts.

The SQL staging models map ad spend to channels and turn days into weeks
(``stg_warehouse__*``, ``int_warehouse_*_weekly``); :func:`warehouse_weeks` checks what they
built and shapes it as the input file would be, then runs the input file's own validation, so
both paths refuse the same problems. Every problem is listed at once, each naming its platform,
campaign, currency or dates.
"""

from __future__ import annotations

import pandas as pd

from prism_mmm.ingest import (
    MAX_LISTED,
    InputError,
    Profile,
    SeriesInput,
    check_only_series,
    gather_series,
    input_series,
    validate_frame,
)
from prism_mmm.series import SERIES_ID


def build_input(cfg, spend_weekly, kpi_weekly) -> SeriesInput:
    """What a build loads, whatever the source (models ``stg_input__weeks`` and
    ``stg_input__series``): the input file's series, or a warehouse source's series.
    ``spend_weekly`` and ``kpi_weekly`` are the dbt relations, read only for a warehouse
    source."""
    if cfg.data.source == "warehouse":
        return warehouse_series(cfg, spend_weekly.df(), kpi_weekly.df())
    return input_series(cfg)


def warehouse_series(cfg, spend_weekly: pd.DataFrame, kpi_weekly: pd.DataFrame) -> SeriesInput:
    """The series of a warehouse source, each validated on its own rows of the weekly tables
    (``data.warehouse.series_mapping``; none: the relations are one series, named by
    ``data.dataset``). A series with a problem is refused naming it; the others go on."""
    data = cfg.data
    keys = list(data.series_columns)
    rules = data.warehouse.series_mapping
    series = ([(data.warehouse_series_id(rule), rule.key) for rule in rules] if rules
              else [(data.dataset, {})])
    if data.only_series:
        check_only_series(data.only_series, [series_id for series_id, _ in series],
                          "data.warehouse.series_mapping")
        series = [(series_id, key) for series_id, key in series
                  if series_id in data.only_series]
    candidates = []
    for series_id, key in series:
        spend = spend_weekly[spend_weekly[SERIES_ID] == series_id]
        kpi = kpi_weekly[kpi_weekly[SERIES_ID] == series_id]

        def typed(spend=spend, kpi=kpi):
            return warehouse_weeks(cfg, spend, kpi)

        candidates.append((series_id, key, len(kpi), typed))
    return gather_series(candidates, keys, data.date_column)


def _dates(text: str, limit: int = MAX_LISTED) -> str:
    days = text.split(", ")
    return ", ".join(days[:limit]) + (f" and {len(days) - limit} more" if len(days) > limit else "")


def _joined(values: pd.Series) -> str:
    return ", ".join(v for v in values.dropna() if v)


def source_problems(cfg, spend_weekly: pd.DataFrame, kpi_weekly: pd.DataFrame) -> list[str]:
    """What one series' rows of the weekly tables say is wrong with the warehouse data, one
    line per problem."""
    warehouse = cfg.data.warehouse
    # With several series the fix is a narrower series rule; with one, a filter on the relation.
    one_shop = ("narrow the series' kpi_where in data.warehouse.series_mapping to one shop"
                if warehouse.series_mapping else "filter the relation to one shop")
    problems = []
    if kpi_weekly.empty:
        problems.append(f"{warehouse.kpi_relation} has no rows (no valid orders or shop days"
                        + (" matching the series' kpi_where)" if warehouse.series_mapping else ")"))
    unmapped = spend_weekly[spend_weekly["channel"].isna()]
    if not unmapped.empty:
        totals = unmapped.groupby("unmapped")["spend"].sum().sort_values(ascending=False)
        listed = ", ".join(f"{name!r} ({total:,.2f})" for name, total in totals.head(MAX_LISTED).items())
        more = len(totals) - MAX_LISTED
        problems.append(
            f"spend in {warehouse.spend_relation} matches no rule of "
            f"data.warehouse.channel_mapping: {listed}" + (f" and {more} more" if more > 0 else "")
            + "; add a rule (platform, and campaign_name_contains) for each")
    negative = spend_weekly.dropna(subset=["negative_days"])
    for row in negative.itertuples():
        problems.append(f"spend in {warehouse.spend_relation} is negative for "
                        f"{row.channel or row.unmapped} on {_dates(row.negative_days)}")
    currencies = sorted({c for joined in kpi_weekly["currencies"].dropna()
                         for c in joined.split(", ")})
    if len(currencies) > 1:
        weeks = {c: kpi_weekly.loc[kpi_weekly["currencies"].fillna("").str.contains(c),
                                   "week_start_date"] for c in currencies}
        spans = "; ".join(f"{c} in weeks {w.min():%Y-%m-%d} to {w.max():%Y-%m-%d}"
                          for c, w in weeks.items())
        problems.append(f"{warehouse.kpi_relation} mixes currencies ({spans}): a series needs "
                        f"one currency; {one_shop}" + ("" if warehouse.series_mapping else " or currency"))
    elif currencies and currencies[0] != cfg.data.currency:
        problems.append(f"{warehouse.kpi_relation} is in {currencies[0]} but data.currency is "
                        f"{cfg.data.currency}" + (
                            ": every series of a portfolio is modelled in data.currency"
                            if warehouse.series_mapping else f"; set data.currency: {currencies[0]}"))
    if warehouse.kpi_layout == "shopify__daily_shop":
        missing = _joined(kpi_weekly.sort_values("week_start_date")["missing_days"])
        if missing:
            problems.append(f"{warehouse.kpi_relation} has no row for {_dates(missing)}: a daily "
                            "shop table needs every day (a gap would read as zero sales)")
        repeated = _joined(kpi_weekly.sort_values("week_start_date")["repeated_days"])
        if repeated:
            problems.append(f"{warehouse.kpi_relation} has several rows for {_dates(repeated)}: "
                            f"one shop per series; {one_shop}")
    return problems


def warehouse_weeks(cfg, spend_weekly: pd.DataFrame, kpi_weekly: pd.DataFrame) -> pd.DataFrame:
    """The validated weekly input of one series (date, KPI, one column per channel) from its
    rows of the weekly tables the SQL built; partial first and last weeks left out (``int_warehouse_kpi_weekly`` keeps
    them, flagged). Raises :class:`~prism_mmm.ingest.InputError` listing every problem."""
    data, warehouse = cfg.data, cfg.data.warehouse
    problems = source_problems(cfg, spend_weekly, kpi_weekly)
    if problems:
        raise InputError("; ".join(problems))
    weeks = kpi_weekly.loc[~kpi_weekly["is_partial_week"]].sort_values("week_start_date")
    spend = (spend_weekly.pivot_table(index="week_start_date", columns="channel",
                                      values="spend", aggfunc="sum")
             .reindex(index=weeks["week_start_date"], columns=cfg.channels).fillna(0.0))
    # As text, the way an input file arrives (repr round-trips a float exactly): the file's
    # validation then applies unchanged.
    def text(values) -> list[str]:
        return [repr(float(v)) for v in values]

    frame = pd.DataFrame({data.date_column: weeks["week_start_date"].dt.strftime("%Y-%m-%d"),
                          data.kpi: text(weeks["kpi"]),
                          **{channel: text(spend[channel]) for channel in cfg.channels}})
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    try:
        return validate_frame(frame, data.date_column, data.kpi, cfg.channels, [],
                              holdout_weeks=cfg.holdout_weeks)
    except InputError as exc:
        raise InputError(f"the weeks built from {warehouse.spend_relation} and "
                         f"{warehouse.kpi_relation} (row n = full week n): {exc}") from None


def quoted_relation(name: str) -> str:
    """A relation name from the configuration (checked by ``RELATION_NAME``), quoted part by
    part for SQL."""
    from prism_mmm.config import check_relation_name

    try:
        check_relation_name(name)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return ".".join('"' + part + '"' for part in name.split("."))


def _columns(con, relation: str) -> list[str]:
    import duckdb

    try:
        return [c.lower() for c in con.execute(f"select * from {quoted_relation(relation)} "
                                               "limit 0").df().columns]
    except duckdb.CatalogException:
        raise InputError(f"relation {relation} is not in the warehouse") from None


def _require(relation: str, columns: list[str], needed: list[str]) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InputError(f"relation {relation} lacks column(s) {', '.join(missing)}; it has: "
                         f"{', '.join(columns)}")


def profile_warehouse(con, spend_relation: str, kpi_relation: str, kpi: str | None = None
                      ) -> tuple[dict, Profile]:
    """What ``prism init`` proposes for warehouse tables: ``data.warehouse`` (the KPI layout
    from the relation's columns, one channel per ad platform), the KPI column and currency,
    and a :class:`~prism_mmm.ingest.Profile` for the knowledge scaffold."""
    from prism_mmm.identifiers import check_identifier, to_snake_case

    spend_columns = _columns(con, spend_relation)
    _require(spend_relation, spend_columns, ["date_day", "platform", "spend"])
    kpi_columns = _columns(con, kpi_relation)
    if {"created_timestamp", "is_test_order", "cancelled_timestamp"} <= set(kpi_columns):
        layout, day = "shopify__orders", "cast(created_timestamp as date)"
    elif "date_day" in kpi_columns:
        layout, day = "shopify__daily_shop", "cast(date_day as date)"
    else:
        raise InputError(f"relation {kpi_relation} has neither the shopify__daily_shop layout "
                         "(date_day) nor the shopify__orders one (created_timestamp, "
                         f"cancelled_timestamp, is_test_order); it has: {', '.join(kpi_columns)}")
    kpi = kpi or "net_sales"
    _require(kpi_relation, kpi_columns, [kpi, "currency"])
    check_identifier(kpi, "KPI column", reserved=frozenset())
    _one_shop(con, spend_relation, spend_columns, kpi_relation, kpi_columns)
    currencies = [c for (c,) in con.execute(
        f"select distinct currency from {quoted_relation(kpi_relation)} order by 1").fetchall()]
    if len(currencies) != 1:
        raise InputError(f"relation {kpi_relation} has currencies {currencies}: a series needs "
                         "exactly one; filter the relation to one shop or currency first")
    platforms = con.execute(
        f"select platform, sum(spend) as spend from {quoted_relation(spend_relation)} "
        "group by platform order by spend desc").df()
    rules = []
    for platform in platforms["platform"]:
        channel = to_snake_case(str(platform).removesuffix("_ads"))
        check_identifier(channel, "channel")
        rules.append({"platform": str(platform), "channel": channel})
    n_days = con.execute(f"select count(distinct {day}) from {quoted_relation(kpi_relation)}"
                         ).fetchone()[0]
    warehouse = {"spend_relation": spend_relation, "kpi_relation": kpi_relation,
                 "kpi_layout": layout, "week_start": "monday", "channel_mapping": rules}
    spend = ", ".join(f"{p} {s:,.2f}" for p, s in
                      zip(platforms["platform"], platforms["spend"], strict=True))
    notes = [f"spend per platform: {spend}",
             ("one channel per platform: split a platform by campaign with "
              "campaign_name_contains rules in data.warehouse.channel_mapping")]
    found = Profile(date_column="date", frequency=f"daily ({n_days} days), in weeks", kpi=kpi,
                    channels=[r["channel"] for r in rules], controls=[], rename={},
                    n_weeks=n_days // 7, notes=notes)
    return {"warehouse": warehouse, "kpi": kpi, "currency": currencies[0]}, found


def _one_shop(con, spend_relation: str, spend_columns: list[str], kpi_relation: str,
              kpi_columns: list[str]) -> None:
    """Refuse, with the rules to write, a KPI relation that holds several shops: which ad
    accounts belong to which shop is the user's knowledge, not something init can guess."""
    shop_column = next((c for c in ("shop_id", "source_relation") if c in kpi_columns), None)
    if shop_column is None:
        return
    shops = [str(v) for (v,) in con.execute(
        f'select distinct cast("{shop_column}" as varchar) from {quoted_relation(kpi_relation)} '
        "order by 1").fetchall()]
    if len(shops) < 2:
        return
    account = "account_id" if "account_id" in spend_columns else "platform"
    label = ", account_name" if "account_name" in spend_columns and account == "account_id" else ""
    accounts = con.execute(
        f'select distinct cast("{account}" as varchar){label} '
        f"from {quoted_relation(spend_relation)} order by 1").fetchall()
    listed = ", ".join(" ".join([row[0], *(f"({v})" for v in row[1:])]) for row in accounts)
    example = "; ".join(f"- {{key: {{market: <name>}}, kpi_where: {{{shop_column}: [{shop}]}}, "
                        f"spend_where: {{{account}: [<its accounts>]}}}}" for shop in shops[:2])
    raise InputError(
        f"relation {kpi_relation} holds {len(shops)} shops ({shop_column} {', '.join(shops)}): "
        "each is a series of its own. Set data.series_columns (e.g. [market]) and one rule per "
        f"shop in data.warehouse.series_mapping, naming its ad accounts ({account} in "
        f"{spend_relation}: {listed}), e.g. {example}")


def source_notes(con, cfg) -> list[str]:
    """What the input left out, for the build summary: the series it refused, and for a
    warehouse source the partial first and last weeks and spend outside the KPI's full
    weeks. Empty before the input tables are built."""
    from prism_mmm.warehouse import table_exists

    refused, refused_ids = [], set()
    if table_exists(con, "stg_input__series"):
        for series_id, message in con.execute(
                "select series_id, message from stg_input__series where status = 'refused' "
                "order by series_id").fetchall():
            refused.append(f"refused {message}")
            refused_ids.add(series_id)
    return refused + _warehouse_notes(con, cfg, refused_ids)


def _warehouse_notes(con, cfg, refused: set[str]) -> list[str]:
    """Partial weeks and spend left out of the accepted series (a refused series is left out
    whole), and the rows of no series."""
    from prism_mmm.warehouse import table_exists

    tables = ("stg_warehouse__ad_spend_daily", "stg_warehouse__kpi_daily",
              "int_warehouse_kpi_weekly", "int_warehouse_spend_weekly")
    if cfg.data.source != "warehouse" or not all(table_exists(con, t) for t in tables):
        return []
    several = bool(cfg.data.warehouse.series_mapping)

    def named(series_id: str) -> str:
        return f"{series_id}: " if several else ""

    notes = []
    partial = con.execute("select series_id, week_start_date, n_days "
                          "from int_warehouse_kpi_weekly where is_partial_week "
                          "order by 1, 2").fetchall()
    partial = [row for row in partial if row[0] not in refused]
    if partial:
        notes.append("partial weeks left out: " + ", ".join(
            f"{named(series_id)}{week:%Y-%m-%d} ({days} of 7 days)"
            for series_id, week, days in partial))
    outside = con.execute(
        "select series_id, sum(spend), min(week_start_date), max(week_start_date) "
        "from int_warehouse_spend_weekly as spend where channel is not null "
        "and series_id is not null and not exists (select 1 from int_warehouse_kpi_weekly as kpi "
        "where not kpi.is_partial_week and kpi.series_id = spend.series_id "
        "and kpi.week_start_date = spend.week_start_date) group by 1 order by 1").fetchall()
    outside = [row for row in outside if row[0] not in refused]
    if outside:
        notes.append("spend outside the KPI's full weeks left out: " + "; ".join(
            f"{named(series_id)}{total:,.2f} {cfg.data.currency} "
            f"(weeks {first:%Y-%m-%d} to {last:%Y-%m-%d})"
            for series_id, total, first, last in outside))
    unmatched = con.execute(
        "select platform, sum(spend) from stg_warehouse__ad_spend_daily where series_id is null "
        "group by 1 order by 2 desc").fetchall()
    if unmatched:
        notes.append("spend of no series (no rule of data.warehouse.series_mapping matched) left "
                     "out: " + ", ".join(f"{platform} {total:,.2f}"
                                         for platform, total in unmatched))
    kpi_days = con.execute("select count(distinct date_day), sum(kpi) from "
                           "stg_warehouse__kpi_daily where series_id is null").fetchone()
    if kpi_days[0]:
        notes.append(f"KPI of no series left out: {kpi_days[1]:,.2f} over {kpi_days[0]} days "
                     "(no kpi_where of data.warehouse.series_mapping matched)")
    return notes
