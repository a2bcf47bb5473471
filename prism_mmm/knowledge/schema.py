"""Validation of knowledge rows, whatever their source (local YAML or Notion).

Every row passes through one pydantic model per collection, so a bad value is caught with
the same rule and the same message whether it was typed into YAML or into Notion. Errors are
collected over all rows and name each row by where it came from (file and index, or Notion
page id and url), so a user can fix everything in one pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from prism_mmm.identifiers import UnsafeIdentifierError, check_identifier

FIELD_COLUMNS = [
    "column_name",
    "meaning",
    "unit",
    "channel_group",
    "is_spend",
    "is_kpi",
    "is_control",
]
CONTEXT_COLUMNS = ["key", "value", "channel", "roi_low", "roi_high"]
ISSUE_COLUMNS = ["issue_id", "start_date", "end_date", "column_name", "description", "action"]

EXPECTED_ROI = "expected_roi"
WHOLE_WEEK = "*"


class KnowledgeError(ValueError):
    """Knowledge rows that failed validation; the message lists every bad row."""


def _identifier(value: str, what: str) -> str:
    # check_identifier raises a ValueError subclass, which pydantic reports per field.
    try:
        return check_identifier(value, what)
    except UnsafeIdentifierError as exc:
        raise ValueError(str(exc)) from None


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FieldDefinition(_Row):
    """One column of the input data: what it means and its role in the model."""

    column_name: str
    meaning: str | None = None
    unit: str | None = None
    channel_group: str | None = None
    is_spend: bool = False
    is_kpi: bool = False
    is_control: bool = False

    @field_validator("meaning", "unit", "channel_group", mode="before")
    @classmethod
    def _optional_text(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("column_name")
    @classmethod
    def _safe_column(cls, value: str) -> str:
        return _identifier(value, "column")

    @model_validator(mode="after")
    def _one_role(self) -> FieldDefinition:
        roles = [r for r in ("is_spend", "is_kpi", "is_control") if getattr(self, r)]
        if len(roles) > 1:
            raise ValueError(f"a column has at most one role, got {' and '.join(roles)}")
        return self


class BusinessContext(_Row):
    """A business fact; ``key = expected_roi`` rows carry a channel's plausible ROI range."""

    key: str
    value: str | None = None
    channel: str | None = None
    roi_low: float | None = None
    roi_high: float | None = None

    @field_validator("value", "channel", "roi_low", "roi_high", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("key")
    @classmethod
    def _non_empty_key(cls, value: str) -> str:
        if not value:
            raise ValueError("key is empty")
        return value

    @field_validator("channel")
    @classmethod
    def _safe_channel(cls, value: str | None) -> str | None:
        return None if value is None else _identifier(value, "channel")

    @model_validator(mode="after")
    def _roi_range(self) -> BusinessContext:
        if self.key == EXPECTED_ROI:
            if self.channel is None:
                raise ValueError("expected_roi needs a channel")
            if self.roi_low is None or self.roi_high is None:
                raise ValueError("expected_roi needs both roi_low and roi_high")
            if self.roi_low <= 0 or self.roi_high <= 0:
                raise ValueError(
                    f"expected_roi bounds must be > 0, got {self.roi_low} .. {self.roi_high}"
                )
        if self.roi_low is not None and self.roi_high is not None and self.roi_low > self.roi_high:
            raise ValueError(f"roi_low {self.roi_low} is greater than roi_high {self.roi_high}")
        return self


class KnownIssue(_Row):
    """A known data problem over a date range and what the pipeline should do about it."""

    issue_id: str
    start_date: dt.date
    end_date: dt.date | None = None
    column_name: str
    description: str | None = None
    action: Literal["flag", "exclude", "cap"]

    @field_validator("end_date", "description", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("action", mode="before")
    @classmethod
    def _lower_action(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("issue_id")
    @classmethod
    def _safe_issue_id(cls, value: str) -> str:
        # The id may name an event dummy column downstream, so it obeys the identifier rule.
        return _identifier(value, "issue_id")

    @field_validator("column_name")
    @classmethod
    def _safe_column(cls, value: str) -> str:
        return value if value == WHOLE_WEEK else _identifier(value, "column")

    @model_validator(mode="after")
    def _dates(self) -> KnownIssue:
        if self.end_date is None:
            self.end_date = self.start_date  # a single-week issue
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.action == "cap" and self.column_name == WHOLE_WEEK:
            raise ValueError("action 'cap' needs a column: a whole week ('*') cannot be capped")
        return self


MODELS: dict[str, type[_Row]] = {
    "knowledge_field_definitions": FieldDefinition,
    "knowledge_business_context": BusinessContext,
    "knowledge_known_issues": KnownIssue,
}

COLUMNS = {
    "knowledge_field_definitions": FIELD_COLUMNS,
    "knowledge_business_context": CONTEXT_COLUMNS,
    "knowledge_known_issues": ISSUE_COLUMNS,
}

TABLE_LABELS = {
    "knowledge_field_definitions": "Field Definitions",
    "knowledge_business_context": "Business Context",
    "knowledge_known_issues": "Known Issues",
}


def row_key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a row within its collection, used for duplicate checks and change reports.

    Business Context facts other than ROI ranges may repeat a key (several campaigns), so they
    are identified by key and text; an edited text then reads as one removed and one added.
    """
    if table == "knowledge_field_definitions":
        return (row["column_name"],)
    if table == "knowledge_known_issues":
        return (row["issue_id"],)
    if row["key"] == EXPECTED_ROI:
        return (EXPECTED_ROI, row["channel"])
    return (row["key"], row["value"])


def row_label(table: str, row: dict[str, Any]) -> str:
    """Short human name of a row (``google_search``, ``expected_roi:meta_other``,
    ``campaign: Spring sale``)."""
    key = row_key(table, row)
    if table != "knowledge_business_context":
        return str(key[0])
    if key[0] == EXPECTED_ROI:
        return f"{EXPECTED_ROI}:{key[1]}"
    text = key[1] or ""
    return f"{key[0]}: {text[:57]}..." if len(text) > 60 else f"{key[0]}: {text}".rstrip(": ")


NAME_COLUMNS = {
    "knowledge_field_definitions": ("column_name",),
    "knowledge_business_context": ("key", "channel"),
    "knowledge_known_issues": ("issue_id",),
}


def describe_row(table: str, row: dict[str, Any], origin: str) -> str:
    """``origin`` plus the row's naming fields, when present, to help find the row."""
    names = [
        f"{c} {row[c]!r}" for c in NAME_COLUMNS[table] if isinstance(row.get(c), str) and row[c]
    ]
    return f"{origin} ({', '.join(names)})" if names else origin


def _format(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def invalid_rows(table: str, problems: Sequence[str]) -> KnowledgeError:
    """The error listing a collection's invalid rows, one problem per line."""
    return KnowledgeError(
        f"{TABLE_LABELS[table]}: {len(problems)} invalid row(s):\n  - " + "\n  - ".join(problems)
    )


def row_problems(
    table: str, rows: Iterable[dict[str, Any]], origins: Sequence[str] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid rows, normalised, and a problem line for every invalid or duplicate row
    (see :func:`validate_rows`, which raises instead)."""
    rows = list(rows)
    origins = list(origins) if origins is not None else [f"row {i + 1}" for i in range(len(rows))]
    model, columns = MODELS[table], COLUMNS[table]
    problems: list[str] = []
    clean: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], str] = {}
    for raw, origin in zip(rows, origins, strict=True):
        if not isinstance(raw, dict):
            problems.append(f"{origin}: expected a mapping of column -> value, got {raw!r}")
            continue
        try:
            row = model.model_validate(raw).model_dump()
        except ValidationError as exc:
            problems.append(f"{describe_row(table, raw, origin)}: {_format(exc)}")
            continue
        key = row_key(table, row)
        if key in seen:
            problems.append(
                f"{describe_row(table, raw, origin)}: duplicate of {seen[key]} "
                f"({row_label(table, row)!r} appears twice)"
            )
            continue
        seen[key] = origin
        clean.append({c: row[c] for c in columns})
    return clean, problems


def validate_rows(
    table: str, rows: Iterable[dict[str, Any]], origins: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Validate and normalise the rows of one collection.

    Parameters
    ----------
    table : str
        ``knowledge_field_definitions``, ``knowledge_business_context`` or
        ``knowledge_known_issues``.
    rows : iterable of dict
        Raw rows keyed by the table's column names.
    origins : sequence of str, optional
        Where each row came from (``known_issues.yml: issues[3]``, ``Notion page <id> (<url>)``);
        used in error messages. Defaults to ``row <n>``.

    Returns
    -------
    list of dict
        Normalised rows with exactly the table's columns, in the table's column order.

    Raises
    ------
    KnowledgeError
        Listing every invalid row and every duplicate row key.
    """
    clean, problems = row_problems(table, rows, origins)
    if problems:
        raise invalid_rows(table, problems)
    return clean
