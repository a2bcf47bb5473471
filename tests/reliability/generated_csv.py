"""Hypothesis strategies for weekly input CSVs: valid ones, and ones with exactly one defect
whose column and row are known, so a test can check that the error names them.

A generated file varies everything a real export varies: headers (unicode, SQL fragments,
quotes, the delimiter itself), extra columns nobody configured, the delimiter, the encoding
(UTF-8 with or without a byte-order mark, Latin-1, UTF-16), line endings, the date format,
number formats (exponents, fixed decimals, thousands separators) and magnitudes from 1e-6 to
1e15. ``Spec.config`` is the prism.yml ``data`` section that ``prism init`` would write.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from hypothesis import strategies as st

HOLDOUT = 13
SQL_FRAGMENTS = ['"; drop table x; --', "select", "Robert'); DROP TABLE mmm_input;--",
                 "a\"b", "1; delete from mmm_runs", "union all select 1", "`x`", "$1", "--"]
DATE_FORMATS = {
    "iso": lambda d: d.isoformat(),
    "iso_midnight": lambda d: f"{d.isoformat()} 00:00:00",
    "iso_t": lambda d: f"{d.isoformat()}T00:00",
    "ymd_slash": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "ymd_dot": lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    "dmy_slash": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "mdy_slash": lambda d: f"{d.month}/{d.day}/{d.year}",
    "dmy_dot": lambda d: f"{d.day}.{d.month}.{d.year}",
    "dmy_dash": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "d_mon_y": lambda d: d.strftime("%d %b %Y"),
    "mon_d_y": lambda d: d.strftime("%B %d, %Y"),
}
UNSUPPORTED_DATES = {  # refused: ambiguous or not a date format we read
    "yyyymmdd": lambda d: d.strftime("%Y%m%d"),
    "two_digit_year": lambda d: d.strftime("%d/%m/%y"),
    "excel_serial": lambda d: str((d - dt.date(1899, 12, 30)).days),
    "iso_week": lambda d: d.strftime("%G-W%V"),
}
BAD_NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "n/a", "N/A", "#N/A", "null", "-",
               "1.2.3", "12abc", "1e", "0x1F", "€12", "12 %", "１２"]
DEFECTS = ["missing_week", "duplicate_week", "bad_number", "empty_cell", "huge", "negative_spend",
           "negative_kpi", "bad_date", "unsupported_dates", "mixed_dates", "ragged_row",
           "few_weeks", "duplicate_header", "kpi_constant", "zero_channel", "time_of_day"]


@dataclass
class Spec:
    """One generated file and what validating it must give."""

    content: bytes
    config: dict
    delimiter: str
    encoding: str
    defect: str | None
    column: str | None = None  # the name the error must mention (None: a whole row is wrong)
    rows: list[int] = field(default_factory=list)  # file rows the error must mention
    expected: dict[str, list] = field(default_factory=dict)  # valid: safe name -> values

    @property
    def valid(self) -> bool:
        return self.defect is None

    def describe(self) -> str:
        return (f"defect={self.defect} column={self.column} rows={self.rows} "
                f"delimiter={self.delimiter!r} encoding={self.encoding} "
                f"config={self.config}\n" + self.content[:600].decode("latin-1"))


header_text = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
    st.from_regex(r"[A-Z][A-Za-z ]{0,10}( \(\$\))?", fullmatch=True),
    # no control characters (a NUL or a line break inside a header is tested on its own) and
    # no byte-order mark (a leading one is the file's, and is removed)
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                          exclude_characters="\ufeff"), min_size=1, max_size=16),
    st.sampled_from(SQL_FRAGMENTS),
).map(str.strip).filter(bool)


def _number_text(value: float, style: str) -> str:
    if style == "repr":
        return repr(value)
    if style == "fixed":
        return f"{value:.2f}"
    if style == "exp":
        return f"{value:.6e}"
    if style == "thousands":
        return f"{value:,.2f}"
    return f"{value:.0f}"


@st.composite
def specs(draw, valid: bool | None = None, years: tuple[int, int] = (1900, 2150)) -> Spec:
    """A generated CSV; ``valid`` True/False forces no defect / one defect."""
    if valid is None:
        defect = draw(st.one_of(st.none(), st.sampled_from(DEFECTS)))
    elif valid:
        defect = None
    else:
        defect = draw(st.sampled_from(DEFECTS))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    n_channels = draw(st.integers(1, 4))
    n_controls = draw(st.integers(0, 2))
    needed = HOLDOUT + max(26, 2 * (n_channels + n_controls))
    n = draw(st.integers(20, needed - 1)) if defect == "few_weeks" else draw(
        st.integers(needed, needed + 25))

    safe = ["week", "revenue", *[f"ch_{i + 1}" for i in range(n_channels)],
            *[f"ctl_{i + 1}" for i in range(n_controls)]]
    roles = ["date", "kpi", *["channel"] * n_channels, *["control"] * n_controls]
    n_junk = draw(st.integers(0, 2))
    headers = draw(st.lists(header_text, min_size=len(safe) + n_junk,
                            max_size=len(safe) + n_junk, unique=True))
    if defect == "duplicate_header":
        headers[-1] = headers[0]
    order = draw(st.permutations(range(len(headers))))  # columns in any order in the file

    start = draw(st.dates(dt.date(years[0], 1, 1), dt.date(years[1], 1, 1)))
    dates = [start + dt.timedelta(weeks=k) for k in range(n)]
    date_format = draw(st.sampled_from(sorted(DATE_FORMATS)))
    render_date = DATE_FORMATS[date_format]

    columns: list[list[str]] = []
    expected: dict[str, list] = {"week": list(dates)}
    date_cells = [render_date(d) for d in dates]
    columns.append(date_cells)
    for name, role in zip(safe[1:], roles[1:]):
        # magnitudes from 1e-6 to just under the 1e15 limit (the "huge" defect goes over it)
        scale = 10.0 ** draw(st.integers(-6, 11))
        raw = draw(st.lists(st.floats(0, 900, allow_nan=False), min_size=n, max_size=n))
        if role == "control":
            raw = [v - 450 for v in raw]
        values = [v * scale for v in raw]
        if role == "kpi":
            values = [v + scale for v in values]  # > 0
            values[0] += scale  # never constant
        if role == "channel" and not any(values):
            values[0] = scale
        style = draw(st.sampled_from(["repr", "fixed", "exp", "int"]
                                     + ([] if delimiter == ";" else ["thousands"])))
        cells = [_number_text(v, style) for v in values]
        parsed = [float(c.replace(",", "")) for c in cells]
        if (role == "kpi" and len(set(parsed)) < 2) or (role == "channel" and not any(parsed)):
            cells = [repr(v) for v in values]  # the style rounded every value away
            parsed = list(values)
        expected[name] = parsed
        columns.append(cells)
    for _ in range(n_junk):
        columns.append(draw(st.lists(st.text(st.characters(
            exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8), min_size=n, max_size=n)))

    rows_of = list(range(n))  # data row index -> position in the file (header = row 1)
    column, bad_rows = None, []
    numeric = [i for i, r in enumerate(roles) if r != "date"]
    if defect in ("bad_number", "empty_cell", "huge"):
        target = draw(st.sampled_from(numeric))
        at = draw(st.integers(0, n - 1))
        columns[target][at] = {"bad_number": draw(st.sampled_from(BAD_NUMBERS)),
                               "empty_cell": "", "huge": "2e15"}[defect]
        column, bad_rows = safe[target], [at]
    elif defect == "negative_spend":
        target = draw(st.sampled_from([i for i, r in enumerate(roles) if r == "channel"]))
        at = draw(st.integers(0, n - 1))
        columns[target][at] = "-" + columns[target][at].lstrip("-")
        if float(columns[target][at].replace(",", "")) == 0:
            columns[target][at] = "-1"
        column, bad_rows = safe[target], [at]
    elif defect == "negative_kpi":
        at = draw(st.integers(0, n - 1))
        columns[1][at] = "-1"
        column, bad_rows = "revenue", [at]
    elif defect == "kpi_constant":
        columns[1] = ["5"] * n
        column = "revenue"
    elif defect == "zero_channel":
        target = draw(st.sampled_from([i for i, r in enumerate(roles) if r == "channel"]))
        columns[target] = ["0"] * n
        column = safe[target]
    elif defect == "bad_date":
        at = draw(st.integers(0, n - 1))
        columns[0][at] = draw(st.sampled_from(["2021-02-30", "not a date", "31/31/2021", "",
                                               "2021-13-01", "0000-00-00"]))
        column, bad_rows = "week", [at]
    elif defect == "unsupported_dates":
        fmt = draw(st.sampled_from(sorted(UNSUPPORTED_DATES)))
        columns[0] = [UNSUPPORTED_DATES[fmt](d) for d in dates]
        column, bad_rows = "week", [0]
    elif defect == "mixed_dates":
        at = draw(st.integers(1, n - 1))
        other = "dmy_dot" if date_format != "dmy_dot" else "iso"
        columns[0][at] = DATE_FORMATS[other](dates[at])
        column, bad_rows = "week", [at]
    elif defect == "time_of_day":
        at = draw(st.integers(0, n - 1))
        columns[0][at] = f"{dates[at].isoformat()} 13:45:00"
        column, bad_rows = "week", [at]
    elif defect == "missing_week":
        at = draw(st.integers(1, n - 2))
        for cells in columns:
            del cells[at]
        del rows_of[at]
        column, bad_rows = "week", [at - 1, at]  # the rows around the gap
    elif defect == "duplicate_week":
        at = draw(st.integers(0, n - 1))
        for cells in columns:
            cells.insert(at + 1, cells[at])
        column, bad_rows = "week", [at, at + 1]
    ragged_at = draw(st.integers(0, len(columns[0]) - 1)) if defect == "ragged_row" else None

    out = io.StringIO()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow([headers[i] for i in order])
    n_rows = len(columns[0])
    for r in range(n_rows):
        record = [columns[i][r] for i in order]
        if r == ragged_at:
            record.append("extra")
        writer.writerow(record)
    text = out.getvalue()
    if defect == "ragged_row":
        bad_rows = [ragged_at]

    try:
        text.encode("latin-1")
        latin1_ok = True
    except UnicodeEncodeError:
        latin1_ok = False
    encodings = ["utf-8", "utf-8-sig", "utf-16"]
    if latin1_ok and any(ord(c) > 127 for c in text):
        try:
            text.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            encodings.append("latin-1")  # only when the bytes cannot also be read as UTF-8
    encoding = draw(st.sampled_from(encodings))
    content = text.encode(encoding)

    renamed = {headers[i]: safe[i] for i in range(len(safe)) if headers[i] != safe[i]}
    config = {"source": "csv", "date_column": "week", "kpi": "revenue",
              "channels": safe[2:2 + n_channels], "controls": safe[2 + n_channels:],
              "rename": renamed}
    if defect == "duplicate_header":
        column = headers[0]
    if defect == "few_weeks":
        column = "week"
    if defect is None:
        expected = {name: values for name, values in expected.items()}
    return Spec(content=content, config=config, delimiter=delimiter, encoding=encoding,
                defect=defect, column=column, rows=[r + 2 for r in bad_rows],
                expected=expected if defect is None else {})
