"""A fake Notion API (version 2025-09-03) on 127.0.0.1, for tests that use the real client.

It serves, in memory, the endpoints ``prism knowledge sync|push`` call through
``notion_client.Client``: ``GET databases/{id}``, ``POST databases`` (with
``initial_data_source``), ``GET data_sources/{id}``, ``POST data_sources/{id}/query`` (cursor
pagination, ``page_size`` capped by the fake so small data spans several pages) and
``POST pages``. It checks the bearer token (401 otherwise), returns 404 for unknown ids,
400 for pages that do not match their database's schema, and can inject failures (a 429
with Retry-After, a 500, ...) on chosen requests.

Usage::

    from tests.knowledge.fake_notion import FakeNotion   # pytest's pythonpath has the repo

    with FakeNotion(page_size=3) as fake:       # or fake = FakeNotion().start(); fake.stop()
        ids = fake.seed("knowledge/conjura_apparel")  # every database, filled from local YAML
        fake.add_row(ids["known_issues_id"], {  # plain values, knowledge column names
            "issue_id": "tracking_outage", "start_date": "2023-03-06",
            "column_name": "meta_facebook", "action": "exclude",
        })                                      # Dataset: fake.dataset unless "dataset" is given
        fake.seed("knowledge/other", dataset="other_brand", ids=ids)  # more rows, same databases
        # prism.yml: {"knowledge": {"notion": fake.notion_config(ids)}}; NOTION_TOKEN=fake.token
        fake.fail(429, path_contains="/query", retry_after=1)   # next matching request only
        fake.stall(path_contains="/query", seconds=30)          # half an answer, then silence

``add_page(database_id, properties)`` adds a page with raw Notion property values (for
malformed rows); ``requests`` records every request (method, path, JSON body).
The ``fake`` fixture of ``tests/knowledge/conftest.py`` only serves that directory; other
tests start their own instance as above (it needs no fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from prism_mmm.config import DEMO_DATASET, KnowledgeConfig
from prism_mmm.knowledge.local import FILES, read_rows
from prism_mmm.knowledge.notion import DATASET, ID_FIELDS, database_schema, page_properties
from prism_mmm.knowledge.schema import COLUMNS, TABLE_LABELS

API_VERSION = "2025-09-03"
ERROR_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "restricted_resource",
    404: "object_not_found",
    429: "rate_limited",
    500: "internal_server_error",
    503: "service_unavailable",
}
PROPERTY_TYPES = ("title", "rich_text", "select", "status", "checkbox", "number", "date")


class ApiError(Exception):
    """Raised inside a handler; becomes a Notion error response."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or ERROR_CODES.get(status, "invalid_request")


@dataclass
class Failure:
    """A failure to inject on the next ``times`` requests that match."""

    status: int
    code: str
    method: str | None
    path_contains: str | None
    times: int
    after: int
    retry_after: float | None
    message: str

    def matches(self, method: str, path: str) -> bool:
        """Whether to fail this request (counts down ``after`` and ``times``)."""
        if self.times <= 0 or (self.method or method) != method:
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        if self.after > 0:
            self.after -= 1
            return False
        self.times -= 1
        return True


@dataclass
class Recorded:
    """One request as received."""

    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]


def _new_id() -> str:
    return str(uuid.uuid4())


def _url(object_id: str) -> str:
    return f"https://www.notion.so/{object_id.replace('-', '')}"


