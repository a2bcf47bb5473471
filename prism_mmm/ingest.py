"""Profile and validate a user's weekly CSV before anything touches the warehouse.

Every problem is reported with its column and the row(s) it concerns (rows are counted as
lines of the file, the header being row 1, as a spreadsheet numbers them; the week is added
when it is known), all problems at once, so a user fixes the file in one pass. Nothing here
writes to the warehouse.

What is accepted, and why the rest is refused rather than guessed:

- encodings: UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, and
  Windows-1252/Latin-1 when the bytes are not UTF-8;
- delimiters: ``,`` ``;`` tab ``|`` (the one that splits the header into most fields);
- numbers: digits with a ``.`` decimal point and optional exponent; ``,`` thousands
  separators in groups of three, except in ``;``-separated files, where a comma is a decimal
  comma as often as not; no text such as ``n/a``, ``nan`` or ``inf``; at most 1e15 in size
  (larger is a unit or export error, and overflows the model's sums);
- dates, one format per file: ``YYYY-MM-DD`` (optionally with a midnight time),
  ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``DD/MM/YYYY`` or ``MM/DD/YYYY`` (also with ``-`` or ``.``;
  which one is decided by the values, and refused when they cannot tell), ``3 Jan 2022``,
  ``Jan 3, 2022``.

:func:`input_series` is what dbt loads (models ``stg_input__weeks`` and
``stg_input__series``) and what ``prism build`` checks before it copies the warehouse: one
function, so the warehouse holds exactly what was validated, whichever command built it. A
file may hold several series (``data.series_columns``): each is checked on its own, and one
bad series is refused by name without sinking the others.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from prism_mmm.config import DataConfig, PrismConfig
from prism_mmm.identifiers import UnsafeIdentifierError, check_identifier, to_snake_case
from prism_mmm.series import SERIES_ID, series_id_of

# Raw headers may carry spaces, dashes, dots, slashes, % and parentheses ("Google Search ($)");
# anything else (quotes, semicolons, backslashes, comment markers) is refused outright rather
# than silently rewritten, because it usually means a broken or hostile export.
BENIGN_HEADER = re.compile(r"[A-Za-z0-9 _\-./%()$€£&+]+")
KPI_HINTS = ("revenue", "sales", "kpi", "gmv", "conversions", "y")
SPEND_HINTS = ("spend", "cost", "google", "meta", "facebook", "instagram", "tiktok", "tv",
               "radio", "display", "search", "video", "social", "affiliate", "email", "ooh",
               "print", "youtube", "bing", "snapchat", "pinterest", "x1", "x2", "x3")
OUTCOME_HINTS = ("order", "revenue", "sales", "conversion", "customers", "transactions")
DELIMITERS = (",", ";", "\t", "|")
MAX_ABS_VALUE = 1e15
# Training weeks needed before the holdout: half a year at least, and two per regressor.
MIN_TRAIN_WEEKS = 26
# A text column with several values names series (an id) when it has at least this many rows
# per value on average; fewer looks like free text, which is refused.
MIN_SERIES_ROWS = 8
MAX_LISTED = 5
NUMBER = re.compile(r"[+-]?(?:(\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?",
                    re.ASCII)  # ASCII digits only: "１２" is not silently 12
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")


class InputError(ValueError):
    """The input file cannot be modelled as it is; the message lists every problem."""


class Limits(NamedTuple):
    """Input size limits (``data.max_input_*`` in prism.yml), checked while reading."""

    max_bytes: int = DataConfig.model_fields["max_input_bytes"].default
    max_rows: int = DataConfig.model_fields["max_input_rows"].default
    max_columns: int = DataConfig.model_fields["max_input_columns"].default

    @classmethod
    def from_config(cls, data_cfg) -> Limits:
        return cls(data_cfg.max_input_bytes, data_cfg.max_input_rows, data_cfg.max_input_columns)


DEFAULT_LIMITS = Limits()


@dataclass
class Profile:
    date_column: str
    frequency: str
    kpi: str
    channels: list[str]
    controls: list[str]
    rename: dict[str, str]
    label_columns: dict[str, str] = field(default_factory=dict)
    series_columns: list[str] = field(default_factory=list)
    n_weeks: int = 0
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # numeric columns with no role (outcomes)


# -- reading ------------------------------------------------------------------------------------
@dataclass
class RawFile:
    """The text cells of a CSV: ``frame`` (one column per header, every cell a stripped
    string; the index is the row number in the file) and how the file was read."""

    frame: pd.DataFrame
    delimiter: str
    encoding: str


def _encoding_candidates(head: bytes) -> list[str]:
    if head.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    return ["utf-8", "cp1252", "latin-1"]  # latin-1 decodes any byte: the last resort


def _pick_delimiter(sample: str, complete: bool) -> str:
    """The delimiter that splits the header into the most fields and on which most of the
    first records agree with the header (a ',' on ties). A header that merely contains a ';'
    does not win, because the data rows below it do not split on it; one ragged row among the
    first records does not change the choice (it is reported later, with its row)."""
    lines = list(io.StringIO(sample, newline=""))  # only CR/LF end a line, as in csv
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    best, best_key = ",", (0, 1)
    for delimiter in DELIMITERS:
        try:
            counts = [len(r) for r in itertools.islice(
                (r for r in csv.reader(lines, delimiter=delimiter) if any(f.strip() for f in r)),
                11)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        agree = sum(count == counts[0] for count in counts[1:])
        if 2 * agree < len(counts) - 1:
            continue
        key = (agree, counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _rows(handle: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row, fields) per record; the row is the file line the record starts on (a quoted
    cell may span lines)."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"row {start}: the file is not valid CSV ({exc}); check quotes "
                             "and delimiters from that line on") from None
        yield start, fields


def read_raw(path: str | Path, limits: Limits = DEFAULT_LIMITS,
             columns: Iterable[str] | None = None) -> RawFile:
    """Read every cell as text, so a stray word in a numeric column is found, not coerced.

    ``columns`` keeps only those raw headers (the rest is checked for shape, then dropped), so
    memory grows with the columns that are modelled, not with the width of an export. Size
    limits are checked before and while reading: an oversized file is refused, never loaded.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise InputError("the file is empty")
    if size > limits.max_bytes:
        raise InputError(f"the file is {size:,} bytes, over the limit of {limits.max_bytes:,} "
                         "(data.max_input_bytes in prism.yml)")
    with open(path, "rb") as raw:
        head = raw.read(4)
    wanted = None if columns is None else set(columns)
    for encoding in _encoding_candidates(head):
        try:
            return _read_text(path, encoding, limits, wanted)
        except UnicodeDecodeError:
            continue
    raise AssertionError("unreachable: latin-1 decodes every byte")  # pragma: no cover


