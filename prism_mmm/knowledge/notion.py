"""Notion as the source of the knowledge layer.

``sync`` reads the three Notion databases (Field Definitions, Business Context, Known Issues)
and, only when every row of all three validates, replaces the local YAML snapshot that the
dbt models ``knowledge_*`` load. ``push`` creates the three databases under a Notion page
and fills them from the local YAML, so a team starts from the bundled knowledge.

Knowledge belongs to a dataset: every database has a ``Dataset`` select property, and a sync
keeps only the rows of the configured dataset (``data.dataset``), so one set of databases can
hold several brands without any of them leaking into another's model.

Notion API version 2025-09-03 (the notion-client 3.x default): a database holds one or more
data sources; rows are pages of a data source, queried with cursor pagination.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from notion_client import APIErrorCode, APIResponseError, Client
from notion_client.client import ClientOptions, RetryOptions
from notion_client.errors import NotionClientErrorBase, RequestTimeoutError
from notion_client.helpers import extract_notion_id, iterate_paginated_api

from prism_mmm.config import KnowledgeConfig, NotionConfig
from prism_mmm.knowledge.local import FILES, read_rows, validate_directory, write_snapshot
from prism_mmm.knowledge.schema import (
    TABLE_LABELS,
    WHOLE_WEEK,
    KnowledgeError,
    describe_row,
    invalid_rows,
    row_key,
    row_label,
    row_problems,
)

LOG = logging.getLogger(__name__)

# Config field of knowledge.notion and environment variable for each collection's database.
ID_FIELDS = {
    "knowledge_field_definitions": "field_definitions_id",
    "knowledge_business_context": "business_context_id",
    "knowledge_known_issues": "known_issues_id",
}
ENV_PREFIX = "PRISM_NOTION_"

TEXT_TYPES = ("title", "rich_text", "select", "status")
RICH_TEXT_LIMIT = 2000  # characters per rich-text object accepted by the API


class NotionSyncError(RuntimeError):
    """Notion could not be read or written: auth, access, network, rate limit or schema."""


@dataclass(frozen=True)
class Prop:
    """One Notion property of a knowledge database and the row columns it holds."""

    name: str
    type: str
    columns: tuple[str, ...]

    @property
    def read_types(self) -> tuple[str, ...]:
        """Property types that can hold this property's values when reading."""
        return TEXT_TYPES if self.type in TEXT_TYPES else (self.type,)


# Which dataset a row describes; the row column it fills is not a knowledge column, it only
# decides whether a sync keeps the row.
DATASET = "dataset"
DATASET_PROP = Prop("Dataset", "select", (DATASET,))

SCHEMAS: dict[str, tuple[Prop, ...]] = {
    "knowledge_field_definitions": (
        Prop("Column", "title", ("column_name",)),
        Prop("Meaning", "rich_text", ("meaning",)),
        Prop("Unit", "select", ("unit",)),
        Prop("Channel group", "select", ("channel_group",)),
        Prop("Is spend", "checkbox", ("is_spend",)),
        Prop("Is KPI", "checkbox", ("is_kpi",)),
        Prop("Is control", "checkbox", ("is_control",)),
        DATASET_PROP,
    ),
    "knowledge_business_context": (
        Prop("Key", "title", ("key",)),
        Prop("Value", "rich_text", ("value",)),
        Prop("Channel", "select", ("channel",)),
        Prop("ROI low", "number", ("roi_low",)),
        Prop("ROI high", "number", ("roi_high",)),
        DATASET_PROP,
    ),
    "knowledge_known_issues": (
        Prop("Issue ID", "title", ("issue_id",)),
        # One date property with start and end: a single-week issue leaves the end empty.
        Prop("Dates", "date", ("start_date", "end_date")),
        Prop("Column", "select", ("column_name",)),
        Prop("Description", "rich_text", ("description",)),
        Prop("Action", "select", ("action",)),
        DATASET_PROP,
    ),
}
FIXED_OPTIONS = {("knowledge_known_issues", "Action"): ["flag", "exclude", "cap"]}