def _rich_text(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for part in parts:
        content = (part.get("text") or {}).get("content", part.get("plain_text", ""))
        out.append(
            {
                "type": "text",
                "text": {"content": content, "link": None},
                "annotations": {
                    "bold": False,
                    "italic": False,
                    "strikethrough": False,
                    "underline": False,
                    "code": False,
                    "color": "default",
                },
                "plain_text": content,
                "href": None,
            }
        )
    return out


def _plain(parts: list[dict[str, Any]]) -> str:
    return "".join(p["plain_text"] for p in parts)


class FakeNotion:
    """In-memory Notion workspace behind a local HTTP server (see the module docstring)."""

    def __init__(
        self, token: str = "secret_fake_token", page_size: int = 3, dataset: str = DEMO_DATASET
    ) -> None:
        self.token = token
        self.page_size = page_size  # the query page size cap: small so tests paginate
        self.dataset = dataset  # the Dataset of rows added without one
        self.requests: list[Recorded] = []
        self.parent_pages: set[str] = set()
        self.databases: dict[str, dict[str, Any]] = {}
        self.data_sources: dict[str, dict[str, Any]] = {}
        self._failures: list[Failure] = []
        self._stalls: list[list] = []  # [path_contains, seconds, times left]
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1 in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``knowledge.notion.base_url`` (the client appends ``/v1/``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ test API
    def add_parent_page(self) -> str:
        """A page shared with the integration, under which databases can be created."""
        page_id = _new_id()
        self.parent_pages.add(page_id)
        return page_id

    def add_database(
        self, title: str, properties: dict[str, Any], parent: str | None = None
    ) -> str:
        """Create a database from a property schema (``{"Name": {"title": {}}, ...}``)."""
        with self._lock:
            parent = parent or self.add_parent_page()
            database_id, source_id = _new_id(), _new_id()
            schema = {}
            for name, config in properties.items():
                ((kind, options),) = config.items()
                if kind not in PROPERTY_TYPES:
                    raise ApiError(400, f"unsupported property type {kind} for {name}")
                schema[name] = {
                    "id": "title" if kind == "title" else uuid.uuid4().hex[:4],
                    "name": name,
                    "type": kind,
                    kind: dict(options or {}),
                }
            if sum(p["type"] == "title" for p in schema.values()) != 1:
                raise ApiError(400, "a data source needs exactly one title property")
            self.databases[database_id] = {"title": title, "parent": parent, "source": source_id}
            self.data_sources[source_id] = {
                "database": database_id,
                "properties": schema,
                "rows": [],
            }
            return database_id

    def add_page(self, database_id: str, properties: dict[str, Any]) -> str:
        """Add a row with raw Notion property values (any value, even an invalid one)."""
        with self._lock:
            return self._create_page(self.databases[database_id]["source"], properties)["id"]

    def add_row(self, database_id: str, row: dict[str, Any]) -> str:
        """Add a row given by knowledge column names; values are not validated. Its Dataset
        is ``row["dataset"]`` when given (``None`` leaves it empty), else ``self.dataset``."""
        table = self.table_of(database_id)
        full = {column: row.get(column) for column in COLUMNS[table]}
        full[DATASET] = row.get(DATASET, self.dataset)
        for column in ("start_date", "end_date"):
            if isinstance(full.get(column), str):
                full[column] = dt.date.fromisoformat(full[column])
        return self.add_page(database_id, page_properties(table, full))

    def seed(
        self,
        directory: str | Path,
        dataset: str | None = None,
        ids: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Create the knowledge databases filled from a dataset's YAML directory, or, given
        ``ids``, add the rows to those databases; every row's Dataset is ``dataset`` (default
        ``self.dataset``).

        Returns
        -------
        dict
            ``field_definitions_id``, ``business_context_id``, ``known_issues_id``,
            ``events_id``, ``experiments_id`` -> id.
        """
        dataset = dataset or self.dataset
        parent = None if ids else self.add_parent_page()
        created = {}
        for table in FILES:
            rows = [{**row, DATASET: dataset} for row in read_rows(directory, table)]
            if ids:
                database_id = ids[ID_FIELDS[table]]
            else:
                database_id = self.add_database(
                    TABLE_LABELS[table], database_schema(table, rows, dataset), parent
                )
            for row in rows:
                self.add_page(database_id, page_properties(table, row))
            created[ID_FIELDS[table]] = database_id
        return created

    def notion_config(self, ids: dict[str, str]) -> dict[str, Any]:
        """The ``knowledge.notion`` section of ``prism.yml`` pointing at this fake."""
        return {**ids, "base_url": self.base_url, "max_retry_wait_seconds": 2.0}

    def knowledge_config(self, ids: dict[str, str], **notion: Any) -> KnowledgeConfig:
        """A ``KnowledgeConfig`` for this fake; ``notion`` overrides NotionConfig fields."""
        return KnowledgeConfig.model_validate({"notion": {**self.notion_config(ids), **notion}})

    def fail(
        self,
        status: int,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
        after: int = 0,
        retry_after: float | None = None,
        code: str | None = None,
        message: str = "injected failure",
    ) -> None:
        """Answer ``times`` matching requests with an error, after letting ``after`` through.

        Failures apply after the token check; ``retry_after`` sets the Retry-After header.
        """
        with self._lock:
            self._failures.append(
                Failure(
                    status,
                    code or ERROR_CODES.get(status, "invalid_request"),
                    method,
                    path_contains,
                    times,
                    after,
                    retry_after,
                    message,
                )
            )

    def stall(self, *, path_contains: str | None = None, seconds: float = 30.0,
              times: int = 1) -> None:
        """Answer ``times`` matching requests with the status line, the headers and half of
        the body, then send nothing more for ``seconds``: a server stalling mid-response."""
        with self._lock:
            self._stalls.append([path_contains, seconds, times])

    def _take_stall(self, path: str) -> float | None:
        with self._lock:
            for stall in self._stalls:
                if stall[2] > 0 and (stall[0] is None or stall[0] in path):
                    stall[2] -= 1
                    return stall[1]
        return None

    def table_of(self, database_id: str) -> str:
        """The ``knowledge_*`` table a database holds, from its title."""
        title = self.databases[database_id]["title"]
        return next(t for t, label in TABLE_LABELS.items() if label == title)

    def rows(self, database_id: str) -> list[dict[str, Any]]:
        """Page objects of a database, in creation order."""
        return list(self.data_sources[self.databases[database_id]["source"]]["rows"])

    def schema(self, database_id: str) -> dict[str, Any]:
        """Property schema of a database's data source."""
        return self.data_sources[self.databases[database_id]["source"]]["properties"]

    def count(self, method: str, path_contains: str) -> int:
        """How many requests matched."""
        return sum(r.method == method and path_contains in r.path for r in self.requests)

    # ------------------------------------------------------------------ HTTP
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0]
        headers: dict[str, str] = {}
        try:
            body = json.loads(raw) if raw else None
            with self._lock:
                self.requests.append(Recorded(method, path, body, dict(handler.headers)))
                status, payload = 200, self._route(handler, method, path, body or {}, headers)
        except ApiError as exc:
            status = exc.status
            payload = {
                "object": "error",
                "status": exc.status,
                "code": exc.code,
                "message": exc.message,
                "request_id": _new_id(),
            }
        except json.JSONDecodeError:
            status = 400
            payload = {
                "object": "error",
                "status": 400,
                "code": "invalid_json",
                "message": "Error parsing JSON body.",
            }
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        stall = self._take_stall(path)
        if stall is not None:
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            time.sleep(stall)
            return
        handler.wfile.write(data)

    def _route(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> dict[str, Any]:
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "API token is invalid.")
        if handler.headers.get("Notion-Version") != API_VERSION:
            raise ApiError(400, f"Notion-Version must be {API_VERSION}", "missing_version")
        for failure in self._failures:
            if failure.matches(method, path):
                if failure.retry_after is not None:
                    headers["Retry-After"] = f"{failure.retry_after:g}"
                raise ApiError(failure.status, failure.message, failure.code)
        parts = path.strip("/").split("/")
        if parts[0] != "v1":
            raise ApiError(400, f"Invalid request URL {path}", "invalid_request_url")
        match method, parts[1:]:
            case "GET", ["databases", database_id]:
                return self._database(database_id)
            case "POST", ["databases"]:
                return self._create_database(body)
            case "GET", ["data_sources", source_id]:
                return self._data_source(source_id)
            case "POST", ["data_sources", source_id, "query"]:
                return self._query(source_id, body)
            case "POST", ["pages"]:
                return self._create_page_request(body)
        raise ApiError(400, f"Invalid request URL {method} {path}", "invalid_request_url")

    def _find(self, collection: dict[str, Any], object_id: str, kind: str) -> dict[str, Any]:
        if object_id not in collection:
            raise ApiError(
                404,
                f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages "
                "and databases are shared with your integration.",
            )
        return collection[object_id]

    def _database(self, database_id: str) -> dict[str, Any]:
        database = self._find(self.databases, database_id, "database")
        return {
            "object": "database",
            "id": database_id,
            "title": _rich_text([{"text": {"content": database["title"]}}]),
            "parent": {"type": "page_id", "page_id": database["parent"]},
            "data_sources": [{"id": database["source"], "name": database["title"]}],
            "url": _url(database_id),
            "in_trash": False,
        }

    def _create_database(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = (body.get("parent") or {}).get("page_id")
        self._find({p: p for p in self.parent_pages}, parent, "page")
        title = _plain(_rich_text(body.get("title") or []))
        properties = (body.get("initial_data_source") or {}).get("properties")
        if not properties:
            raise ApiError(400, "body.initial_data_source.properties should be defined")
        return self._database(self.add_database(title, properties, parent))

    def _data_source(self, source_id: str) -> dict[str, Any]:
        source = self._find(self.data_sources, source_id, "data source")
        database = self.databases[source["database"]]
        return {
            "object": "data_source",
            "id": source_id,
            "parent": {"type": "database_id", "database_id": source["database"]},
            "title": _rich_text([{"text": {"content": database["title"]}}]),
            "properties": source["properties"],
        }

    def _query(self, source_id: str, body: dict[str, Any]) -> dict[str, Any]:
        source = self._find(self.data_sources, source_id, "data source")
        rows = [r for r in source["rows"] if not r["in_trash"]]
        size = min(int(body.get("page_size") or 100), 100, self.page_size)
        cursor = body.get("start_cursor")
        start = 0
        if cursor is not None:
            if not str(cursor).startswith("cursor-"):
                raise ApiError(400, "start_cursor provided is invalid")
            start = int(cursor.removeprefix("cursor-"))
        end = start + size
        return {
            "object": "list",
            "results": rows[start:end],
            "has_more": end < len(rows),
            "next_cursor": f"cursor-{end}" if end < len(rows) else None,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }

    def _create_page_request(self, body: dict[str, Any]) -> dict[str, Any]:
        parent = body.get("parent") or {}
        if "data_source_id" not in parent:
            raise ApiError(400, "body.parent.data_source_id should be defined")
        return self._create_page(parent["data_source_id"], body.get("properties") or {})

    def _create_page(self, source_id: str, properties: dict[str, Any]) -> dict[str, Any]:
        source = self._find(self.data_sources, source_id, "data source")
        schema = source["properties"]
        values = {}
        for name, value in properties.items():
            if name not in schema:
                raise ApiError(400, f"{name} is not a property that exists.")
            kind = schema[name]["type"]
            if not isinstance(value, dict) or kind not in value:
                raise ApiError(400, f"{name} is expected to be {kind}.")
            values[name] = value[kind]
        page_id = _new_id()
        page = {
            "object": "page",
            "id": page_id,
            "created_time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:00.000Z"),
            "parent": {
                "type": "data_source_id",
                "data_source_id": source_id,
                "database_id": source["database"],
            },
            "in_trash": False,
            "archived": False,
            "url": _url(page_id),
            "properties": {
                name: {
                    "id": prop["id"],
                    "type": prop["type"],
                    prop["type"]: self._value(prop, values.get(name)),
                }
                for name, prop in schema.items()
            },
        }
        source["rows"].append(page)
        return page

    @staticmethod
    def _value(prop: dict[str, Any], value: Any) -> Any:
        """A stored property value in response form; new select options are added."""
        kind = prop["type"]
        if kind in ("title", "rich_text"):
            return _rich_text(value or [])
        if kind in ("select", "status"):
            if not value:
                return None
            options = prop[kind].setdefault("options", [])
            if value["name"] not in [o["name"] for o in options]:
                options.append(
                    {"id": uuid.uuid4().hex[:4], "name": value["name"], "color": "default"}
                )
            return {"id": "opt", "name": value["name"], "color": "default"}
        if kind == "date":
            return (
                None
                if not value
                else {"start": value.get("start"), "end": value.get("end"), "time_zone": None}
            )
        if kind == "checkbox":
            return bool(value)
        return value  # number