def _read_text(path: Path, encoding: str, limits: Limits, wanted: set[str] | None) -> RawFile:
    with open(path, encoding=encoding, newline="") as handle:
        header_line = handle.readline()
        while header_line.strip() == "" and header_line:
            header_line = handle.readline()  # leading blank lines
        if not header_line:
            raise InputError("the file is empty")
        if "\x00" in header_line:
            raise InputError("row 1: the file contains NUL bytes: it is not a text CSV")
        handle.seek(0)
        sample = handle.read(1 << 16)
        delimiter = _pick_delimiter(sample, complete=len(sample) < 1 << 16)
        handle.seek(0)
        rows = _rows(handle, delimiter)
        first = next((r for r in rows if any(f.strip() for f in r[1])), None)
        if first is None:
            raise InputError("the file has no header row (every line is empty)")
        header_row, headers = first
        headers = [h.strip() for h in headers]
        if len(headers) > limits.max_columns:
            raise InputError(f"the file has {len(headers)} columns, over the limit of "
                             f"{limits.max_columns} (data.max_input_columns in prism.yml)")
        _check_duplicate_headers(headers)
        keep = [i for i, h in enumerate(headers) if wanted is None or h in wanted]
        cells: list[list[str]] = [[] for _ in keep]
        numbers: list[int] = []
        for row, fields in rows:
            if not any(f.strip() for f in fields):
                continue  # a blank line, or one of delimiters only, carries nothing
            if len(fields) != len(headers):
                raise InputError(
                    f"row {row} has {len(fields)} fields but the header (row {header_row}) "
                    f"has {len(headers)}: a stray {_delimiter_name(delimiter)} or a missing "
                    "value; fix that line")
            if len(numbers) >= limits.max_rows:
                raise InputError(f"the file has more than {limits.max_rows:,} data rows, the "
                                 "limit (data.max_input_rows in prism.yml)")
            for slot, index in enumerate(keep):
                cells[slot].append(fields[index].strip())
            numbers.append(row)
    if not numbers:
        raise InputError("the file has a header but no rows")
    frame = pd.DataFrame({headers[i]: cells[slot] for slot, i in enumerate(keep)},
                         index=pd.Index(numbers, name="row"), dtype=object)
    return RawFile(frame, delimiter, encoding)


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]


