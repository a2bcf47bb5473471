"""`prism build`: validate the input and run dbt build, seeds included (safe swap)."""

from __future__ import annotations

import time

from prism_mmm.cli import PrismError


def register(subparsers) -> None:
    parser = subparsers.add_parser("build", help="validate input and run dbt build")
    parser.add_argument("--run-id", default=None, help="run identifier (default: new)")
    parser.add_argument("--round", type=int, default=1)
    parser.add_argument("--select", default=None, help="dbt selection (default: everything)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from prism_mmm.build import build_warehouse, new_run_id
    from prism_mmm.config import load_config
    from prism_mmm.dbt import DbtError
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError
    from prism_mmm.warehouse import WarehouseError

    started = time.perf_counter()
    run_id = args.run_id or new_run_id()
    try:
        cfg = load_config()
        path = build_warehouse(cfg, run_id, args.round, select=args.select)
    except (InputError, UnsafeIdentifierError, WarehouseError, DbtError, ValueError) as exc:
        raise PrismError(f"{exc}\nThe existing warehouse was left unchanged.") from None
    print(f"\nBuilt run {run_id} round {args.round} in {time.perf_counter() - started:.1f} s.")
    print(f"Warehouse: {path}")
    print("Next: `prism loop` to run the agents, `prism app` to open the results.")
    return 0