@dataclass(frozen=True)
class CollectionChange:
    """What a sync changed in one collection; rows are named by :func:`row_label`.

    ``other_datasets``: rows left out because they describe another dataset, per dataset.
    """

    table: str
    rows: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    other_datasets: dict[str, int] = field(default_factory=dict)

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class SyncReport:
    """Result of :func:`sync`, for the CLI and for the agent loop's decision log.

    ``collections`` maps ``knowledge_*`` table -> :class:`CollectionChange`; ``written`` lists
    the YAML files replaced (none on a dry run or when nothing changed).
    """

    dataset: str
    directory: str
    synced_at: str
    database_ids: dict[str, str]
    collections: dict[str, CollectionChange]
    written: tuple[str, ...]
    warnings: tuple[str, ...]
    dry_run: bool

    @property
    def changed(self) -> bool:
        return any(c.has_changes for c in self.collections.values())

    def summary(self) -> str:
        """Human-readable lines: one per collection, then the changed rows and warnings."""
        lines = []
        for table, change in self.collections.items():
            counts = f"+{len(change.added)} -{len(change.removed)} ~{len(change.changed)}"
            line = f"{TABLE_LABELS[table]}: {change.rows} rows ({counts})"
            if change.other_datasets:
                others = ", ".join(f"{name}: {n}" for name, n in change.other_datasets.items())
                ignored = sum(change.other_datasets.values())
                line += f"; {ignored} rows of other datasets ignored ({others})"
            lines.append(line)
            lines += [f"  added   {label}" for label in change.added]
            lines += [f"  removed {label}" for label in change.removed]
            for label, columns in change.changed.items():
                diffs = ", ".join(f"{c}: {old!r} -> {new!r}" for c, (old, new) in columns.items())
                lines.append(f"  changed {label} ({diffs})")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (dates as ISO strings) to store with an agent decision."""

        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, dt.date) else value

        return {
            "source": "notion",
            "dataset": self.dataset,
            "directory": self.directory,
            "synced_at": self.synced_at,
            "database_ids": dict(self.database_ids),
            "changed": self.changed,
            "dry_run": self.dry_run,
            "written": list(self.written),
            "warnings": list(self.warnings),
            "collections": {
                table: {
                    "rows": c.rows,
                    "other_datasets": dict(c.other_datasets),
                    "added": list(c.added),
                    "removed": list(c.removed),
                    "changed": {
                        label: {col: [plain(old), plain(new)] for col, (old, new) in cols.items()}
                        for label, cols in c.changed.items()
                    },
                }
                for table, c in self.collections.items()
            },
        }


@dataclass(frozen=True)
class PushResult:
    """Databases created by :func:`push`: config field -> id, and their urls and row counts."""

    database_ids: dict[str, str]
    urls: dict[str, str]
    rows: dict[str, int]

    def config_snippet(self) -> str:
        """The ``prism.yml`` lines that point ``prism knowledge sync`` at the new databases."""
        return yaml.safe_dump({"knowledge": {"notion": dict(self.database_ids)}}, sort_keys=False)


def database_ids(
    cfg: NotionConfig, environ: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """``knowledge_*`` table -> Notion database id, from the environment or ``prism.yml``.

    ``PRISM_NOTION_<FIELD>`` (e.g. ``PRISM_NOTION_KNOWN_ISSUES_ID``) wins over
    ``knowledge.notion.<field>``, so CI can point at other databases without editing files.
    Ids may be pasted as Notion URLs; they are normalised to dashed UUIDs.

    Raises
    ------
    NotionSyncError
        If a configured value is neither a Notion id nor a Notion URL.
    """
    environ = os.environ if environ is None else environ
    ids: dict[str, str | None] = {}
    for table, name in ID_FIELDS.items():
        env_name = ENV_PREFIX + name.upper()
        raw = environ.get(env_name) or getattr(cfg, name)
        if not raw:
            ids[table] = None
            continue
        ids[table] = extract_notion_id(raw)
        if ids[table] is None:
            source = env_name if environ.get(env_name) else f"knowledge.notion.{name}"
            raise NotionSyncError(f"{source} = {raw!r} is not a Notion database id or URL")
    return ids


def _client(cfg: NotionConfig, token: str) -> Client:
    options = ClientOptions(
        auth=token,
        timeout_ms=int(cfg.timeout_seconds * 1000),
        # The client's own request-failure warnings would duplicate our error messages.
        logger=LOG,
        log_level=logging.ERROR,
        # The client retries 429s (any method) waiting Retry-After, capped; then it raises.
        retry=RetryOptions(
            max_retries=cfg.max_retries,
            max_retry_delay_ms=int(cfg.max_retry_wait_seconds * 1000),
        ),
    )
    if cfg.base_url:
        options.base_url = cfg.base_url.rstrip("/")
    return Client(options)


@contextmanager
def _notion_errors(action: str, retries: int) -> Iterator[None]:
    """Turn client and network errors into one :class:`NotionSyncError` saying what to do."""
    try:
        yield
    except APIResponseError as exc:
        hints = {
            APIErrorCode.Unauthorized: "Notion rejected the token (401 unauthorized): check that "
            "NOTION_TOKEN is the integration's secret and has not been revoked",
            APIErrorCode.ObjectNotFound: "not found (404): check the id, and share the page or "
            "database with the integration (••• menu > Connections > your integration)",
            APIErrorCode.RestrictedResource: "access denied (403): give the integration read, "
            "update and insert content capabilities and share the page with it",
            APIErrorCode.RateLimited: f"still rate limited by Notion (429) after {retries} "
            "retries: wait a minute and run again",
        }
        hint = hints.get(exc.code, f"Notion API error {exc.status} {exc.code}: {exc}")
        raise NotionSyncError(f"{action}: {hint}") from None
    except RequestTimeoutError:
        raise NotionSyncError(f"{action}: the request to Notion timed out") from None
    except NotionClientErrorBase as exc:
        raise NotionSyncError(f"{action}: {exc}") from None
    except httpx.HTTPError as exc:
        raise NotionSyncError(f"{action}: could not reach Notion ({exc})") from None


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _match_properties(table: str, properties: dict[str, Any], where: str) -> dict[Prop, str]:
    """Map each expected property to the database's property name.

    Names match ignoring case, spaces and punctuation, and a one-column property may also
    be named after its column (``column_name``), so light renames in Notion do not break sync.
    """
    by_norm = {_norm(name): name for name in properties}
    matched: dict[Prop, str] = {}
    problems = []
    for prop in SCHEMAS[table]:
        aliases = [prop.name, *(prop.columns if len(prop.columns) == 1 else ())]
        name = next((by_norm[_norm(a)] for a in aliases if _norm(a) in by_norm), None)
        if name is None:
            problem = f"missing property {prop.name!r} ({prop.type})"
            if prop is DATASET_PROP:
                problem += (" (knowledge is scoped by dataset: add a select property "
                            "'Dataset' and set it on every row to the dataset it describes)")
            problems.append(problem)
            continue
        notion_type = properties[name].get("type")
        if notion_type not in prop.read_types:
            problems.append(
                f"property {name!r} is {notion_type}, expected {' or '.join(prop.read_types)}"
            )
            continue
        matched[prop] = name
    if problems:
        raise NotionSyncError(
            f"{where}: {'; '.join(problems)}. Properties found: {', '.join(sorted(properties))}"
        )
    return matched


def _value(prop_value: dict[str, Any] | None) -> Any:
    """A Python value from a page property value (text, name, bool, number or date pair)."""
    if not prop_value:
        return None
    kind = prop_value.get("type")
    value = prop_value.get(kind)
    if kind in ("title", "rich_text"):
        return "".join(part.get("plain_text", "") for part in value or []) or None
    if kind in ("select", "status"):
        return (value or {}).get("name")
    if kind == "date":
        if not value or not value.get("start"):
            return (None, None)
        # Weeks are dates: a datetime typed in Notion keeps only its date part.
        return (value["start"][:10], (value.get("end") or "")[:10] or None)
    return value  # checkbox, number


def _page_row(table: str, page: dict[str, Any], names: dict[Prop, str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for prop in SCHEMAS[table]:
        value = _value(page.get("properties", {}).get(names[prop]))
        if len(prop.columns) == 2:
            row.update(zip(prop.columns, value or (None, None), strict=True))
        else:
            row[prop.columns[0]] = value
    return row


def _fetch(
    client: Client, table: str, database_id: str, retries: int
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Rows, their origins (page id and url) and warnings of one Notion database."""
    label = TABLE_LABELS[table]
    where = f"{label} database {database_id}"
    warnings: list[str] = []
    with _notion_errors(f"reading the {where}", retries):
        database = client.databases.retrieve(database_id=database_id)
        sources = database.get("data_sources") or []
        if not sources:
            raise NotionSyncError(f"{where} has no data source (is it a linked view?)")
        if len(sources) > 1:
            warnings.append(f"{where} has {len(sources)} data sources; read the first only")
        source_id = sources[0]["id"]
        source = client.data_sources.retrieve(data_source_id=source_id)
        names = _match_properties(table, source.get("properties", {}), where)
        pages = list(
            iterate_paginated_api(
                client.data_sources.query, data_source_id=source_id, page_size=100
            )
        )
    rows, origins, empty = [], [], 0
    for page in pages:
        if page.get("object") != "page" or page.get("in_trash") or page.get("archived"):
            continue
        row = _page_row(table, page, names)
        # Notion's UI creates blank rows (a view filtered by dataset may pre-fill Dataset);
        # skip them rather than fail on them.
        if not any(v not in (None, False) for c, v in row.items() if c != DATASET):
            empty += 1
            continue
        rows.append(row)
        origins.append(f"{label} page {page['id']} ({page.get('url', 'no url')})")
    if empty:
        warnings.append(f"{where}: skipped {empty} empty row(s)")
    return rows, origins, warnings


