"""Series: one brand, market or geo's weekly data, fitted on its own.

Every data-layer and result table carries ``series_id``. A single input is the one-series
case of the same code: its ``series_id`` is the dataset key (``data.dataset``).
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

SERIES_ID = "series_id"

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=-]{0,79}$")


def single_series_id(frame: pd.DataFrame) -> str:
    """The one ``series_id`` of ``frame``'s rows; an error names the ids when there are several
    or the column is missing (a caller that fits one series was handed a portfolio)."""
    if SERIES_ID not in frame:
        raise ValueError(f"the frame has no {SERIES_ID} column (columns: {list(frame.columns)})")
    ids = frame[SERIES_ID].dropna().unique().tolist()
    if len(ids) != 1 or frame[SERIES_ID].isna().any():
        shown = "no series" if not ids else ", ".join(map(str, sorted(ids)[:10]))
        raise ValueError(f"expected the rows of one series, got {shown}"
                         + (" and rows without a series_id" if frame[SERIES_ID].isna().any()
                            else ""))
    return str(ids[0])


def series_id_of(values) -> str:
    """The ``series_id`` of a series' key values: the values joined by " / " (DE, or acme / DE)."""
    return " / ".join(str(v) for v in values)


def series_dir_name(series_id: str) -> str:
    """A folder name for a series' artefacts: the id itself when it is plain, else a readable
    part and a hash, so two ids never share a folder and no id escapes it ("..", "/")."""
    if _PLAIN.match(series_id) and series_id not in (".", ".."):
        return series_id
    readable = re.sub(r"[^A-Za-z0-9_]+", "_", series_id).strip("_")[:40] or "series"
    return f"{readable}-{hashlib.sha256(series_id.encode()).hexdigest()[:10]}"