def _check_duplicate_headers(headers: list[str]) -> None:
    seen: dict[str, int] = {}
    problems = []
    for position, header in enumerate(headers, start=1):
        if header and header in seen:
            problems.append(f"columns {seen[header]} and {position} are both named {header!r}")
        seen.setdefault(header, position)
    if problems:
        raise InputError("; ".join(problems) + ": rename one of each pair")


def check_headers(headers: list[str]) -> dict[str, str]:
    """raw header -> safe snake_case name; refuses unsafe or colliding headers by name."""
    problems, rename = [], {}
    for raw in headers:
        safe = to_snake_case(raw)
        try:
            if not BENIGN_HEADER.fullmatch(raw):
                raise UnsafeIdentifierError(raw)
            check_identifier(safe)
        except UnsafeIdentifierError:
            problems.append(f"column {raw!r} has an unsafe name (quotes, semicolons and similar "
                            "characters are not allowed); rename it in the file")
            continue
        if safe in rename.values():
            problems.append(f"columns {raw!r} and another both map to {safe!r}; rename one")
        rename[raw] = safe
    if problems:
        raise InputError("; ".join(problems))
    return rename


# -- cells --------------------------------------------------------------------------------------
def _listing(rows: Iterable[int], values: Iterable[str] | None = None,
             weeks: Iterable[object] | None = None) -> str:
    """``row 5 (week 2022-01-10): 'n/a', row 9 ...`` for the first few, then a count."""
    rows = list(rows)
    values = list(values) if values is not None else [None] * len(rows)
    weeks = list(weeks) if weeks is not None else [None] * len(rows)
    parts = []
    for row, value, week in list(zip(rows, values, weeks))[:MAX_LISTED]:
        text = f"row {row}"
        if week is not None and not pd.isna(week):
            text += f" (week {_iso(week)})"
        if value is not None:
            text += f": {value!r}"
        parts.append(text)
    more = len(rows) - MAX_LISTED
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _iso(day: object) -> str:
    return str(np.datetime64(day, "D"))


class _DateFormat(NamedTuple):
    label: str
    pattern: re.Pattern[str]


DATE_FORMATS = (
    _DateFormat("YYYY-MM-DD", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)),
    _DateFormat("YYYY-MM-DD hh:mm", re.compile(
        r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?", re.ASCII)),
    _DateFormat("YYYY/MM/DD", re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})", re.ASCII)),
    _DateFormat("YYYY.MM.DD", re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", re.ASCII)),
    _DateFormat("DD/MM/YYYY or MM/DD/YYYY", re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)),
    _DateFormat("DD-MM-YYYY or MM-DD-YYYY", re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})", re.ASCII)),
    _DateFormat("DD.MM.YYYY or MM.DD.YYYY", re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", re.ASCII)),
    _DateFormat("D Mon YYYY", re.compile(r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{4})", re.ASCII)),
    _DateFormat("Mon D, YYYY", re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})", re.ASCII)),
)


def _date_format(value: str) -> tuple[_DateFormat, re.Match[str]] | None:
    for fmt in DATE_FORMATS:
        found = fmt.pattern.fullmatch(value)
        if found:
            return fmt, found
    return None


def _month(name: str) -> int:
    """1-12 for an English month name or its three-letter (or "Sept") abbreviation, else 0
    (which makes the date invalid, and reported)."""
    lower = name.lower()
    for number, full in enumerate(MONTH_NAMES, start=1):
        if lower in (full, full[:3]) or (number == 9 and lower == "sept"):
            return number
    return 0


def _ymd(fmt: _DateFormat, found: re.Match[str], day_first: bool) -> tuple[int, int, int]:
    groups = found.groups()
    if fmt.label.startswith("YYYY"):
        return int(groups[0]), int(groups[1]), int(groups[2])
    if fmt.label == "D Mon YYYY":
        return int(groups[2]), _month(groups[1]), int(groups[0])
    if fmt.label == "Mon D, YYYY":
        return int(groups[2]), _month(groups[0]), int(groups[1])
    first, second = int(groups[0]), int(groups[1])
    return (int(groups[2]), second, first) if day_first else (int(groups[2]), first, second)