def _own_rows(
    table: str, rows: list[dict[str, Any]], origins: list[str], dataset: str
) -> tuple[list[dict[str, Any]], list[str], list[str], dict[str, int]]:
    """Split fetched rows by their Dataset: the configured dataset's rows (without the
    dataset column) and their origins, a problem line per row with an empty Dataset, and the
    number of rows of every other dataset."""
    own, own_origins, bad, others = [], [], [], {}
    for row, origin in zip(rows, origins, strict=True):
        row = dict(row)
        owner = (row.pop(DATASET, None) or "").strip()
        if not owner:
            bad.append(
                f"{describe_row(table, row, origin)}: Dataset is empty: set it to the dataset the "
                f"row describes (this project's is {dataset!r})"
            )
        elif owner != dataset:
            others[owner] = others.get(owner, 0) + 1
        else:
            own.append(row)
            own_origins.append(origin)
    return own, own_origins, bad, dict(sorted(others.items()))


def _diff(
    table: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    other_datasets: dict[str, int] | None = None,
) -> CollectionChange:
    before = {row_key(table, r): r for r in old}
    after = {row_key(table, r): r for r in new}
    changed = {}
    for key in before.keys() & after.keys():
        columns = {
            c: (before[key][c], after[key][c])
            for c in after[key]
            if before[key][c] != after[key][c]
        }
        if columns:
            changed[row_label(table, after[key])] = columns
    return CollectionChange(
        table=table,
        rows=len(new),
        added=tuple(row_label(table, after[k]) for k in after if k not in before),
        removed=tuple(row_label(table, before[k]) for k in before if k not in after),
        changed=dict(sorted(changed.items())),
        other_datasets=dict(other_datasets or {}),
    )


