"""``prism loop``: run (or resume) the agent improvement loop and write the report."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from prism_mmm.cli import PrismError

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loop",
        help="run the agent improvement loop",
        description="Explore, then per round: tune one setting, rebuild the models, analyse, "
        "critique, keep or revert. Resumes an interrupted run with the same --run-id.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="maximum rounds (default: agents.rounds in prism.yml)",
    )
    parser.add_argument("--run-id", default=None,
                        help="run identity (default: a new one); reuse it to resume")
    parser.add_argument("--config", default=None, help="prism.yml path (default: PRISM_CONFIG)")
    add_series(parser)
    add_allow_failed_models(parser)
    parser.set_defaults(func=run)


def add_series(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--series", default=None,
        help="for a file with several series (data.series_columns): the one series (its "
        "series_id, e.g. m02) the loop tunes and reports on; each round fits only it")


def series_overrides(cfg, series: str | None) -> dict:
    """The settings that pin the loop to one series: the agents, their score and the report
    read one series. A portfolio without ``--series`` (or ``data.only_series`` of one) is
    refused before any work."""
    if series is not None:
        if not cfg.data.series_columns:
            raise PrismError(f"--series {series}: the input is one series (prism.yml names no "
                             "data.series_columns)")
        return {"data": {"only_series": [series]}}
    if cfg.data.series_columns and len(cfg.data.only_series) != 1:
        raise PrismError(
            f"data.series_columns ({', '.join(cfg.data.series_columns)}) names several series; "
            "the agent loop and its report work on one series at a time: pass --series with "
            "its series_id (stg_input__series lists them). `prism build` fits every series.")
    return {}


def add_allow_failed_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-failed-models", action="store_true",
        help="exit 0 even when a model failed in the reported round (the failure is still "
        "printed, recorded in mmm_runs and named in the report)")


def run(args: argparse.Namespace) -> int:
    from agents.runner import DbtBuilder, LoopRunner
    from prism_mmm.config import load_config
    from prism_mmm.dbt import DbtError
    from prism_mmm.identifiers import UnsafeIdentifierError
    from prism_mmm.ingest import InputError
    from prism_mmm.project import project_dir
    from prism_mmm.warehouse import WarehouseError, warehouse_path

    if args.run_id is None:
        from prism_mmm.build import new_run_id

        args.run_id = new_run_id()
        print(f"new run {args.run_id}: if interrupted, resume with "
              f"`prism loop --run-id {args.run_id}`", flush=True)
    if not RUN_ID.fullmatch(args.run_id):
        raise PrismError(
            f"run id {args.run_id!r}: use letters, digits, '_', '-' or '.' "
            "(it names the report folder)"
        )
    cfg = load_config(args.config)
    fixed = series_overrides(cfg, args.series)
    rounds = args.rounds or cfg.agents.rounds
    if rounds < 1:
        raise PrismError("--rounds must be at least 1")
    duckdb_path = warehouse_path()
    if not duckdb_path.exists():
        raise PrismError(f"no warehouse at {duckdb_path}: run `prism build` first")
    runner = LoopRunner(
        run_id=args.run_id,
        rounds=rounds,
        duckdb_path=duckdb_path,
        reports_dir=project_dir() / "reports",
        config_path=Path(args.config) if args.config else None,
        builder=DbtBuilder(data_layer=getattr(args, "data_layer", None)),
        echo=lambda line: print(line, flush=True),
        fixed_overrides=fixed,
    )
    series = f" · series {args.series}" if args.series else ""
    print(
        f"prism loop · run {args.run_id}{series} · up to {rounds} rounds · warehouse "
        f"{duckdb_path}",
        flush=True,
    )
    try:
        result = runner.run()
    except DbtError as exc:
        raise PrismError(
            f"model build failed; fix it and rerun the same command to resume: {exc}"
        ) from exc
    except (InputError, UnsafeIdentifierError) as exc:
        raise PrismError(f"{exc}\nThe existing warehouse was left unchanged.") from None
    except WarehouseError as exc:
        raise PrismError(f"{exc}\nRerun the same command to resume.") from None
    print(f"best round {result.best_round} (score {result.best_score:.3f})")
    print(f"report: {result.report_path}")
    print(f"slides: {result.pptx_path}")
    print("next: `prism app` to explore the results, or open the report above")
    code = 0
    if result.failed_models:
        print(f"{len(result.failed_models)} model(s) FAILED in the reported round "
              f"{result.best_round}: {', '.join(result.failed_models)} (reasons: mmm_runs.message "
              "and the report)")
        code = 0 if args.allow_failed_models else 1
    if not result.proof_ok:
        print(f"proofreader FAILED: {result.proof_summary}")
        code = 1
    return code
