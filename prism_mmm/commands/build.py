"""`prism build`: validate the input and run dbt build, seeds included (safe swap)."""

from __future__ import annotations

import time

from prism_mmm.cli import PrismError


def register(subparsers) -> None:
    parser = subparsers.add_parser("build", help="validate input and run dbt build")
    parser.add_argument("--run-id", default=None, help="run identifier (default: new)")
    parser.add_argument("--round", type=int, default=1)
    parser.add_argument("--select", default=None, help="dbt selection (default: everything)")
    parser.add_argument(
        "--allow-failed-models", action="store_true",
        help="keep the other models' results and exit 0 when a model fails (the failure is "
        "still printed and recorded in mmm_runs)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from prism_mmm.build import build_warehouse, model_status, new_run_id
    from prism_mmm.config import load_config
    from prism_mmm.dbt import DbtError
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError
    from prism_mmm.warehouse import WarehouseError

    started = time.perf_counter()
    run_id = args.run_id or new_run_id()
    try:
        cfg = load_config()
        path = build_warehouse(cfg, run_id, args.round, select=args.select,
                               allow_failed_models=args.allow_failed_models)
    except (InputError, UnsafeIdentifierError, WarehouseError, DbtError, ValueError) as exc:
        raise PrismError(f"{exc}\nThe existing warehouse was left unchanged.") from None
    print(f"\nBuilt run {run_id} round {args.round} in {time.perf_counter() - started:.1f} s.")
    print(f"Warehouse: {path}")
    report_input(path, cfg)
    code = report_models(model_status(path, run_id, args.round), args.allow_failed_models)
    if code == 0:
        print("Next: `prism loop` to run the agents, `prism app` to open the results.")
    return code


def report_input(path, cfg) -> None:
    """What the input left out (a warehouse source's partial weeks, spend outside them)."""
    from prism_mmm.sources import source_notes
    from prism_mmm.warehouse import connect_read

    with connect_read(path) as con:
        notes = source_notes(con, cfg)
    for note in notes:
        print(f"Input: {note}")


def report_models(status, allow_failed_models: bool) -> int:
    """Print one line per fitted model; 1 when one failed (unless the user accepts partial
    results), so no script mistakes a missing model for a finished build."""
    from prism_mmm.build import format_model_status

    if status.empty:
        return 0
    print("Models:")
    print(format_model_status(status))
    failed_rows = status[status["status"] == "failed"]
    if failed_rows.empty:
        return 0
    if status["series_id"].nunique() > 1:
        failed = sorted(set(failed_rows["series_id"]))
        print(f"\n{len(failed)} of {status['series_id'].nunique()} series FAILED in at least "
              f"one model: {', '.join(failed)}. The other fits' results are in the warehouse.")
    else:
        failed = failed_rows["model"].tolist()
        print(f"\n{len(failed)} of {len(status)} models FAILED: {', '.join(failed)}. The other "
              "models' results are in the warehouse.")
    if allow_failed_models:
        return 0
    print("Fix the cause above, or rerun with --allow-failed-models to accept partial results.")
    return 1