def _sort(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Notion's row order is not stable (created_time has minute resolution), so snapshots
    # are sorted by row key for reproducible files and diffs.
    return sorted(rows, key=lambda r: tuple(str(v) for v in row_key(table, r)))


# A check of validated rows against the data: (table, rows, origins) -> problem lines.
RowCheck = Callable[[str, list[dict[str, Any]], list[str]], list[str]]


def sync(
    cfg: KnowledgeConfig,
    token: str,
    directory: str | Path,
    *,
    dataset: str,
    dry_run: bool = False,
    check: RowCheck | None = None,
) -> SyncReport:
    """Pull the configured dataset's rows of the three Notion databases into its YAML snapshot.

    Parameters
    ----------
    cfg : KnowledgeConfig
        ``knowledge`` section of the configuration (database ids, base_url, retries).
    token : str
        Notion integration secret (``NOTION_TOKEN``).
    directory : str or Path
        The dataset's snapshot directory (see
        :func:`prism_mmm.knowledge.local.knowledge_directory`).
    dataset : str
        ``data.dataset``: rows whose Dataset is another dataset are left out (and counted); a
        row with an empty Dataset is invalid.
    dry_run : bool, default False
        Fetch, validate and report the changes, but write nothing.
    check : callable, optional
        Problems of the valid rows against the data (e.g. a channel the dataset does not
        have, :func:`prism_mmm.knowledge.check.dataset_problems`); any makes the row invalid.

    Returns
    -------
    SyncReport
        Rows added, removed and changed per collection, and the files rewritten (only
        collections whose rows changed are rewritten).

    Raises
    ------
    NotionSyncError
        Missing ids, auth, access, network, rate-limit or database-schema problems.
    KnowledgeError
        Invalid rows; the message names each row's Notion page id and url.

    Nothing is written unless all three databases were read and every row validated.
    """
    ids = database_ids(cfg.notion)
    missing = [t for t, i in ids.items() if not i]
    if missing:
        names = ", ".join(
            f"knowledge.notion.{ID_FIELDS[t]} (or env {ENV_PREFIX}{ID_FIELDS[t].upper()})"
            for t in missing
        )
        raise NotionSyncError(
            f"NOTION_TOKEN is set but Notion database ids are missing: {names}. Create the "
            "databases with `prism knowledge push --parent PAGE_ID`, or unset NOTION_TOKEN "
            "to use the local YAML."
        )
    synced_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    fetched: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    warnings: list[str] = []
    with _client(cfg.notion, token) as client:
        for table, database_id in ids.items():
            rows, origins, notes = _fetch(client, table, database_id, cfg.notion.max_retries)
            fetched[table] = (rows, origins)
            warnings += notes

    new: dict[str, list[dict[str, Any]]] = {}
    others: dict[str, dict[str, int]] = {}
    problems = []
    for table, (rows, origins) in fetched.items():
        rows, origins, bad, others[table] = _own_rows(table, rows, origins, dataset)
        clean, invalid = row_problems(table, rows, origins)
        if check is not None and not invalid:  # clean rows align with origins only then
            invalid = check(table, clean, origins)
        if bad or invalid:
            problems.append(str(invalid_rows(table, bad + invalid)))
        else:
            new[table] = _sort(table, clean)
    if problems:
        raise KnowledgeError("\n".join(problems))
    warnings += _unknown_issue_columns(new)

    changes: dict[str, CollectionChange] = {}
    to_write: dict[str, list[dict[str, Any]]] = {}
    for table, rows in new.items():
        try:
            old, stale = read_rows(directory, table), False
        except KnowledgeError as exc:
            warnings.append(f"previous snapshot was invalid and is replaced: {exc}")
            old, stale = [], True
        changes[table] = _diff(table, old, rows, others[table])
        missing_file = not (Path(directory) / FILES[table][0]).exists()
        if stale or missing_file or changes[table].has_changes:
            to_write[table] = rows

    written: tuple[str, ...] = ()
    if to_write and not dry_run:
        headers = {
            table: f"Snapshot of the Notion {TABLE_LABELS[table]} database {ids[table]}, rows of "
            f"dataset {dataset}, synced {synced_at}.\nEdit this knowledge in Notion: `prism "
            "knowledge sync` overwrites this file."
            for table in to_write
        }
        write_snapshot(directory, to_write, headers)
        written = tuple(str(Path(directory) / FILES[t][0]) for t in to_write)
    return SyncReport(
        dataset=dataset,
        directory=str(directory),
        synced_at=synced_at,
        database_ids={ID_FIELDS[t]: i for t, i in ids.items() if i},
        collections=changes,
        written=written,
        warnings=tuple(warnings),
        dry_run=dry_run,
    )


def _unknown_issue_columns(tables: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Known issues on a column that Field Definitions does not define (likely a typo)."""
    defined = {r["column_name"] for r in tables["knowledge_field_definitions"]}
    return [
        f"known issue {r['issue_id']!r} is on column {r['column_name']!r}, which Field "
        "Definitions does not define"
        for r in tables["knowledge_known_issues"]
        if r["column_name"] != WHOLE_WEEK and defined and r["column_name"] not in defined
    ]


def _rich_text(text: str | None) -> list[dict[str, Any]]:
    text = text or ""
    return [
        {"type": "text", "text": {"content": text[i : i + RICH_TEXT_LIMIT]}}
        for i in range(0, len(text), RICH_TEXT_LIMIT)
    ]


def database_schema(table: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Property schema of a knowledge database, for ``initial_data_source.properties``.

    Select options are the values present in ``rows`` (Notion adds new ones as users type);
    rows carry their ``dataset`` as well as the knowledge columns.
    """
    schema: dict[str, Any] = {}
    for prop in SCHEMAS[table]:
        config: dict[str, Any] = {}
        if prop.type == "select":
            names = FIXED_OPTIONS.get((table, prop.name)) or sorted(
                {str(r[prop.columns[0]]) for r in rows if r[prop.columns[0]] is not None}
            )
            config = {"options": [{"name": n} for n in names]}
        elif prop.type == "number":
            config = {"format": "number"}
        schema[prop.name] = {prop.type: config}
    return schema


def page_properties(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Property values of one knowledge row and its ``dataset``, for ``pages.create``."""
    properties: dict[str, Any] = {}
    for prop in SCHEMAS[table]:
        value = row[prop.columns[0]]
        if prop.type in ("title", "rich_text"):
            properties[prop.name] = {prop.type: _rich_text(value)}
        elif prop.type == "select":
            properties[prop.name] = {"select": None if value is None else {"name": str(value)}}
        elif prop.type == "date":
            end = row[prop.columns[1]]
            properties[prop.name] = {
                "date": {
                    "start": value.isoformat(),
                    "end": end.isoformat() if end not in (None, value) else None,
                }
            }
        else:  # checkbox, number
            properties[prop.name] = {prop.type: value}
    return properties


def push(
    cfg: KnowledgeConfig, token: str, parent_page_id: str, directory: str | Path, dataset: str
) -> PushResult:
    """Create the three knowledge databases under a Notion page and fill them from the YAML.

    Parameters
    ----------
    cfg : KnowledgeConfig
        ``knowledge`` section (base_url, retries); database ids are not used.
    token : str
        Notion integration secret; the parent page must be shared with the integration.
    parent_page_id : str
        Page id or URL under which the databases are created.
    directory : str or Path
        The dataset's local YAML knowledge to upload; it is validated before anything is
        created.
    dataset : str
        ``data.dataset``: the value of every row's Dataset property.

    Returns
    -------
    PushResult
        The new database ids, to put in ``prism.yml`` under ``knowledge.notion``.

    Raises
    ------
    KnowledgeError
        The local YAML is invalid (nothing is created).
    NotionSyncError
        Notion refused or failed; the message lists databases created before the failure.
    """
    parent = extract_notion_id(parent_page_id)
    if parent is None:
        raise NotionSyncError(f"--parent {parent_page_id!r} is not a Notion page id or URL")
    tables = {
        table: [{**row, DATASET: dataset} for row in rows]
        for table, rows in validate_directory(directory).items()
    }
    ids: dict[str, str] = {}
    urls: dict[str, str] = {}
    with _client(cfg.notion, token) as client:
        for table, rows in tables.items():
            label = TABLE_LABELS[table]
            try:
                with _notion_errors(
                    f"creating the {label} database under page {parent}", cfg.notion.max_retries
                ):
                    database = client.databases.create(
                        parent={"type": "page_id", "page_id": parent},
                        title=_rich_text(label),
                        initial_data_source={"properties": database_schema(table, rows)},
                    )
                    ids[ID_FIELDS[table]] = database["id"]
                    urls[ID_FIELDS[table]] = database.get("url", "")
                    source_id = database["data_sources"][0]["id"]
                    for row in rows:
                        client.pages.create(
                            parent={"type": "data_source_id", "data_source_id": source_id},
                            properties=page_properties(table, row),
                        )
            except NotionSyncError as exc:
                if ids:
                    created = ", ".join(f"{name} {i}" for name, i in ids.items())
                    raise NotionSyncError(
                        f"{exc}\nAlready created (delete them in Notion before retrying): {created}"
                    ) from None
                raise
    return PushResult(
        database_ids=ids,
        urls=urls,
        rows={ID_FIELDS[t]: len(r) for t, r in tables.items()},
    )
