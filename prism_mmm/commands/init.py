"""`prism init --data PATH.csv`: profile a CSV and write prism.yml."""

from __future__ import annotations

from pathlib import Path

import yaml

from prism_mmm.cli import PrismError
from prism_mmm.config import PrismConfig, config_path, load_config
from prism_mmm.dbt import project_dir


def register(subparsers) -> None:
    parser = subparsers.add_parser("init", help="profile a CSV and write prism.yml")
    parser.add_argument("--data", required=True, help="weekly CSV: date, KPI, spend per channel")
    parser.add_argument("--output", default=None, help="config file to write (default prism.yml)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing config")
    parser.set_defaults(func=run)


def run(args) -> int:
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError, profile
    from prism_mmm.knowledge.local import load_table

    output = Path(args.output) if args.output else config_path()
    if output.exists() and not args.force:
        raise PrismError(f"{output} exists; pass --force to overwrite it or --output NEW.yml")
    knowledge_dir = project_dir() / load_config().knowledge.directory
    field_definitions = load_table(knowledge_dir, "knowledge_field_definitions")
    data_path = Path(args.data).resolve()
    try:
        found = profile(data_path, field_definitions)
    except (InputError, UnsafeIdentifierError) as exc:
        raise PrismError(f"{data_path}: {exc}") from None
    config = {
        "data": {
            "source": "csv",
            "path": str(data_path),
            "date_column": found.date_column,
            "kpi": found.kpi,
            "channels": found.channels,
            "controls": found.controls,
            "rename": found.rename,
            "label_columns": found.label_columns,
            "brand": found.label_columns.get("brand", data_path.stem),
            "currency": "LCU",
        },
        "holdout_weeks": 13,
    }
    PrismConfig.model_validate(config)  # validate before writing
    output.write_text(
        "# Written by `prism init`; review the roles below, then `prism build`.\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    print(f"Profiled {data_path.name}: {found.n_weeks} rows, {found.frequency}")
    print(f"  date column : {found.date_column}")
    print(f"  KPI         : {found.kpi}")
    print(f"  channels    : {', '.join(found.channels)}")
    print(f"  controls    : {', '.join(found.controls) or '(none)'}")
    for raw, safe in found.rename.items():
        print(f"  renamed     : {raw!r} -> {safe}")
    for note in found.notes:
        print(f"  note        : {note}")
    print(f"Wrote {output}. Next: `prism build` (or `prism run` for the whole pipeline).")
    return 0