def parse_dates(values: pd.Series, column: str) -> np.ndarray:
    """Dates of a column (``datetime64[D]``) in one recognised format; raises
    :class:`InputError` naming the rows of mixed, unrecognised, ambiguous or invalid dates.
    ``column`` is the column as messages show it (quoted)."""
    found: dict[str, list[tuple[int, str, re.Match[str]]]] = {}
    unrecognised: list[tuple[int, str]] = []
    formats: dict[str, _DateFormat] = {}
    for row, value in values.items():
        match = _date_format(value)
        if match is None:
            unrecognised.append((row, value))
            continue
        fmt, groups = match
        formats[fmt.label] = fmt
        found.setdefault(fmt.label, []).append((row, value, groups))
    if unrecognised or len(found) > 1:
        examples = [f"{label}: {_listing([r for r, _, _ in hits[:3]], [v for _, v, _ in hits[:3]])}"
                    for label, hits in found.items()]
        if unrecognised:
            examples.append("unrecognised: " + _listing([r for r, _ in unrecognised],
                                                        [v for _, v in unrecognised]))
        raise InputError(
            f"column {column} has dates in mixed or unrecognised formats "
            f"({'; '.join(examples)}); write every date as YYYY-MM-DD")
    label, hits = next(iter(found.items()))
    fmt = formats[label]
    day_first = _day_first(fmt, hits, column)
    days, invalid, timed = [], [], []
    for row, value, groups in hits:
        if fmt.label == "YYYY-MM-DD hh:mm" and any(int(g or 0) for g in groups.groups()[3:6]):
            timed.append((row, value))
        try:
            days.append(dt.date(*_ymd(fmt, groups, day_first)))
        except ValueError:
            invalid.append((row, value))
            days.append(dt.date(1, 1, 1))
    if invalid:
        raise InputError(f"column {column} has dates that do not exist: "
                         f"{_listing([r for r, _ in invalid], [v for _, v in invalid])}")
    if timed:
        raise InputError(f"column {column} has a time of day in "
                         f"{_listing([r for r, _ in timed], [v for _, v in timed])}: weekly "
                         "data needs dates (or midnight times) only")
    return np.array(days, dtype="datetime64[D]")


def _day_first(fmt: _DateFormat, hits: list[tuple[int, str, re.Match[str]]], column: str) -> bool:
    """For DD/MM vs MM/DD: the values decide (a first part over 12 is a day, a second part
    over 12 is a day); when none is over 12, the reading that gives weekly dates wins."""
    if " or " not in fmt.label:
        return False
    firsts = [(row, value) for row, value, g in hits if int(g.group(1)) > 12]
    seconds = [(row, value) for row, value, g in hits if int(g.group(2)) > 12]
    if firsts and seconds:
        raise InputError(
            f"column {column} mixes day-first and month-first dates: "
            f"{_listing([firsts[0][0]], [firsts[0][1]])} is DD/MM, "
            f"{_listing([seconds[0][0]], [seconds[0][1]])} is MM/DD; write every date as "
            "YYYY-MM-DD")
    if firsts or seconds:
        return bool(firsts)
    weekly = {}
    for day_first in (True, False):
        try:
            days = sorted({dt.date(*_ymd(fmt, g, day_first)) for _, _, g in hits})
        except ValueError:
            continue
        weekly[day_first] = all((b - a).days % 7 == 0 for a, b in itertools.pairwise(days))
    if weekly.get(True) and weekly.get(False) and any(
            g.group(1) != g.group(2) for _, _, g in hits):
        raise InputError(
            f"column {column}: dates such as {_listing([hits[0][0]], [hits[0][1]])} could be "
            "DD/MM or MM/DD and both readings are weekly; write every date as YYYY-MM-DD")
    return bool(weekly.get(True)) and not weekly.get(False)


def parse_numbers(values: pd.Series, column: str, delimiter: str,
                  weeks: pd.Series | None = None) -> tuple[np.ndarray, list[str]]:
    """Numbers of a column and the problems found (rows named; ``weeks`` adds the week).
    ``column`` is the column as messages show it (quoted)."""
    out = np.empty(len(values), dtype=float)
    bad, empty, huge = [], [], []
    for i, (row, text) in enumerate(values.items()):
        if text == "":
            empty.append(row)
            out[i] = np.nan
            continue
        found = NUMBER.fullmatch(text)
        if found is None or (found.group(1) and "," in found.group(1) and delimiter == ";"):
            bad.append((row, text))
            out[i] = np.nan
            continue
        number = float(text.replace(",", ""))
        if not math.isfinite(number) or abs(number) > MAX_ABS_VALUE:
            huge.append((row, text))
        out[i] = number
    week = (lambda rows: [weeks.get(r) for r in rows]) if weeks is not None else (
        lambda rows: None)
    problems = []
    if bad:
        rows, texts = [r for r, _ in bad], [t for _, t in bad]
        hint = ("numbers need '.' as the decimal point and no text such as 'n/a', 'nan' or "
                "'inf'") + ("; in a ';'-separated file a comma inside a number is ambiguous "
                            "(decimal comma or thousands separator?): remove it"
                            if delimiter == ";" else "")
        problems.append(f"column {column} has non-numeric values in "
                        f"{_listing(rows, texts, week(rows))} ({hint})")
    if empty:
        problems.append(f"column {column} is empty in {_listing(empty, None, week(empty))}")
    if huge:
        rows, texts = [r for r, _ in huge], [t for _, t in huge]
        problems.append(f"column {column} has values beyond ±{MAX_ABS_VALUE:.0e} in "
                        f"{_listing(rows, texts, week(rows))} (a unit or export error?)")
    return out, problems


