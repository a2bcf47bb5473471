"""Profile and validate a user's weekly CSV before anything touches the warehouse.

Every problem is reported with the column and the week(s) it concerns, all problems at once,
so a user fixes the file in one pass. Nothing here writes to the warehouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from prism_mmm.identifiers import UnsafeIdentifierError, check_identifier, to_snake_case

# Raw headers may carry spaces, dashes, dots, slashes, % and parentheses ("Google Search ($)");
# anything else (quotes, semicolons, backslashes, comment markers) is refused outright rather
# than silently rewritten, because it usually means a broken or hostile export.
BENIGN_HEADER = re.compile(r"^[A-Za-z0-9 _\-./%()$€£&+]+$")
DATE_FORMATS = {
    r"^\d{4}-\d{2}-\d{2}$": "%Y-%m-%d",
    r"^\d{4}/\d{2}/\d{2}$": "%Y/%m/%d",
    r"^\d{2}/\d{2}/\d{4}$": "DD/MM/YYYY or MM/DD/YYYY",
    r"^\d{2}\.\d{2}\.\d{4}$": "%d.%m.%Y",
    r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$": "%Y-%m-%d %H:%M:%S",
}
KPI_HINTS = ("revenue", "sales", "kpi", "gmv", "conversions", "y")
SPEND_HINTS = ("spend", "cost", "google", "meta", "facebook", "instagram", "tiktok", "tv",
               "radio", "display", "search", "video", "social", "affiliate", "email", "ooh",
               "print", "youtube", "bing", "snapchat", "pinterest", "x1", "x2", "x3")
OUTCOME_HINTS = ("order", "revenue", "sales", "conversion", "customers", "transactions")


class InputError(ValueError):
    """The input file cannot be modelled as it is; the message lists every problem."""


@dataclass
class Profile:
    date_column: str
    frequency: str
    kpi: str
    channels: list[str]
    controls: list[str]
    rename: dict[str, str]
    label_columns: dict[str, str] = field(default_factory=dict)
    n_weeks: int = 0
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # numeric columns with no role (outcomes)


def read_raw(path: str | Path) -> pd.DataFrame:
    """Read every cell as text, so a stray word in a numeric column is found, not coerced."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file")
    if path.stat().st_size == 0:
        raise InputError("the file is empty")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty") from None
    if frame.empty:
        raise InputError("the file has a header but no rows")
    return frame


def check_headers(headers: list[str]) -> dict[str, str]:
    """raw header -> safe snake_case name; refuses unsafe or colliding headers by name."""
    problems, rename = [], {}
    for raw in headers:
        safe = to_snake_case(raw)
        try:
            if not BENIGN_HEADER.match(raw):
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


def _date_format_problem(values: pd.Series, column: str) -> str | None:
    formats: dict[str, list[str]] = {}
    for value in values:
        label = next((fmt for rx, fmt in DATE_FORMATS.items() if re.match(rx, value.strip())),
                     "unrecognised")
        formats.setdefault(label, []).append(value)
    if len(formats) > 1 or "unrecognised" in formats:
        examples = "; ".join(f"{fmt}: {', '.join(v[:3])}" for fmt, v in formats.items())
        return f"column {column!r} has dates in mixed or unrecognised formats ({examples})"
    return None


def _parse_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.str.strip(), errors="coerce", format="mixed", dayfirst=False)


def _numeric_problems(frame: pd.DataFrame, columns: list[str], dates: pd.Series) -> list[str]:
    problems = []
    for column in columns:
        text = frame[column].str.strip().str.replace(",", "", regex=False)
        numbers = pd.to_numeric(text, errors="coerce")
        bad = numbers.isna() & text.ne("")
        if bad.any():
            cells = [f"{d:%Y-%m-%d}: {v!r}" for d, v in zip(dates[bad][:5], frame[column][bad][:5])]
            problems.append(f"column {column!r} has non-numeric values in week(s) {', '.join(cells)}")
        empty = text.eq("")
        if empty.any():
            weeks = ", ".join(f"{d:%Y-%m-%d}" for d in dates[empty][:5])
            problems.append(f"column {column!r} is empty in week(s) {weeks}")
    return problems


