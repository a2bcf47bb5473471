"""``prism bench``: the benchmarks in ``bench/`` (ours vs pymc-marketing; pipeline timing).

The same code as ``python -m bench``. The peer (pymc-marketing) is a benchmark-only extra:
``pip install -e '.[bench]'``; without it only our model is measured.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from bench.cli import add_arguments

    parser = subparsers.add_parser(
        "bench",
        help="benchmark the Bayesian engine against pymc-marketing",
        description="Fit our Bayesian MMM and pymc-marketing's MMM on the same data with the "
        "same draws/chains (each measurement in its own process); print a table and ratios "
        "and write bench/results/. `prism bench pipeline` times and profiles `dbt build`.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.cli import run as bench_run

    return bench_run(args)