# -- validation ---------------------------------------------------------------------------------
def validate_frame(
    frame: pd.DataFrame, date_column: str, kpi: str, channels: list[str], controls: list[str],
    delimiter: str = ",", holdout_weeks: int | None = None, headers: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Check a raw text frame (index = row numbers) against the configuration; returns the
    typed frame sorted by date, or raises :class:`InputError` listing every problem.

    ``headers`` maps a configured name to the file's header when they differ (data.rename),
    so a message names the column as the file has it too.
    """
    def shown(column: str) -> str:
        header = (headers or {}).get(column, column)
        return repr(column) if header == column else f"{column!r} (header {header!r} in the file)"

    wanted = [date_column, kpi, *channels, *controls]
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise InputError(
            f"configured column(s) not in the file: {', '.join(map(repr, unknown))}; "
            f"the file has: {', '.join(map(repr, frame.columns))}"
        )
    if len(set(wanted)) != len(wanted):
        raise InputError(f"a column is configured twice among date, KPI, channels and "
                         f"controls: {wanted}")
    dates = parse_dates(frame[date_column], shown(date_column))
    weeks = pd.Series(list(dates), index=frame.index)
    numeric = [kpi, *channels, *controls]
    typed = pd.DataFrame({date_column: dates.astype("datetime64[s]")}, index=frame.index)
    problems: list[str] = []
    for column in numeric:
        typed[column], found = parse_numbers(frame[column], shown(column), delimiter, weeks)
        problems += found
    if problems:
        raise InputError("; ".join(problems))

    problems += _calendar_problems(dates, frame.index, shown(date_column))
    for column in channels:
        negative = typed[column] < 0
        if negative.any():
            problems.append(f"spend column {shown(column)} is negative in "
                            f"{_listing(typed.index[negative], frame[column][negative], weeks[negative])}")
        elif (typed[column] == 0).all():
            problems.append(f"spend column {shown(column)} is zero in every week: nothing to "
                            "attribute; remove it from data.channels")
    negative_kpi = typed[kpi] < 0
    if negative_kpi.any():
        problems.append(f"KPI column {shown(kpi)} is negative in "
                        f"{_listing(typed.index[negative_kpi], frame[kpi][negative_kpi], weeks[negative_kpi])}")
    if (typed[kpi] == 0).all():
        problems.append(f"KPI column {shown(kpi)} is zero in every week: nothing to model")
    elif typed[kpi].nunique() < 2:
        problems.append(f"KPI column {shown(kpi)} is constant: nothing to model")
    if holdout_weeks is not None:
        needed = holdout_weeks + max(MIN_TRAIN_WEEKS, 2 * (len(channels) + len(controls)))
        if len(typed) < needed:
            problems.append(
                f"column {shown(date_column)} has {len(typed)} weeks; {needed} are needed "
                f"({holdout_weeks} held out plus at least {needed - holdout_weeks} to fit "
                f"{len(channels)} channel(s) and {len(controls)} control(s))")
    if problems:
        raise InputError("; ".join(problems))
    return typed.sort_values(date_column).reset_index(drop=True)


def _calendar_problems(dates: np.ndarray, rows: pd.Index, column: str) -> list[str]:
    """Duplicate, irregular and missing weeks, with their rows."""
    problems = []
    order = np.argsort(dates, kind="stable")
    ordered, ordered_rows = dates[order], np.asarray(rows)[order]
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    if len(same):
        pairs = sorted({int(i) for i in same} | {int(i) + 1 for i in same})
        weeks = sorted({_iso(ordered[i]) for i in pairs})
        hint = ("; most weeks repeat: does the file hold several series (brands, markets)? "
                "Name their id columns in data.series_columns" if len(same) * 2 >= len(dates)
                else "")
        problems.append(f"column {column} has duplicate weeks: {', '.join(weeks[:10])} "
                        f"({_listing(ordered_rows[pairs].tolist())}){hint}")
    unique_days, first = np.unique(ordered, return_index=True)
    row_of = ordered_rows[first]
    gaps = np.diff(unique_days).astype(int)
    irregular = np.flatnonzero(gaps % 7 != 0)
    if len(irregular):
        where = [f"{_iso(unique_days[i + 1])} in row {row_of[i + 1]} ({gaps[i]} days after "
                 f"{_iso(unique_days[i])} in row {row_of[i]})" for i in irregular[:MAX_LISTED]]
        problems.append(f"column {column} is not weekly: irregular dates {', '.join(where)}")
    else:
        missing = [(unique_days[i] + np.timedelta64(7 * k, "D"), row_of[i], row_of[i + 1])
                   for i in np.flatnonzero(gaps > 7) for k in range(1, gaps[i] // 7)]
        if missing:
            listed = [f"{_iso(day)} (between row {before} and row {after})"
                      for day, before, after in missing[:10]]
            problems.append(f"column {column} is missing week(s): {', '.join(listed)}"
                            + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    return problems


def check_config_names(cfg) -> None:
    """Every configured name that reaches SQL passes the identifier check (channels and
    controls are checked by the config itself; the date and KPI columns and the rename
    targets here). The date and KPI columns are always quoted, so SQL words are allowed."""
    check_identifier(cfg.data.date_column, "date column", reserved=frozenset())
    check_identifier(cfg.data.kpi, "KPI column", reserved=frozenset())
    for safe in cfg.data.rename.values():
        check_identifier(safe, "renamed column", reserved=frozenset())
    names = [cfg.data.date_column, cfg.data.kpi, *cfg.channels, *cfg.controls,
             *cfg.data.series_columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"data: {', '.join(map(repr, repeated))} is configured more than once "
                         "among date column, KPI, channels, controls and series columns")
    from prism_mmm.pipeline import RESULT_SCHEMA

    # Series columns travel into every result table beside its own columns.
    taken = sorted(set(cfg.data.series_columns) & (set(RESULT_SCHEMA) | {"run_key"}))
    if taken:
        raise InputError(f"data.series_columns: {', '.join(map(repr, taken))} is also a column "
                         "of the result tables; rename it (data.rename)")


def profile(path: str | Path, field_definitions: pd.DataFrame | None = None,
            limits: Limits = DEFAULT_LIMITS) -> Profile:
    """Guess date column, frequency, KPI, spend channels and controls (like the seed's
    ``discover.py``); field definitions from the knowledge layer win over name heuristics."""
    raw = read_raw(path, limits)
    rename = check_headers(list(raw.frame.columns))
    safe_frame = raw.frame.rename(columns=rename)
    numeric, dates, labels, series_columns = [], [], {}, []
    for column in safe_frame.columns:
        values = safe_frame[column]
        if _share(values, lambda v: NUMBER.fullmatch(v) is not None) > 0.95:
            numeric.append(column)
        elif _share(values, lambda v: _date_format(v) is not None) > 0.95:
            dates.append(column)
        elif values.nunique() == 1:
            labels[column] = values.iloc[0]
        elif values.nunique() * MIN_SERIES_ROWS <= len(values):
            # An id column (brand, geo, market): each value names a series, fitted on its own.
            series_columns.append(column)
        else:
            raise InputError(
                f"column {column!r} has {values.nunique()} different text values in "
                f"{len(values)} rows: too many for an id column naming series (brand, geo, "
                f"market), which needs at least {MIN_SERIES_ROWS} weeks per series. Remove "
                "the column or fix its values.")
    if not dates:
        raise InputError("no date column found (a column whose values parse as dates)")
    date_column = dates[0]
    # unique: the series of a portfolio share their weeks
    parsed = np.unique(parse_dates(safe_frame[date_column], repr(date_column)))
    step = float(np.median(np.diff(parsed).astype(int))) if len(parsed) > 1 else 7.0
    frequency = "weekly" if step == 7 else f"every {step:g} days"
    notes = [] if step == 7 else [f"data is not weekly (median step {step:g} days)"]

    roles = {}
    if field_definitions is not None and len(field_definitions):
        for row in field_definitions.itertuples():
            roles[str(row.column_name)] = ("kpi" if row.is_kpi else "spend" if row.is_spend
                                           else "control" if row.is_control else "other")
    kpi = next((c for c in numeric if roles.get(c) == "kpi"), None) or next(
        (c for hint in KPI_HINTS for c in numeric if c == hint or c.endswith(f"_{hint}")), None)
    if kpi is None:
        raise InputError(f"could not tell which column is the KPI among {numeric}; "
                         "set data.kpi in prism.yml")
    channels, controls, left_out = [], [], []
    for column in numeric:
        if column == kpi:
            continue
        role = roles.get(column)
        if role is None:
            if any(h in column for h in OUTCOME_HINTS):
                role = "other"  # another outcome (orders, all_revenue): never a control
            elif any(h in column for h in SPEND_HINTS):
                role = "spend"
            else:
                role = "control"
        if role == "spend":
            channels.append(column)
        elif role == "control":
            controls.append(column)
        else:
            left_out.append(column)
            notes.append(f"column {column!r} left out (an outcome, not a driver)")
    if not channels:
        raise InputError("no spend channels found; name them in data.channels in prism.yml")
    holdout = PrismConfig.model_fields["holdout_weeks"].default
    if not series_columns:
        validate_frame(safe_frame, date_column, kpi, channels, controls, raw.delimiter,
                       holdout_weeks=holdout)
    else:
        refused = []
        groups = list(safe_frame.groupby(series_columns, sort=True))
        for values, group in groups:
            try:
                validate_frame(group, date_column, kpi, channels, controls, raw.delimiter,
                               holdout_weeks=holdout)
            except InputError as exc:
                refused.append(f"series {series_id_of(values)}: {exc}")
        if len(refused) == len(groups):
            raise InputError("every series was refused: " + "; ".join(refused))
        notes.append(f"{len(groups)} series by {', '.join(series_columns)}; each is fitted "
                     "on its own")
        notes += [f"`prism build` will refuse {problem}" for problem in refused]
    return Profile(
        date_column=date_column, frequency=frequency, kpi=kpi, channels=channels,
        controls=controls, rename={r: s for r, s in rename.items() if r != s},
        label_columns=labels, series_columns=series_columns, n_weeks=len(safe_frame),
        notes=notes, left_out=left_out,
    )


def _share(values: pd.Series, test) -> float:
    return float(np.mean([bool(test(v)) for v in values])) if len(values) else 0.0


@dataclass(frozen=True)
class SeriesInput:
    """A validated input: ``weeks`` holds the accepted series' typed rows (``series_id``, the
    series columns, then the configured columns, sorted by series and date); ``series`` has
    one row per series found, accepted ('ok') or refused ('refused', with the message)."""

    weeks: pd.DataFrame
    series: pd.DataFrame

    @property
    def refused(self) -> pd.DataFrame:
        return self.series[self.series["status"] == "refused"]


def _read_configured(path: str | Path, cfg) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """The configured columns of the CSV as text, renamed; its delimiter; safe -> raw names."""
    data = cfg.data
    renamed_from = {safe: raw for raw, safe in data.rename.items()}
    needed = [data.date_column, data.kpi, *cfg.channels, *cfg.controls, *data.series_columns]
    raw_names = [renamed_from.get(name, name) for name in needed]
    raw = read_raw(path, Limits.from_config(data), columns=set(raw_names) | set(data.rename))
    unmapped = [name for name in data.rename if name not in raw.frame.columns]
    if unmapped:
        raise InputError(f"data.rename names column(s) not in the file: {unmapped}")
    frame = raw.frame.rename(columns=data.rename)
    absent = [c for c in data.series_columns if c not in frame.columns]
    if absent:
        raise InputError(f"data.series_columns: column(s) {', '.join(map(repr, absent))} not in "
                         f"the file; the file has: {', '.join(map(repr, frame.columns))}")
    return frame, raw.delimiter, renamed_from


def read_series(path: str | Path, cfg) -> SeriesInput:
    """Validate the configured CSV series by series (``data.series_columns``; none: the file
    is one series, named by ``data.dataset``). A series with a problem is refused with a
    message naming it and its rows or weeks, and the others go on; when no series is left the
    input is refused as a whole."""
    data = cfg.data
    frame, delimiter, renamed_from = _read_configured(path, cfg)
    keys = list(data.series_columns)
    rows: list[dict] = []
    if keys:
        blank = frame[keys].eq("").any(axis=1)
        if blank.any() and not data.only_series:  # keyless rows belong to no chosen series
            rows.append({SERIES_ID: "(no series key)", **dict.fromkeys(keys), "n_weeks": 0,
                         "status": "refused",
                         "message": f"series (no series key): no value in series column(s) "
                                    f"{', '.join(map(repr, keys))} in "
                                    f"{_listing(frame.index[blank].tolist())}"})
        groups = [(tuple(k), g) for k, g in frame[~blank].groupby(keys, sort=True)]
        if data.only_series:
            groups = _only_series(groups, data.only_series)
    else:
        groups = [((), frame)]
    candidates = []
    for values, group in groups:
        def typed(group=group) -> pd.DataFrame:
            return validate_frame(group, data.date_column, data.kpi, cfg.channels,
                                  cfg.controls, delimiter, cfg.holdout_weeks,
                                  headers=renamed_from)

        candidates.append((series_id_of(values) if keys else data.dataset,
                           dict(zip(keys, values)), len(group), typed))
    return gather_series(candidates, keys, cfg.data.date_column, refused=rows)


def gather_series(candidates: Iterable[tuple[str, dict, int, Callable[[], pd.DataFrame]]],
                  keys: list[str], date_column: str, refused: list[dict] | None = None
                  ) -> SeriesInput:
    """The input from each candidate series ``(series_id, key, n_rows, typed)``: ``typed()``
    validates it and returns its typed weeks. With series keys, a series whose validation
    fails is refused with a message naming it and the others go on; without keys the input is
    one series and its problems are the input's. When no series is left the input is refused
    as a whole."""
    rows = list(refused or [])
    accepted: list[pd.DataFrame] = []
    for series_id, key, n_rows, typed in candidates:
        try:
            weeks = typed()
        except InputError as exc:
            if not keys:
                raise
            rows.append({SERIES_ID: series_id, **key, "n_weeks": n_rows,
                         "status": "refused", "message": f"series {series_id}: {exc}"})
            continue
        rows.append(_accepted_row(series_id, key, weeks[date_column]))
        accepted.append(weeks.assign(**{SERIES_ID: series_id, **key})[
            [SERIES_ID, *keys, *weeks.columns]])
    series = _series_table(rows, keys)
    if not accepted:
        raise InputError("every series was refused: " + "; ".join(series["message"]))
    return SeriesInput(pd.concat(accepted, ignore_index=True), series)


def _only_series(groups: list, chosen: list[str]) -> list:
    """The groups of the series named in ``data.only_series``; a name the file lacks is an
    error that lists the series it has."""
    found = [series_id_of(values) for values, _ in groups]
    check_only_series(chosen, found, "the file")
    return [group for name, group in zip(found, groups) if name in chosen]


def check_only_series(chosen: list[str], found: list[str], source: str) -> None:
    """Raise when ``data.only_series`` names a series the input lacks, listing those it has."""
    unknown = [name for name in chosen if name not in found]
    if unknown:
        raise InputError(f"data.only_series names series {source} does not hold: "
                         f"{', '.join(unknown)}; it holds: {', '.join(found)}")


def _accepted_row(series_id: str, key: dict, dates: pd.Series) -> dict:
    return {SERIES_ID: series_id, **key, "n_weeks": len(dates), "first_week": dates.min(),
            "last_week": dates.max(), "status": "ok", "message": ""}


def _series_table(rows: list[dict], keys: list[str]) -> pd.DataFrame:
    series = pd.DataFrame(rows, columns=[SERIES_ID, *keys, "n_weeks", "first_week",
                                         "last_week", "status", "message"])
    return series.astype({SERIES_ID: "string", **dict.fromkeys(keys, "string"),
                          "n_weeks": "Int64", "first_week": "datetime64[s]",
                          "last_week": "datetime64[s]", "status": "string",
                          "message": "string"})


def validate_file(path: str | Path, cfg) -> pd.DataFrame:
    """Validate the configured CSV (``data.source = csv``) before a build; returns the typed
    weeks of its accepted series (see :func:`read_series`)."""
    return read_series(path, cfg).weeks


def input_series(cfg) -> SeriesInput:
    """The configured input file (a user CSV, or the bundled seed's file), validated and
    typed series by series: what the warehouse loads, whichever command builds it. Warehouse
    tables are read by dbt (:func:`prism_mmm.sources.warehouse_weeks`)."""
    return read_series(cfg.data.input_path(), cfg)


__all__ = [
    "InputError",
    "Limits",
    "Profile",
    "SeriesInput",
    "check_config_names",
    "check_headers",
    "check_only_series",
    "gather_series",
    "input_series",
    "parse_dates",
    "parse_numbers",
    "profile",
    "read_raw",
    "read_series",
    "validate_file",
    "validate_frame",
]
