"""A calendar of public holidays and retail events, for any year and country.

Public holidays come from the ``holidays`` package. The retail peaks it lacks are rules here:
Black Friday (the day after the fourth Thursday of November), Cyber Monday (the Monday after),
the pre-Christmas weeks (11-24 December), Christmas to New Year (25 December - 1 January),
Singles' Day (11 November), a Prime-Day-like summer sale (the second Tuesday and Wednesday of
July) and Mother's Day (its date differs by country). The dbt model ``calendar_events`` writes
:func:`calendar_events` for the configured country and the years of the data, so BI tools read
the same calendar the models use; ``int_week_events`` turns it into weekly event dummies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pandas as pd
from dateutil.easter import easter

EVENT_COLUMNS = ["event_date", "event_id", "event_name", "kind", "country"]
PUBLIC_HOLIDAYS = "public_holidays"


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th ``weekday`` (Monday = 0) of a month; n = -1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]


def _black_friday(year: int) -> list[dt.date]:
    return [_nth_weekday(year, 11, 3, 4) + dt.timedelta(days=1)]


def _cyber_monday(year: int) -> list[dt.date]:
    return [_black_friday(year)[0] + dt.timedelta(days=3)]


def _mothers_day(year: int, country: str | None) -> list[dt.date]:
    """Mother's Day where retail marks it; the second Sunday of May elsewhere."""
    if country in ("GB", "IE"):  # Mothering Sunday: three weeks before Easter
        return [easter(year) - dt.timedelta(days=21)]
    if country == "FR":  # last Sunday of May (first of June when it is Pentecost)
        day = _nth_weekday(year, 5, 6, -1)
        return [day + dt.timedelta(days=7) if day == easter(year) + dt.timedelta(days=49) else day]
    if country == "MX":
        return [dt.date(year, 5, 10)]
    if country == "ES":
        return [_nth_weekday(year, 5, 6, 1)]
    return [_nth_weekday(year, 5, 6, 2)]


# event_id -> (name, dates of one year given the country)
RETAIL_EVENTS: dict[str, tuple[str, Callable[[int, str | None], list[dt.date]]]] = {
    "black_friday": ("Black Friday", lambda y, c: _black_friday(y)),
    "cyber_monday": ("Cyber Monday", lambda y, c: _cyber_monday(y)),
    "pre_christmas": ("Pre-Christmas weeks", lambda y, c: _days(dt.date(y, 12, 11),
                                                                 dt.date(y, 12, 24))),
    "christmas": ("Christmas to New Year", lambda y, c: [
        *_days(dt.date(y, 12, 25), dt.date(y, 12, 31)), dt.date(y, 1, 1)]),
    "singles_day": ("Singles' Day", lambda y, c: [dt.date(y, 11, 11)]),
    "summer_sale": ("Summer sale (Prime-Day-like)", lambda y, c: [
        _nth_weekday(y, 7, 1, 2), _nth_weekday(y, 7, 1, 2) + dt.timedelta(days=1)]),
    "mothers_day": ("Mother's Day", _mothers_day),
}
KNOWN_EVENTS = (*RETAIL_EVENTS, PUBLIC_HOLIDAYS)


def calendar_events(
    events: Iterable[str], country: str | None, years: Iterable[int]
) -> pd.DataFrame:
    """One row per (day, event): ``EVENT_COLUMNS``. ``events`` are ids of
    :data:`KNOWN_EVENTS`; public holidays need a ``country`` (ISO 3166 code)."""
    import holidays

    events = list(events)
    unknown = sorted(set(events) - set(KNOWN_EVENTS))
    if unknown:
        raise ValueError(f"unknown calendar events {unknown}; known: {list(KNOWN_EVENTS)}")
    years = sorted(set(years))
    rows = []
    for event_id in events:
        if event_id == PUBLIC_HOLIDAYS:
            if country is None:
                raise ValueError("public_holidays needs events.country (an ISO code, e.g. US)")
            try:
                calendar = holidays.country_holidays(country, years=years)
            except NotImplementedError:
                raise ValueError(f"events.country {country!r} is not a country the holidays "
                                 "package knows (ISO 3166 alpha-2, e.g. US, GB, DE)") from None
            rows += [(day, event_id, name, "public_holiday", country)
                     for day, name in sorted(calendar.items())]
            continue
        name, dates = RETAIL_EVENTS[event_id]
        rows += [(day, event_id, name, "retail", country)
                 for year in years for day in dates(year, country)]
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["event_date"] = pd.to_datetime(frame["event_date"]).dt.date
    return frame.sort_values(["event_date", "event_id"]).reset_index(drop=True)


def calendar_for_weeks(events_config, week_start_dates: Iterable) -> pd.DataFrame:
    """The configured calendar (``events.calendar``, ``events.country``) over every year the
    weeks touch, a week covering its start day and the six days after it."""
    weeks = pd.to_datetime(pd.Series(list(week_start_dates)))
    if weeks.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    first, last = weeks.min(), weeks.max() + pd.Timedelta(days=6)
    return calendar_events(events_config.calendar, events_config.country,
                           range(first.year, last.year + 1))
