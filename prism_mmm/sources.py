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
    input_series,
    one_series,
    validate_frame,
)


def build_input(cfg, spend_weekly, kpi_weekly) -> SeriesInput:
    """What a build loads, whatever the source (models ``stg_input__weeks`` and
    ``stg_input__series``): the input file's series, or a warehouse source's one series.
    ``spend_weekly`` and ``kpi_weekly`` are the dbt relations, read only for a warehouse
    source."""
    if cfg.data.source == "warehouse":
        return one_series(warehouse_weeks(cfg, spend_weekly.df(), kpi_weekly.df()), cfg)
    return input_series(cfg)


def _dates(text: str, limit: int = MAX_LISTED) -> str:
    days = text.split(", ")
    return ", ".join(days[:limit]) + (f" and {len(days) - limit} more" if len(days) > limit else "")


def _joined(values: pd.Series) -> str:
    return ", ".join(v for v in values.dropna() if v)


def source_problems(cfg, spend_weekly: pd.DataFrame, kpi_weekly: pd.DataFrame) -> list[str]:
    """What the weekly tables say is wrong with the warehouse data, one line per problem."""
    warehouse = cfg.data.warehouse
    problems = []
    if kpi_weekly.empty:
        problems.append(f"{warehouse.kpi_relation} has no rows (no valid orders or shop days)")
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
                        "one currency; filter the relation to one shop or currency")
    elif currencies and currencies[0] != cfg.data.currency:
        problems.append(f"{warehouse.kpi_relation} is in {currencies[0]} but data.currency is "
                        f"{cfg.data.currency}; set data.currency: {currencies[0]}")
    if warehouse.kpi_layout == "shopify__daily_shop":
        missing = _joined(kpi_weekly.sort_values("week_start_date")["missing_days"])
        if missing:
            problems.append(f"{warehouse.kpi_relation} has no row for {_dates(missing)}: a daily "
                            "shop table needs every day (a gap would read as zero sales)")
        repeated = _joined(kpi_weekly.sort_values("week_start_date")["repeated_days"])
        if repeated:
            problems.append(f"{warehouse.kpi_relation} has several rows for {_dates(repeated)}: "
                            "one shop per series; filter the relation to one shop_id")
    return problems


def warehouse_weeks(cfg, spend_weekly: pd.DataFrame, kpi_weekly: pd.DataFrame) -> pd.DataFrame:
    """The validated weekly input (date, KPI, one column per channel) from the weekly tables
    the SQL built; partial first and last weeks left out (``int_warehouse_kpi_weekly`` keeps
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


def source_notes(con, cfg) -> list[str]:
    """What the input left out, for the build summary: the series it refused, and for a
    warehouse source the partial first and last weeks and spend outside the KPI's full
    weeks. Empty before the input tables are built."""
    from prism_mmm.warehouse import table_exists

    refused = []
    if table_exists(con, "stg_input__series"):
        refused = [f"refused {message}" for (message,) in con.execute(
            "select message from stg_input__series where status = 'refused' "
            "order by series_id").fetchall()]
    return refused + _warehouse_notes(con, cfg)


def _warehouse_notes(con, cfg) -> list[str]:
    from prism_mmm.warehouse import table_exists

    if cfg.data.source != "warehouse" or not all(
            table_exists(con, t) for t in ("int_warehouse_kpi_weekly", "int_warehouse_spend_weekly")):
        return []
    notes = []
    partial = con.execute("select week_start_date, n_days from int_warehouse_kpi_weekly "
                          "where is_partial_week order by 1").fetchall()
    if partial:
        notes.append("partial weeks left out: " + ", ".join(
            f"{week:%Y-%m-%d} ({days} of 7 days)" for week, days in partial))
    outside = con.execute(
        "select sum(spend), min(week_start_date), max(week_start_date) "
        "from int_warehouse_spend_weekly where channel is not null and week_start_date not in "
        "(select week_start_date from int_warehouse_kpi_weekly where not is_partial_week)"
    ).fetchone()
    if outside[0]:
        notes.append(f"spend outside the KPI's full weeks left out: {outside[0]:,.2f} "
                     f"{cfg.data.currency} (weeks {outside[1]:%Y-%m-%d} to {outside[2]:%Y-%m-%d})")
    return notes
