"""How numbers are written in prose, and how the Proofreader reads them back.

Writers format table values only through these helpers, so every displayed number has a known
precision and unit (percent of a fraction, K/M suffix, thousands separator) that
:func:`extract_numbers` can undo.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SUFFIX_SCALE = {"": 1.0, "%": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9}


def fmt_num(value: float, decimals: int = 2) -> str:
    """``1234.5 -> '1,234.50'``: thousands separator, fixed decimals."""
    return f"{value:,.{decimals}f}"


def fmt_int(value: float) -> str:
    return f"{round(value):,d}"


def fmt_pct(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.131 -> '13.1%'``."""
    return f"{fraction * 100:.{decimals}f}%"


def fmt_roi(value: float) -> str:
    """ROI (KPI per unit of spend) with two decimals: ``2.934 -> '2.93'``."""
    return f"{value:.2f}"


def fmt_money(value: float, currency: str = "") -> str:
    """Compact amount: ``1_234_567 -> 'LCU 1.23M'``, ``45_600 -> 'LCU 45.6K'``."""
    magnitude = abs(value)
    if magnitude >= 1e9:
        text = f"{value / 1e9:.2f}B"
    elif magnitude >= 1e6:
        text = f"{value / 1e6:.2f}M"
    elif magnitude >= 1e4:
        text = f"{value / 1e3:.1f}K"
    else:
        text = f"{value:,.0f}"
    return f"{currency} {text}".strip()


@dataclass(frozen=True)
class NumberToken:
    """One number as written: the text, its value in the written unit and its precision."""

    text: str
    value: float
    decimals: int
    suffix: str  # '', '%', 'K', 'M', 'B', 'bn'
    is_date: bool = False

    @property
    def scaled(self) -> float:
        """The value in plain units (``1.2M -> 1_200_000``; percent stays in percent)."""
        return self.value * SUFFIX_SCALE[self.suffix]

    @property
    def tolerance(self) -> float:
        """Half a unit of the last displayed digit, in plain units."""
        return 0.5 * 10.0 ** (-self.decimals) * SUFFIX_SCALE[self.suffix] + 1e-9


# A number is not part of an identifier (g2, meta_2, v1.1) nor the tail of another number.
_TOKEN = re.compile(
    r"(?<![\w.\-])(?P<date>\d{4}-\d{2}-\d{2})(?![\w])"
    r"|(?<![\w.,])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<suffix>%|K\b|M\b|B\b|bn\b))?"
)


def extract_numbers(text: str) -> list[NumberToken]:
    """Every number written in ``text`` (dates as whole tokens; signs are ignored)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        if match.group("date"):
            tokens.append(NumberToken(match.group("date"), math.nan, 0, "", is_date=True))
            continue
        raw = match.group("num")
        digits = raw.replace(",", "")
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        suffix = match.group("suffix") or ""
        tokens.append(NumberToken(match.group(0).strip(), float(digits), decimals, suffix))
    return tokens
