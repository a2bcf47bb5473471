"""One way to write numbers (report and app), and the Proofreader reads back what it writes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.numbers import extract_numbers
from prism_mmm.formatting import (
    MISSING,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_name,
    fmt_num,
    fmt_pct,
    fmt_roi,
    fmt_signed_money,
    fmt_signed_pct,
)

AMOUNTS = st.floats(min_value=-5e12, max_value=5e12, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("value", "currency", "written"),
    [
        (1_234_567, "LCU", "LCU 1.23M"),
        (45_600, "LCU", "LCU 45.6K"),
        (9_870.4, "LCU", "LCU 9,870"),
        (2_500_000_000, "EUR", "EUR 2.50B"),
        (-1_500_000, "LCU", "LCU -1.50M"),
        (350_000, "", "350.0K"),
        (12, "", "12"),
    ],
)
def test_money(value, currency, written):
    assert fmt_money(value, currency) == written


def test_numbers_percentages_and_roi():
    assert fmt_num(1234.5) == "1,234.50"
    assert fmt_num(0.98765, 3) == "0.988"
    assert fmt_int(1234.4) == "1,234"
    assert fmt_pct(0.131) == "13.1%"
    assert fmt_pct(0.5, 0) == "50%"
    assert fmt_roi(2.934) == "2.93"
    assert fmt_interval(1.2, 3.4) == "1.20 – 3.40"
    assert fmt_signed_money(350_000, "LCU") == "+LCU 350.0K"
    assert fmt_signed_money(-50_000, "LCU") == "-LCU 50.0K"
    assert fmt_signed_pct(0.163) == "+16.3%" and fmt_signed_pct(-0.02) == "-2.0%"


def test_names_for_a_business_reader():
    assert fmt_name("google_pmax") == "Google PMax"
    assert fmt_name("spend_tv_2019") == "TV 2019"
    assert fmt_name("meta_facebook") == "Meta Facebook"


@pytest.mark.parametrize("missing", [None, math.nan, math.inf, -math.inf])
def test_a_missing_value_is_written_as_no_number(missing):
    for written in (fmt_money(missing, "LCU"), fmt_num(missing), fmt_int(missing),
                    fmt_pct(missing), fmt_roi(missing), fmt_signed_money(missing, "LCU"),
                    fmt_signed_pct(missing)):
        assert MISSING in written
        assert extract_numbers(written) == []


def _read_back(text: str):
    tokens = extract_numbers(text)
    assert len(tokens) == 1, (text, tokens)
    return tokens[0]


@given(AMOUNTS)
def test_the_proofreader_reads_money_back(value):
    token = _read_back(fmt_money(value, "LCU"))
    assert abs(token.scaled - abs(value)) <= token.tolerance * (1 + 1e-9) + 1e-6 * abs(value)


@given(AMOUNTS, st.integers(min_value=0, max_value=4))
def test_the_proofreader_reads_numbers_back(value, decimals):
    token = _read_back(fmt_num(value, decimals))
    assert token.decimals == decimals
    assert abs(token.scaled - abs(value)) <= token.tolerance + 1e-9 * abs(value)


@given(st.floats(min_value=-100, max_value=100, allow_nan=False), st.integers(0, 3))
def test_the_proofreader_reads_percentages_back(fraction, decimals):
    token = _read_back(fmt_pct(fraction, decimals))
    assert token.suffix == "%"
    assert abs(token.scaled - abs(fraction) * 100) <= token.tolerance + 1e-9 * abs(fraction)


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_the_proofreader_reads_roi_and_counts_back(value):
    roi = _read_back(fmt_roi(value))
    assert roi.decimals == 2 and abs(roi.scaled - abs(value)) <= roi.tolerance + 1e-9 * abs(value)
    count = _read_back(fmt_int(value))
    assert count.decimals == 0 and abs(count.scaled - abs(value)) <= count.tolerance


@given(AMOUNTS)
def test_the_proofreader_reads_signed_changes_back(value):
    money = _read_back(fmt_signed_money(value, "LCU"))
    assert abs(money.scaled - abs(value)) <= money.tolerance * (1 + 1e-9) + 1e-6 * abs(value)
    pct = _read_back(fmt_signed_pct(value / 1e12))
    assert pct.suffix == "%" and abs(pct.scaled - abs(value) / 1e10) <= pct.tolerance + 1e-9
