"""How the Proofreader reads numbers back from prose.

Writers format table values only through :mod:`prism_mmm.formatting`, so every displayed
number has a known precision and unit (percent of a fraction, K/M/B suffix, thousands
separator) that :func:`extract_numbers` can undo.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from prism_mmm.formatting import MONEY_SUFFIXES

# Units a written number may carry: the money suffixes prism_mmm.formatting writes, percent,
# and "bn", which prose (an LLM's summary) may use for a billion.
SUFFIX_SCALE = {"": 1.0, "%": 1.0, **{suffix: scale for suffix, scale, _ in MONEY_SUFFIXES},
                "bn": 1e9}


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
