"""`prism init --data PATH.csv` (or `--spend-relation R --kpi-relation K` for warehouse tables):
profile the input, write prism.yml and scaffold the dataset's knowledge folder (neutral: nothing
is taken from another dataset)."""

from __future__ import annotations

from pathlib import Path

import yaml

from prism_mmm.cli import PrismError
from prism_mmm.config import KnowledgeConfig, PrismConfig, config_path, load_config


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "init", help="profile a CSV, write prism.yml and scaffold knowledge/<dataset>/"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="weekly CSV: date, KPI, spend per channel")
    source.add_argument("--spend-relation", help="warehouse relation in the layout of Fivetran's "
                        "ad_reporting__ad_report (table, schema.table or db.schema.table)")
    parser.add_argument("--kpi-relation", help="with --spend-relation: shopify__daily_shop or "
                        "shopify__orders layout (detected from its columns)")
    parser.add_argument("--kpi", default=None, help="with --spend-relation: the KPI column "
                        "(default net_sales)")
    parser.add_argument(
        "--dataset",
        default=None,
        help="dataset key (data.dataset): its knowledge lives in knowledge/<dataset>/ "
        "(default: the CSV's file name in snake_case; required for warehouse relations)",
    )
    parser.add_argument("--output", default=None, help="config file to write (default prism.yml)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing config, and scaffold the dataset's knowledge folder again "
        "if it exists (the files replaced are kept as *.yml.bak)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from prism_mmm.identifiers import UnsafeIdentifierError, check_identifier, to_snake_case
    from prism_mmm.ingest import InputError, profile
    from prism_mmm.knowledge.check import check_knowledge
    from prism_mmm.knowledge.local import (
        FIELD_COLUMNS,
        FILES,
        dataset_directory,
        knowledge_directory,
        read_rows,
    )
    from prism_mmm.knowledge.scaffold import write_scaffold
    from prism_mmm.knowledge.schema import KnowledgeError

    output = Path(args.output) if args.output else config_path()
    if output.exists() and not args.force:
        raise PrismError(f"{output} exists; pass --force to overwrite it or --output NEW.yml")
    if args.spend_relation and not (args.kpi_relation and args.dataset):
        raise PrismError("--spend-relation needs --kpi-relation and --dataset")
    data_path = Path(args.data).resolve() if args.data else None
    dataset = args.dataset or to_snake_case(data_path.stem)
    try:
        check_identifier(dataset, "dataset")
    except UnsafeIdentifierError as exc:
        source = "--dataset" if args.dataset else f"the file name {data_path.name!r}"
        raise PrismError(f"{source}: {exc} Pass --dataset NAME.") from None
    # The knowledge root stays the one in force (knowledge.directory and Notion settings are
    # carried into the new config), so the scaffold is where the build will look.
    knowledge = load_config().knowledge
    folder = dataset_directory(knowledge, dataset)
    try:
        # Only this dataset's own field definitions may decide roles; never another's.
        own_fields = read_rows(folder, "knowledge_field_definitions")
    except KnowledgeError as exc:
        raise PrismError(f"the knowledge of dataset {dataset} is invalid:\n{exc}") from None
    if data_path is None:
        data, found, input_name = _profile_relations(args)
        brand = dataset
    else:
        try:
            found = profile(data_path, pd.DataFrame(own_fields, columns=FIELD_COLUMNS))
        except (InputError, UnsafeIdentifierError) as exc:
            raise PrismError(f"{data_path}: {exc}") from None
        input_name, brand = data_path.name, found.label_columns.get("brand", data_path.stem)
        data = {"source": "csv", "path": str(data_path), "date_column": found.date_column,
                "kpi": found.kpi, "channels": found.channels, "controls": found.controls,
                "rename": found.rename, "label_columns": found.label_columns, "currency": "LCU"}
        if found.series_columns:
            data["series_columns"] = found.series_columns
    config = {"data": {**data, "dataset": dataset, "brand": brand}, "holdout_weeks": 13}
    if knowledge != KnowledgeConfig():
        config["knowledge"] = knowledge.model_dump(exclude_defaults=True)
    cfg = PrismConfig.model_validate(config)  # validate before writing
    folder = knowledge_directory(cfg)
    existed = any((folder / name).exists() for name, _, _ in FILES.values())
    backups = []
    if not existed or args.force:
        backups = write_scaffold(folder, dataset, found, brand, cfg.data.currency, own_fields)
    output.write_text(
        "# Written by `prism init`; review the roles below, then `prism build`.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    print(f"Profiled {input_name}: {found.n_weeks} weeks, {found.frequency}"
          if data_path is None else f"Profiled {input_name}: {found.n_weeks} rows, {found.frequency}")
    print(f"  dataset     : {dataset}")
    print(f"  date column : {found.date_column}")
    print(f"  KPI         : {found.kpi}")
    print(f"  channels    : {', '.join(found.channels)}")
    print(f"  controls    : {', '.join(found.controls) or '(none)'}")
    for raw, safe in found.rename.items():
        print(f"  renamed     : {raw!r} -> {safe}")
    for note in found.notes:
        print(f"  note        : {note}")
    if existed and not args.force:
        print(f"Kept the existing knowledge of dataset {dataset} in {folder} "
              "(--force scaffolds it again).")
        try:
            check_knowledge(cfg)
        except KnowledgeError as exc:
            print(f"  warning     : `prism build` will refuse it until fixed: {exc}")
    else:
        print(f"Scaffolded the knowledge of dataset {dataset} in {folder}: field definitions "
              "from the profile, business context without ROI ranges, no known issues, events "
              "or experiments.")
        for backup in backups:
            print(f"  replaced    : previous file kept as {backup}")
    print(f"Wrote {output}. Next: `prism build` (or `prism run` for the whole pipeline).")
    return 0


def _profile_relations(args) -> tuple[dict, object, str]:
    """``data`` for warehouse relations, their profile, and how to name them."""
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError
    from prism_mmm.sources import profile_warehouse
    from prism_mmm.warehouse import connect_read, warehouse_path

    if not warehouse_path().exists():
        raise PrismError(f"no warehouse at {warehouse_path()} to read {args.spend_relation} from")
    try:
        with connect_read() as con:
            proposed, found = profile_warehouse(con, args.spend_relation, args.kpi_relation,
                                                args.kpi)
    except (InputError, UnsafeIdentifierError) as exc:
        raise PrismError(str(exc)) from None
    data = {"source": "warehouse", "kpi": proposed["kpi"], "currency": proposed["currency"],
            "warehouse": proposed["warehouse"]}
    return data, found, f"{args.spend_relation} and {args.kpi_relation}"
