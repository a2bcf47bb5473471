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
EVENT_COLUMNS = ["event_id", "start_date", "end_date", "description", "kind"]
# An experiment's figures as entered (YAML, Notion) ...
EXPERIMENT_COLUMNS = [
    "experiment_id",
    "channel",
    "type",
    "start_date",
    "end_date",
    "spend",
    "spend_change",
    "lift",
    "lift_se",
    "lift_low",
    "lift_high",
    "figures",
    "calibrate",
]
# ... and converted to totals over the test window, in the table knowledge_experiments only.
EXPERIMENT_TOTAL_COLUMNS = [
    "n_weeks",
    "spend_total",
    "spend_change_total",
    "lift_total",
    "lift_se_total",
]

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


def _snake_choice(value: Any) -> Any:
    # "Geo lift", "go-dark", " Per week " -> geo_lift, go_dark, per_week
    if isinstance(value, str):
        return "_".join(value.strip().lower().replace("-", " ").split())
    return value


class Event(_Row):
    """A dated campaign, promotion or holiday the data should know about (e.g. a holiday the
    built-in calendar lacks). Rows sharing an ``event_id`` are one recurring event, one row
    per occurrence (a yearly promotion); an empty ``end_date`` is a single day."""

    event_id: str
    start_date: dt.date
    end_date: dt.date | None = None
    description: str | None = None
    kind: Literal["campaign", "promotion", "holiday", "other"]

    @field_validator("end_date", "description", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("kind", mode="before")
    @classmethod
    def _lower_kind(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("event_id")
    @classmethod
    def _safe_event_id(cls, value: str) -> str:
        # The id names an event dummy column downstream, so it obeys the identifier rule.
        return _identifier(value, "event_id")

    @model_validator(mode="after")
    def _dates(self) -> Event:
        if self.end_date is None:
            self.end_date = self.start_date  # a single day
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        return self


# A 90 % normal interval is lift +- Z_90 * SE. The quantile (1.64485) is rounded as the docs
# state it, so a standard error can be checked by hand against the table.
Z_90 = 1.6449
LIFT_TYPES = ("geo_lift", "conversion_lift")


class Experiment(_Row):
    """A lift test of one channel: what was spent, what the test changed, what it measured.

    Figures
        ``spend``: spend on the channel during the test, in the scope of the test (the test
        regions or audience). ``spend_change``: the change in spend the test applied, with its
        sign: the extra spend of a lift test (``geo_lift``, ``conversion_lift``: > 0 and at most
        ``spend``), minus the usual spend of a ``go_dark`` test (< 0). ``lift``: the measured
        incremental KPI caused by that spend change, with its sign (a go-dark test usually
        measures a negative lift). Its uncertainty is either ``lift_se`` (standard error) or
        ``lift_low`` / ``lift_high``, a 90 % interval, converted to a standard error as
        ``(lift_high - lift_low) / (2 * 1.6449)``.

    Totals or per week (``figures``, required, no default)
        ``total``: every figure of the row is a total over the test window. ``per_week``:
        every figure is the average weekly value over the window. Totals (:func:`experiment_totals`)
        use ``n_weeks`` = days of the inclusive window / 7: a per-week figure times ``n_weeks``
        is its total, and since a total is ``n_weeks`` times the weekly average, its standard
        error is the per-week standard error times ``n_weeks`` as well (not times
        ``sqrt(n_weeks)``: that would be the error of a sum of ``n_weeks`` independent weekly
        estimates, each with that error, which is not what a lift-test report gives).

    ``calibrate`` (default true): whether the models use the test.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    experiment_id: str
    channel: str
    type: Literal["geo_lift", "conversion_lift", "go_dark"]
    start_date: dt.date
    end_date: dt.date
    spend: float
    spend_change: float
    lift: float
    lift_se: float | None = None
    lift_low: float | None = None
    lift_high: float | None = None
    figures: Literal["total", "per_week"] | None = None
    calibrate: bool = True

    @field_validator("lift_se", "lift_low", "lift_high", "figures", mode="before")
    @classmethod
    def _optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("type", "figures", mode="before")
    @classmethod
    def _choice(cls, value: Any) -> Any:
        return _snake_choice(value)

    @field_validator("calibrate", mode="before")
    @classmethod
    def _default_calibrate(cls, value: Any) -> Any:
        # An empty cell means the default, as for an absent key.
        return True if _blank_to_none(value) is None else value

    @field_validator("experiment_id")
    @classmethod
    def _safe_experiment_id(cls, value: str) -> str:
        return _identifier(value, "experiment_id")

    @field_validator("channel")
    @classmethod
    def _safe_channel(cls, value: str) -> str:
        return _identifier(value, "channel")

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if self.figures is None:
            raise ValueError(
                "figures is required: 'total' if spend, spend_change, lift and its error are "
                "totals over the test window, 'per_week' if they are average weekly values"
            )
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        if self.spend < 0:
            raise ValueError(f"spend {self.spend} is negative")
        if self.type in LIFT_TYPES and not 0 < self.spend_change <= self.spend:
            raise ValueError(
                f"spend_change {self.spend_change} of a {self.type} test must be the extra spend: "
                f"> 0 and at most spend ({self.spend}), which includes it"
            )
        if self.type == "go_dark" and self.spend_change >= 0:
            raise ValueError(
                f"spend_change {self.spend_change} of a go_dark test must be minus the usual "
                "spend the test switched off (< 0)"
            )
        interval = (self.lift_low, self.lift_high)
        if self.lift_se is not None:
            if interval != (None, None):
                raise ValueError("give lift_se or lift_low and lift_high, not both")
            if self.lift_se <= 0:
                raise ValueError(f"lift_se must be > 0, got {self.lift_se}")
        elif interval == (None, None):
            raise ValueError(
                "the lift needs its uncertainty: lift_se (standard error) or lift_low and "
                "lift_high (a 90 % interval)"
            )
        elif None in interval:
            raise ValueError("lift_low and lift_high go together (a 90 % interval)")
        elif not self.lift_low <= self.lift <= self.lift_high or self.lift_low == self.lift_high:
            raise ValueError(
                f"the interval lift_low {self.lift_low} .. lift_high {self.lift_high} must be "
                f"wider than a point and contain the lift {self.lift}"
            )
        return self


def experiment_totals(row: dict[str, Any]) -> dict[str, float]:
    """An experiment's figures as totals over its test window (see :class:`Experiment`).

    Parameters
    ----------
    row : dict
        A validated experiment row (:func:`validate_rows`).

    Returns
    -------
    dict
        ``n_weeks`` (days of the inclusive window / 7), ``spend_total``,
        ``spend_change_total``, ``lift_total`` and ``lift_se_total``: the figures as entered
        for ``figures = total``, times ``n_weeks`` for ``per_week``. The standard error comes
        from ``lift_se``, or from the 90 % interval as ``(lift_high - lift_low) / (2 * Z_90)``.
    """
    n_weeks = ((row["end_date"] - row["start_date"]).days + 1) / 7
    se = row["lift_se"]
    if se is None:
        se = (row["lift_high"] - row["lift_low"]) / (2 * Z_90)
    scale = n_weeks if row["figures"] == "per_week" else 1.0
    return {
        "n_weeks": n_weeks,
        "spend_total": row["spend"] * scale,
        "spend_change_total": row["spend_change"] * scale,
        "lift_total": row["lift"] * scale,
        "lift_se_total": se * scale,
    }


MODELS: dict[str, type[_Row]] = {
    "knowledge_field_definitions": FieldDefinition,
    "knowledge_business_context": BusinessContext,
    "knowledge_known_issues": KnownIssue,
    "knowledge_events": Event,
    "knowledge_experiments": Experiment,
}

COLUMNS = {
    "knowledge_field_definitions": FIELD_COLUMNS,
    "knowledge_business_context": CONTEXT_COLUMNS,
    "knowledge_known_issues": ISSUE_COLUMNS,
    "knowledge_events": EVENT_COLUMNS,
    "knowledge_experiments": EXPERIMENT_COLUMNS,
}

TABLE_LABELS = {
    "knowledge_field_definitions": "Field Definitions",
    "knowledge_business_context": "Business Context",
    "knowledge_known_issues": "Known Issues",
    "knowledge_events": "Events",
    "knowledge_experiments": "Experiments",
}


def row_key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a row within its collection, used for duplicate checks and change reports.

    Business Context facts other than ROI ranges may repeat a key (several campaigns), so they
    are identified by key and text; an edited text then reads as one removed and one added.
    An event recurs under one id, so an occurrence is its id and start date.
    """
    if table == "knowledge_field_definitions":
        return (row["column_name"],)
    if table == "knowledge_known_issues":
        return (row["issue_id"],)
    if table == "knowledge_events":
        return (row["event_id"], row["start_date"])
    if table == "knowledge_experiments":
        return (row["experiment_id"],)
    if row["key"] == EXPECTED_ROI:
        return (EXPECTED_ROI, row["channel"])
    return (row["key"], row["value"])


def row_label(table: str, row: dict[str, Any]) -> str:
    """Short human name of a row (``google_search``, ``expected_roi:meta_other``,
    ``campaign: Spring sale``, ``late_may_promotion 2023-05-22``)."""
    key = row_key(table, row)
    if table == "knowledge_events":
        return f"{key[0]} {key[1]}"
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
    "knowledge_events": ("event_id",),
    "knowledge_experiments": ("experiment_id", "channel"),
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
        A collection of :data:`MODELS` (``knowledge_field_definitions``,
        ``knowledge_business_context``, ``knowledge_known_issues``, ``knowledge_events``,
        ``knowledge_experiments``).
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
