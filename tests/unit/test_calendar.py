"""The event calendar: rule-based retail events and public holidays by country, any year."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from prism_mmm.calendar import KNOWN_EVENTS, calendar_events, calendar_for_weeks
from prism_mmm.config import EventsConfig


def days(frame: pd.DataFrame, event_id: str) -> list[dt.date]:
    return frame.loc[frame["event_id"] == event_id, "event_date"].tolist()


def test_retail_peaks_fall_on_their_days_in_ordinary_and_leap_years():
    frame = calendar_events(["black_friday", "cyber_monday", "summer_sale"], None,
                            [2020, 2023, 2024])
    # The day after the fourth Thursday of November (2020 is a leap year).
    assert days(frame, "black_friday") == [dt.date(2020, 11, 27), dt.date(2023, 11, 24),
                                           dt.date(2024, 11, 29)]
    assert days(frame, "cyber_monday") == [dt.date(2020, 11, 30), dt.date(2023, 11, 27),
                                           dt.date(2024, 12, 2)]
    # The second Tuesday of July and the day after.
    assert days(frame, "summer_sale")[-2:] == [dt.date(2024, 7, 9), dt.date(2024, 7, 10)]


def test_christmas_runs_into_the_new_year_and_pre_christmas_is_two_weeks():
    frame = calendar_events(["christmas", "pre_christmas"], None, [2024])
    christmas = days(frame, "christmas")
    assert dt.date(2024, 1, 1) in christmas and dt.date(2024, 12, 25) in christmas
    assert dt.date(2024, 12, 31) in christmas and len(christmas) == 8
    pre = days(frame, "pre_christmas")
    assert pre[0] == dt.date(2024, 12, 11) and pre[-1] == dt.date(2024, 12, 24)


@pytest.mark.parametrize(("country", "mothers_day", "holiday", "holiday_name"), [
    ("US", dt.date(2024, 5, 12), dt.date(2024, 5, 27), "Memorial Day"),
    ("GB", dt.date(2024, 3, 10), dt.date(2024, 5, 27), "Spring Bank Holiday"),
    ("DE", dt.date(2024, 5, 12), dt.date(2024, 10, 3), "German Unity Day"),
])
def test_country_specific_days(country, mothers_day, holiday, holiday_name):
    frame = calendar_events(["mothers_day", "public_holidays"], country, [2024])
    assert days(frame, "mothers_day") == [mothers_day]
    public = frame[frame["event_id"] == "public_holidays"].set_index("event_date")
    assert holiday_name in public.loc[holiday, "event_name"]
    assert set(frame["country"]) == {country}


def test_a_leap_day_holiday_calendar_and_weeks_across_new_year():
    # Weeks from 2019-12-30 (which holds 1 January 2020) to the week of 29 February 2020.
    weeks = pd.date_range("2019-12-30", "2020-02-24", freq="W-MON")
    frame = calendar_for_weeks(EventsConfig(country="US", calendar=["christmas",
                                                                    "public_holidays"]), weeks)
    assert dt.date(2020, 1, 1) in days(frame, "christmas")
    assert dt.date(2020, 2, 17) in days(frame, "public_holidays")  # Presidents' Day 2020
    assert set(pd.to_datetime(frame["event_date"]).dt.year) <= {2019, 2020}


def test_unknown_events_and_a_missing_country_are_clear_errors():
    with pytest.raises(ValueError, match="unknown calendar events"):
        calendar_events(["black_thursday"], None, [2024])
    with pytest.raises(ValueError, match="needs events.country"):
        calendar_events(["public_holidays"], None, [2024])
    with pytest.raises(ValueError, match="not a country"):
        calendar_events(["public_holidays"], "XX", [2024])
    with pytest.raises(ValueError, match="public_holidays but events.country"):
        EventsConfig(calendar=["public_holidays"])
    with pytest.raises(ValueError, match="unknown events"):
        EventsConfig(calendar=["boxing_week"])
    assert set(EventsConfig().calendar) <= set(KNOWN_EVENTS)
