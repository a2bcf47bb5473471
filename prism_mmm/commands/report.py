"""``prism report``: the report of a built run without the agent loop. For a run with several
series (a portfolio build) it is one page across the series, then a section per series with
its fit, its Analyst summary and the Critic's verdict; every number is proofread."""

from __future__ import annotations

import argparse

from prism_mmm.cli import PrismError
from prism_mmm.commands.loop import add_allow_failed_models


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write the portfolio report of a built run (no agent loop)",
        description="Reads the warehouse only: portfolio_roi across the series, then each "
        "series' tables. Writes reports/<run_id>/portfolio.md and portfolio.pptx.")
    parser.add_argument("--run-id", default=None, help="the run (default: the latest finished)")
    add_allow_failed_models(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agents.portfolio import write_portfolio_report
    from prism_mmm.config import load_config
    from prism_mmm.project import project_dir
    from prism_mmm.warehouse import WarehouseError, connect_read, latest_run

    try:
        with connect_read() as con:
            ref = latest_run(con, run_id=args.run_id)
            if ref is None:
                which = f"run {args.run_id}" if args.run_id else "any run"
                raise PrismError(f"no finished model run for {which} in the warehouse: run "
                                 "`prism build` first")
            report = write_portfolio_report(con, load_config(), ref.run_id, ref.round,
                                            project_dir() / "reports" / ref.run_id)
    except WarehouseError as exc:
        raise PrismError(str(exc)) from None
    print(f"report: {report.path}")
    print(f"slides: {report.pptx_path}")
    print(f"proofreader · {report.proof.summary()}")
    code = 0
    if report.failed_series:
        print(f"{len(report.failed_series)} series with a failed model in run {ref.run_id}: "
              f"{', '.join(report.failed_series)} (reasons in the report and mmm_runs.message)")
        code = 0 if args.allow_failed_models else 1
    if not report.proof.ok:
        print(f"proofreader FAILED: {report.proof.summary()}")
        code = 1
    return code
