"""How every number (and every column id) is written for a reader: the report, the agents'
prose and the app.

One module, so a figure reads the same everywhere (precision, unit, thousands separator) and
the Proofreader's parser (``agents.numbers.extract_numbers``) can read back exactly what these
functions write. A missing value (None, NaN, ±inf) is written as :data:`MISSING`, which holds
no digit, so it is never mistaken for a number.
"""

from __future__ import annotations

import math

MISSING = "—"
# Suffixes of compact money, largest first: (suffix, scale, decimals shown).
MONEY_SUFFIXES = (("B", 1e9, 2), ("M", 1e6, 2), ("K", 1e3, 1))
# Below this, money is written in whole units ("9,999"); "K" starts at 10K so every compact
# amount keeps at least three significant digits ("10.0K", not "1.2K").
MONEY_COMPACT_FROM = 1e4
# Words of a column id written in capitals or their own spelling by fmt_name.
NAME_WORDS = {"pmax": "PMax", "kpi": "KPI", "roi": "ROI", "tv": "TV", "ooh": "OOH"}


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fmt_num(value: float | None, decimals: int = 2) -> str:
    """``1234.5 -> '1,234.50'``: thousands separator, fixed decimals."""
    value = _finite(value)
    return MISSING if value is None else f"{value:,.{decimals}f}"


def fmt_int(value: float | None) -> str:
    """``1234.4 -> '1,234'``: a count or a whole amount."""
    value = _finite(value)
    return MISSING if value is None else f"{round(value):,d}"


def fmt_pct(fraction: float | None, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.131 -> '13.1%'``."""
    fraction = _finite(fraction)
    return MISSING if fraction is None else f"{fraction * 100:.{decimals}f}%"


def fmt_roi(value: float | None) -> str:
    """ROI (KPI per unit of spend) with two decimals: ``2.934 -> '2.93'``."""
    return fmt_num(value, 2)


def fmt_interval(low: float | None, high: float | None) -> str:
    """A 90% ROI interval: ``1.20 – 3.40``."""
    return f"{fmt_roi(low)} – {fmt_roi(high)}"


def fmt_money(value: float | None, currency: str = "") -> str:
    """Compact amount: ``1_234_567 -> 'LCU 1.23M'``, ``45_600 -> 'LCU 45.6K'``,
    ``9_870 -> 'LCU 9,870'``; without a currency just the amount."""
    value = _finite(value)
    if value is None:
        return MISSING
    text = f"{value:,.0f}"
    if abs(value) >= MONEY_COMPACT_FROM:
        for suffix, scale, decimals in MONEY_SUFFIXES:
            if abs(value) >= scale:
                text = f"{value / scale:,.{decimals}f}{suffix}"
                break
    return f"{currency} {text}".strip()


def fmt_signed_money(value: float | None, currency: str = "") -> str:
    """A change in money, always signed: ``350_000 -> '+LCU 350.0K'``, ``-5e4 -> '-LCU 50.0K'``."""
    value = _finite(value)
    if value is None:
        return MISSING
    return ("-" if value < 0 else "+") + fmt_money(abs(value), currency)


def fmt_signed_pct(fraction: float | None, decimals: int = 1) -> str:
    """A relative change, always signed: ``0.163 -> '+16.3%'``."""
    fraction = _finite(fraction)
    if fraction is None:
        return MISSING
    return ("-" if fraction < 0 else "+") + fmt_pct(abs(fraction), decimals)


def fmt_name(name: str) -> str:
    """A channel or column id for a business reader: ``google_pmax -> 'Google PMax'``."""
    words = str(name).removeprefix("spend_").removeprefix("ctrl_").split("_")
    return " ".join(NAME_WORDS.get(w.lower(), w.capitalize()) for w in words if w)