def validate_frame(
    frame: pd.DataFrame, date_column: str, kpi: str, channels: list[str], controls: list[str]
) -> pd.DataFrame:
    """Check a raw text frame against the configuration; returns the typed frame or raises
    :class:`InputError` listing every problem (columns and weeks named)."""
    wanted = [date_column, kpi, *channels, *controls]
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise InputError(
            f"configured column(s) not in the file: {', '.join(map(repr, unknown))}; "
            f"the file has: {', '.join(map(repr, frame.columns))}"
        )
    problems: list[str] = []
    fmt_problem = _date_format_problem(frame[date_column], date_column)
    if fmt_problem:
        raise InputError(fmt_problem)
    dates = _parse_dates(frame[date_column])
    numeric = [kpi, *channels, *controls]
    problems += _numeric_problems(frame, numeric, dates)
    if problems:
        raise InputError("; ".join(problems))
    typed = pd.DataFrame({date_column: dates})
    for column in numeric:
        typed[column] = pd.to_numeric(frame[column].str.strip().str.replace(",", "", regex=False))

    duplicated = typed[date_column][typed[date_column].duplicated(keep=False)]
    if len(duplicated):
        weeks = sorted({f"{d:%Y-%m-%d}" for d in duplicated})
        problems.append(f"column {date_column!r} has duplicate weeks: {', '.join(weeks)}")
    ordered = typed[date_column].drop_duplicates().sort_values()
    gaps = ordered.diff().dt.days
    if (gaps.dropna() % 7 != 0).any():
        odd = ordered[gaps.notna() & (gaps % 7 != 0)]
        problems.append(f"column {date_column!r} is not weekly: irregular dates "
                        f"{', '.join(f'{d:%Y-%m-%d}' for d in odd[:5])}")
    else:
        missing = []
        for previous, gap in zip(ordered.shift()[gaps > 7], gaps[gaps > 7]):
            missing += [previous + pd.Timedelta(days=7 * k) for k in range(1, int(gap // 7))]
        if missing:
            problems.append(f"column {date_column!r} is missing week(s): "
                            f"{', '.join(f'{d:%Y-%m-%d}' for d in missing[:10])}")
    for column in channels:
        negative = typed[column] < 0
        if negative.any():
            weeks = ", ".join(f"{d:%Y-%m-%d}" for d in typed[date_column][negative][:10])
            problems.append(f"spend column {column!r} is negative in week(s) {weeks}")
    if (typed[kpi] == 0).all():
        problems.append(f"KPI column {kpi!r} is zero in every week: nothing to model")
    elif typed[kpi].nunique() < 2:
        problems.append(f"KPI column {kpi!r} is constant: nothing to model")
    if problems:
        raise InputError("; ".join(problems))
    return typed.sort_values(date_column).reset_index(drop=True)


def profile(path: str | Path, field_definitions: pd.DataFrame | None = None) -> Profile:
    """Guess date column, frequency, KPI, spend channels and controls (like the seed's
    ``discover.py``); field definitions from the knowledge layer win over name heuristics."""
    frame = read_raw(path)
    rename = check_headers(list(frame.columns))
    safe_frame = frame.rename(columns=rename)
    numeric, dates, labels = [], [], {}
    for column in safe_frame.columns:
        text = safe_frame[column].str.strip().str.replace(",", "", regex=False)
        if pd.to_numeric(text, errors="coerce").notna().mean() > 0.95:
            numeric.append(column)
        elif _parse_dates(safe_frame[column]).notna().mean() > 0.95:
            dates.append(column)
        elif safe_frame[column].nunique() == 1:
            labels[column] = safe_frame[column].iloc[0]
        else:
            raise InputError(
                f"column {column!r} has {safe_frame[column].nunique()} different text values: "
                "it looks like an id column (brand, geo, market) with several series. Series "
                "must not be summed or mixed: filter the file to one series and run again."
            )
    if not dates:
        raise InputError("no date column found (a column whose values parse as dates)")
    date_column = dates[0]
    parsed = _parse_dates(safe_frame[date_column]).sort_values()
    step = parsed.diff().dt.days.median()
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
    validate_frame(safe_frame, date_column, kpi, channels, controls)
    return Profile(
        date_column=date_column, frequency=frequency, kpi=kpi, channels=channels,
        controls=controls, rename={r: s for r, s in rename.items() if r != s},
        label_columns=labels, n_weeks=len(frame), notes=notes, left_out=left_out,
    )


def validate_file(path: str | Path, cfg) -> pd.DataFrame:
    """Validate the configured CSV (``data.source = csv``) before a build."""
    frame = read_raw(path)
    rename = {**{c: c for c in frame.columns}, **cfg.data.rename}
    unmapped = [raw for raw in cfg.data.rename if raw not in frame.columns]
    if unmapped:
        raise InputError(f"data.rename names column(s) not in the file: {unmapped}")
    return validate_frame(frame.rename(columns=rename), cfg.data.date_column, cfg.data.kpi,
                          cfg.channels, cfg.controls)


__all__ = ["InputError", "Profile", "check_headers", "profile", "read_raw", "validate_file",
           "validate_frame"]
