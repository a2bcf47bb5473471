"""Command line of the benchmarks, shared by ``python -m bench`` and ``prism bench``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?",
                        choices=["fit", "pipeline", "recovery", "calibration", "holdout", "load",
                                 "size", "portfolio"],
                        default="fit",
                        help="fit: ours vs pymc-marketing speed (default); pipeline: time dbt "
                        "build; recovery: ROI error and coverage on known-truth data; "
                        "calibration: ROI error before and after lift tests, our three models "
                        "and pymc-marketing's add_lift_test_measurements; holdout: last-13-week "
                        "sMAPE/R² of a real prism build and of pymc-marketing on its mmm_input; "
                        "load: "
                        "readers while builds and a loop round write; size: peak memory of the "
                        "data layer on the largest allowed input; portfolio: a whole prism build "
                        "over many series (local and spark engines) against a loop of "
                        "pymc-marketing fits")
    parser.add_argument("--quick", action="store_true",
                        help="tiny draws (2 chains x 100/100) to check the machinery")
    parser.add_argument("--draws", type=int, default=None, help="draws per chain (default 1000)")
    parser.add_argument("--tune", type=int, default=None, help="tuning steps (default 1000)")
    parser.add_argument("--chains", type=int, default=None, help="chains (default 4)")
    parser.add_argument("--only", choices=["ours", "peer"], default=None,
                        help="measure only our model(s) or only pymc-marketing")
    parser.add_argument("--datasets", default="apparel,truth",
                        help="comma list of apparel (bundled data), truth (known-truth data)")
    parser.add_argument("--peer-samplers", default="pymc,nutpie,numpyro",
                        help="pymc-marketing NUTS implementations to measure")
    parser.add_argument("--truth-peer-samplers", default=None,
                        help="peer samplers on the truth data (default: --peer-samplers)")
    parser.add_argument("--ours-config", default=None, metavar="JSON",
                        help="prism.yml overrides for our model, e.g. "
                        "'{\"transforms\": {\"saturation\": \"logistic\"}}'")
    parser.add_argument("--ours-sampler", default="default",
                        help="override bayes.sampling.engine for our model (default: prism.yml)")
    parser.add_argument("--no-new-process", action="store_true",
                        help="skip the warm-in-a-new-process measurement of our model")
    parser.add_argument("--caches", choices=["fresh", "shared"], default="fresh",
                        help="fresh: empty pytensor/numba/jax compile caches per measurement "
                        "(truly cold); shared: the user's default caches")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR,
                        help="where bench_<timestamp>.csv/.md and latest.md go")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds per measurement before it is reported as failed")
    parser.add_argument("--no-loop", action="store_true", help="pipeline: skip the loop round")
    parser.add_argument("--no-app", action="store_true", help="pipeline: skip the app load")
    parser.add_argument("--builds", type=int, default=3,
                        help="load: successive `prism build`s under the readers")
    parser.add_argument("--loop-rounds", type=int, default=1,
                        help="load: rounds of `prism loop` after the builds (0: none)")
    parser.add_argument("--series", type=int, default=24, help="portfolio: series")
    parser.add_argument("--weeks", type=int, default=156, help="portfolio: weeks per series")
    parser.add_argument("--channels", type=int, default=8, help="portfolio: channels")
    parser.add_argument("--engines", default="local,spark", help="portfolio: engines to build on")
    parser.add_argument("--dataset", default=None,
                        help="portfolio: a committed known-truth dataset with a geo column "
                        "(e.g. geo_brand_8m) instead of a generated portfolio")
    parser.add_argument("--pooled-peer", action="store_true",
                        help="portfolio: also fit pymc-marketing's multidimensional MMM over all "
                        "markets at once (partial pooling)")
    parser.add_argument("--peer-series", type=int, default=None,
                        help="portfolio: fit the peer on the first N series only (its speed is "
                        "compared per series)")
    parser.add_argument("--config-overrides", type=json.loads, default=None,
                        help="portfolio: JSON merged into our project's prism.yml, e.g. "
                        "'{\"bayes\": {\"roi_spread\": 10}}'")
    parser.add_argument("--bayes-settings", choices=["full", "fast"], default="full",
                        help="pipeline: prism.yml bayes settings (full) or the tests' fast ones")


def settings_from(args: argparse.Namespace) -> dict[str, int]:
    from bench.core import FULL, QUICK

    settings = dict(QUICK if args.quick else FULL)
    for key in ("chains", "draws", "tune"):
        if getattr(args, key) is not None:
            settings[key] = int(getattr(args, key))
    return settings


def run(args: argparse.Namespace) -> int:
    if args.target == "size":
        from bench.size import run_size_bench

        results = run_size_bench(args.results_dir)
        return 0 if all(r["exit"] in (0, 2) for r in results) else 1
    if args.target == "load":
        from bench.load import run_load_bench

        result = run_load_bench(args.results_dir, builds=args.builds,
                                loop_rounds=args.loop_rounds)
        return 0 if result.ok else 1
    if args.target == "recovery":
        from bench.recovery import run_recovery

        table = run_recovery(settings_from(args), args.results_dir)
        return 1 if table.get("status", []).eq("failed").any() else 0
    if args.target == "calibration":
        from bench.calibration import OURS, PEER, run_calibration

        engines = {None: (*OURS, PEER), "ours": OURS, "peer": (PEER,)}[args.only]
        table = run_calibration(
            settings_from(args), args.results_dir, engines=engines, timeout=args.timeout,
            overrides=json.loads(args.ours_config) if args.ours_config else None)
        return 1 if table["status"].eq("failed").any() else 0
    if args.target == "holdout":
        from bench.holdout import run_holdout

        table = run_holdout(settings_from(args), args.results_dir, peer=args.only != "ours",
                            timeout=args.timeout)
        return 1 if table["status"].eq("failed").any() else 0
    if args.target == "portfolio":
        from bench.portfolio import run_portfolio_bench

        table = run_portfolio_bench(
            settings_from(args), args.results_dir, n_series=args.series, n_weeks=args.weeks,
            n_channels=args.channels, engines=tuple(e for e in args.engines.split(",") if e),
            peer=args.only != "ours", peer_series=args.peer_series,
            overrides=args.config_overrides, dataset=args.dataset,
            pooled_peer=args.pooled_peer)
        return 1 if (table["exit"] != 0).any() else 0
    if args.target == "pipeline":
        from bench.pipeline import run_pipeline_bench

        run_pipeline_bench(args.results_dir, quick=args.quick, bayes=args.bayes_settings,
                           loop=not args.no_loop, app=not args.no_app)
        return 0
    from bench.core import run_bench

    report = run_bench(
        settings_from(args), args.results_dir, only=args.only,
        datasets=tuple(d for d in args.datasets.split(",") if d),
        peer_samplers=tuple(s for s in args.peer_samplers.split(",") if s),
        new_process=not args.no_new_process, caches=args.caches,
        ours_sampler=args.ours_sampler, timeout=args.timeout,
        ours_overrides=json.loads(args.ours_config) if args.ours_config else None,
        truth_peer_samplers=tuple(s for s in args.truth_peer_samplers.split(",") if s)
        if args.truth_peer_samplers else None,
    )
    return 1 if (report["table"]["status"] != "ok").any() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
