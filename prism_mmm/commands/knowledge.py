"""``prism knowledge sync|push``: the knowledge layer from Notion, or the local YAML."""

from __future__ import annotations

import argparse
import os
from functools import partial
from pathlib import Path

from pydantic import ValidationError

from prism_mmm.cli import PrismError
from prism_mmm.config import PrismConfig, config_path, load_config
from prism_mmm.knowledge.check import check_knowledge, dataset_problems
from prism_mmm.knowledge.local import knowledge_directory, validate_directory
from prism_mmm.knowledge.notion import NotionSyncError, database_ids, push, sync
from prism_mmm.knowledge.schema import TABLE_LABELS, KnowledgeError

TOKEN_ENV = "NOTION_TOKEN"
BUILD_HINT = "Run `prism build` to load the knowledge into the warehouse tables knowledge_*."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "knowledge",
        help="sync/push the knowledge layer (Notion or local YAML)",
        description="Field Definitions, Business Context and Known Issues of the configured "
        "dataset (data.dataset) come from Notion when "
        f"{TOKEN_ENV} and the database ids (knowledge.notion.* in prism.yml, or env "
        "PRISM_NOTION_*_ID) are set, keeping the rows whose Dataset is that dataset; otherwise "
        "from the YAML files in <knowledge.directory>/<data.dataset>/.",
    )
    actions = parser.add_subparsers(dest="knowledge_command", metavar="ACTION", required=True)
    sync_parser = actions.add_parser(
        "sync",
        help="pull the dataset's rows of the Notion databases into its local YAML snapshot "
        "(without a token: validate the local YAML)",
    )
    sync_parser.add_argument(
        "--dry-run", action="store_true", help="fetch, validate and report changes; write nothing"
    )
    sync_parser.set_defaults(func=_sync)
    push_parser = actions.add_parser(
        "push",
        help="create the three Notion databases under a page, filled from the dataset's local "
        "YAML (Dataset property set to data.dataset)",
    )
    push_parser.add_argument(
        "--parent",
        required=True,
        metavar="PAGE_ID",
        help="Notion page id or URL to create the databases under (share it with the "
        "integration first)",
    )
    push_parser.set_defaults(func=_push)


def _config() -> PrismConfig:
    try:
        return load_config()
    except ValidationError as exc:
        raise PrismError(f"invalid configuration in {config_path()}: {exc}") from None


def _sync(args: argparse.Namespace) -> int:
    cfg = _config()
    directory = knowledge_directory(cfg)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _validate_local(cfg, directory)
    try:
        report = sync(cfg.knowledge, token, directory, dataset=cfg.data.dataset,
                      dry_run=args.dry_run, check=partial(dataset_problems, cfg))
    except KnowledgeError as exc:
        raise PrismError(
            f"the Notion knowledge is invalid, so the snapshot in {directory} was left "
            f"unchanged. Fix these rows in Notion and sync again:\n{exc}"
        ) from None
    except NotionSyncError as exc:
        raise PrismError(f"{exc}\nThe snapshot in {directory} was left unchanged.") from None
    except OSError as exc:
        raise PrismError(f"could not write the snapshot in {directory}: {exc}") from None
    print(report.summary())
    if args.dry_run:
        print(f"Dry run: nothing written to {directory}.")
    elif not report.written:
        print(f"Notion and the snapshot in {directory} already agree; nothing written.")
    else:
        print(f"Wrote {', '.join(report.written)}.\n{BUILD_HINT}")
    return 0


def _validate_local(cfg: PrismConfig, directory: Path) -> int:
    try:
        configured = any(database_ids(cfg.knowledge.notion).values())
    except NotionSyncError:
        configured = True  # an id is set, if malformed; only the note below depends on it
    note = " (Notion database ids are configured, but the token is missing)" if configured else ""
    print(f"{TOKEN_ENV} is not set: using the local YAML knowledge in {directory}{note}.")
    try:
        tables = validate_directory(directory)
        check_knowledge(cfg)  # and against the data, as `prism build` will
    except KnowledgeError as exc:
        raise PrismError(f"the local knowledge is invalid:\n{exc}") from None
    for table, rows in tables.items():
        print(f"{TABLE_LABELS[table]}: {len(rows)} rows")
    print(f"Local knowledge is valid. {BUILD_HINT}")
    return 0


def _push(args: argparse.Namespace) -> int:
    cfg = _config()
    directory = knowledge_directory(cfg)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise PrismError(
            f"{TOKEN_ENV} is not set: create a Notion integration, copy its secret into "
            f"{TOKEN_ENV}, and share the parent page with the integration"
        )
    try:
        result = push(cfg.knowledge, token, args.parent, directory, cfg.data.dataset)
    except KnowledgeError as exc:
        raise PrismError(f"the local knowledge is invalid; nothing was created:\n{exc}") from None
    except NotionSyncError as exc:
        raise PrismError(str(exc)) from None
    print(f"Created {len(result.database_ids)} Notion databases from {directory} "
          f"(Dataset: {cfg.data.dataset}):")
    for name, database_id in result.database_ids.items():
        print(f"  {name}: {database_id}  {result.urls[name]}  ({result.rows[name]} rows)")
    print("Add these ids to prism.yml:\n")
    print(result.config_snippet())
    print("Then run `prism knowledge sync` (with NOTION_TOKEN set) and `prism build`.")
    return 0
