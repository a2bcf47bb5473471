"""Identifier safety: every name from user data that reaches SQL passes through here.

The same rule is enforced in Jinja by ``macros/prism_safe_identifier.sql`` so that a name
coming through dbt vars is checked before it is rendered into SQL.
"""

from __future__ import annotations

import re

SAFE_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Names that would collide with columns the pipeline itself creates in mmm_input.
RESERVED = frozenset(
    {
        "select", "from", "where", "table", "drop", "insert", "delete", "update", "order",
        "group", "by", "union", "join", "and", "or", "not", "null", "true", "false",
        "week_start_date", "kpi", "split", "trend", "is_anomaly", "is_known_issue",
        "series_id",
    }
)


class UnsafeIdentifierError(ValueError):
    """A column or channel name that must not be rendered into SQL."""


def to_snake_case(raw: str) -> str:
    """Propose a safe snake_case name for a raw column header (``"Google Search"`` -> ``google_search``)."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", raw.strip()).strip("_").lower()
    if name and name[0].isdigit():
        name = f"c_{name}"
    return name


def check_identifier(name: str, what: str = "column", reserved: frozenset[str] = RESERVED) -> str:
    """Return ``name`` unchanged if it is a safe SQL identifier, else raise naming it.

    ``reserved`` defaults to the words a channel or control must not be called (they collide
    with SQL or with columns the pipeline creates); a name that is always quoted and never
    becomes a column of its own, such as the input's date or KPI column, may pass an empty set.
    """
    if not isinstance(name, str) or not SAFE_IDENTIFIER.fullmatch(name) or name in reserved:
        raise UnsafeIdentifierError(
            f"unsafe {what} name {name!r}: names must be lowercase snake_case "
            "(letters, digits, underscores; not starting with a digit; at most 63 characters) "
            f"and not a reserved word. Rename it, e.g. to {to_snake_case(str(name))!r}."
        )
    return name


def check_identifiers(names: list[str], what: str = "column") -> list[str]:
    """Check every name; the error lists all unsafe names at once."""
    bad = []
    for name in names:
        try:
            check_identifier(name, what)
        except UnsafeIdentifierError:
            bad.append(name)
    if bad:
        raise UnsafeIdentifierError(
            f"unsafe {what} names: {', '.join(repr(b) for b in bad)}. Names must be lowercase "
            "snake_case (letters, digits, underscores) and not reserved words."
        )
    return list(names)


def quote_identifier(name: str) -> str:
    """Double-quote an identifier for DuckDB, escaping embedded quotes."""
    return '"' + str(name).replace('"', '""') + '"'
