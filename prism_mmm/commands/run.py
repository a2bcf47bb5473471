"""`prism run`: the whole pipeline on the configured data — build the data layer, run the
agent loop (each round fits the three models through dbt), write the report."""

from __future__ import annotations

import argparse
import time

from prism_mmm.cli import PrismError
from prism_mmm.commands.loop import add_allow_failed_models, add_series


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="build, fit, run the agent loop, write the report")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="agent loop rounds (default: agents.rounds in prism.yml)",
    )
    parser.add_argument("--run-id", default=None, help="run identifier (default: new)")
    add_series(parser)
    add_allow_failed_models(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from prism_mmm.build import build_warehouse, data_layer_identity, new_run_id
    from prism_mmm.commands import loop
    from prism_mmm.config import load_config
    from prism_mmm.dbt import DbtError
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError
    from prism_mmm.warehouse import WarehouseError

    fixed = loop.series_overrides(load_config(), args.series)
    started = time.perf_counter()
    run_id = args.run_id or new_run_id()
    print(f"prism run · {run_id} · step 1/2: data layer (dbt build: seed, models, tests)", flush=True)
    cfg = load_config(overrides=fixed)
    try:
        path = build_warehouse(cfg, run_id, config_overrides=fixed, select="+tag:data_layer")
    except (InputError, UnsafeIdentifierError, WarehouseError, DbtError, ValueError) as exc:
        raise PrismError(f"{exc}\nThe existing warehouse was left unchanged.") from None
    print(
        f"prism run · data layer built in {time.perf_counter() - started:.1f} s: {path}", flush=True
    )
    print(f"prism run · {run_id} · step 2/2: agent loop (models fitted in every round)", flush=True)
    code = loop.run(argparse.Namespace(run_id=run_id, rounds=args.rounds, config=None,
                                       series=args.series,
                                       allow_failed_models=args.allow_failed_models,
                                       data_layer=data_layer_identity(cfg)))
    print(f"\nprism run · finished in {time.perf_counter() - started:.1f} s")
    print(f"  warehouse : {path}  (tables: channel_roi, model_agreement, budget_scenarios, ...)")
    print("  open next : ./prism.sh app   (or `prism app`), then http://127.0.0.1:8501")
    return code
