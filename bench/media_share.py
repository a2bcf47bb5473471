"""Media-share prior study: the production Bayesian model ("ours" of bench/recovery.py) on every
known-truth dataset, once per candidate default of ``bayes.media_share``.

Run it on a clean checkout (a snapshot: ``git archive HEAD | tar -x -C DIR``), so edits made
meanwhile do not leak into the comparison. Results go to bench/results/media_share/; the
study behind the default of 5-80% is bench/results/media_share_latest.md.

    python -m bench.media_share run [--chains 4 --draws 1000 --tune 1000] [--only DATASET ...]
    python -m bench.media_share worker DATASET CANDIDATE SETTINGS_JSON SEED OUT_JSON  (one fit)
    python -m bench.media_share holdout CANDIDATE SETTINGS_JSON SEED OUT_JSON  (brand, 13 wk)
    python -m bench.media_share report

Each fit runs in its own process, one after another (never in parallel), like bench.recovery.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SNAP = Path(__file__).resolve().parent.parent  # the checkout this module belongs to
RESULTS = SNAP / "bench" / "results" / "media_share"
# Candidate defaults: bayes.media_share and bayes.roi_spread (1 = every channel's ROI prior
# is the brand's average, as before roi_spread existed).
CANDIDATES = {
    "a": {"media_share": [0.05, 0.60], "roi_spread": 1.0},
    "b": {"media_share": [0.05, 0.80], "roi_spread": 1.0},
    "c": {"media_share": [0.10, 0.90], "roi_spread": 1.0},
    "d": {"media_share": None, "roi_spread": 1.0},
    "e": {"media_share": [0.05, 0.80], "roi_spread": 10.0},
    # e with a Hill shape prior centred on a concave curve (Meridian fixes the slope at 1):
    # the S-shaped default decides how an always-on channel's ROI extrapolates below its
    # lowest week.
    "f": {"media_share": [0.05, 0.80], "roi_spread": 10.0,
          "priors": {"shape": {"distribution": "gamma", "params": {"mu": 1.0, "sigma": 0.4}}}},
}
DATASETS = ["awkward_3ch", "brand_4ch", "pymc_example", "pymc_roas", "confounded_lift",
            "fivetran_shop"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SNAP), "PRISM_PROJECT_DIR": str(SNAP),
            "PYTHONDONTWRITEBYTECODE": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


# -- one fit -------------------------------------------------------------------------------------
def fivetran_frame():
    """The shop's weekly wide frame: the full weeks of truth.json, which the warehouse SQL +
    ``prism_mmm.sources.warehouse_weeks`` reproduce to the cent
    (tests/integration/test_warehouse_source.py::test_daily_long_tables_become_the_true_weeks
    compares mmm_input with exactly this frame, ``expected_weeks()``)."""
    from bench.fivetran_shop import load

    truth = load().truth
    rows = [{"date": w["week_start"], "net_sales": w["net_sales"], **w["spend"]}
            for w in truth["weekly"] if w["full_week"]]
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame, "date", "net_sales", truth["channels"], [], truth["true_roi"]


def replicate_frame(name: str):
    """``GENERATOR@sSEED``: a new draw of a bench generator (another seed; same process and
    truth definition), profiled as ``prism init`` would (mirrors bench.recovery._frame)."""
    import bench.datasets as ds
    from prism_mmm.ingest import profile

    scale = 1.0
    if "@x" in name:  # GENERATOR@sSEED@xK: every media coefficient times K (a lower share)
        name, scale = name.split("@x")
        scale = float(scale)
    generator, seed = name.split("@s")
    if scale != 1.0:
        original = ds._contributions  # looked up at call time by the generators

        def scaled(spend, coef, media, **params):
            return original(spend, coef * scale, media, **params)

        ds._contributions = scaled
    if generator == "fivetran_shop":
        from bench import fivetran_shop

        shop = fivetran_shop.generate(int(seed))
        weekly = shop.weekly
        weekly = weekly[weekly["full_week"]]
        frame = pd.DataFrame({"date": pd.to_datetime(weekly["week_start"]),
                              "net_sales": weekly["net_sales"],
                              **{c: weekly[c] for c in shop.truth["channels"]}})
        return (frame.reset_index(drop=True), "date", "net_sales", shop.truth["channels"], [],
                shop.truth["true_roi"])
    truth = getattr(ds, generator)(seed=int(seed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{generator}.csv"
        truth.frame.to_csv(path, index=False)
        found = profile(path)
    frame = truth.frame.rename(columns=found.rename)
    frame[found.date_column] = pd.to_datetime(frame[found.date_column])
    return frame, found.date_column, found.kpi, found.channels, found.controls, truth.true_roi


def portfolio_market_frame(name: str):
    """``portfolio@mNN``: market mNN of the portfolio benchmark's brand (24 markets x 156
    weeks x 8 channels, bench.portfolio's defaults), truth keyed by channel."""
    from bench.datasets import portfolio

    market = name.split("@")[1]
    truth = portfolio(n_series=24, n_weeks=156, n_channels=8)
    frame = truth.frame[truth.frame["geo"] == market].drop(columns="geo")
    frame = frame.reset_index(drop=True).assign(date=lambda f: pd.to_datetime(f["date"]))
    channels = [c for c in frame.columns if c not in ("date", "revenue")]
    return (frame, "date", "revenue", channels, [],
            {c: truth.true_roi[f"{market}/{c}"] for c in channels})


def dataset_frame(name: str):
    if name.startswith("portfolio@"):
        return portfolio_market_frame(name)
    if "@s" in name:
        return replicate_frame(name)
    if name == "fivetran_shop":
        return fivetran_frame()
    from bench.recovery import _frame

    frame, found, truth = _frame(name)  # as `prism init` profiles it (bench.recovery)
    return frame, found.date_column, found.kpi, found.channels, found.controls, truth


def fit_one(name: str, candidate: str, settings: dict, seed: int) -> dict:
    from prism_mmm.config import load_config
    from prism_mmm.data import from_frame
    from prism_mmm.models.bayes import BayesMMM
    from prism_mmm.priors import lognormal_from_interval  # noqa: F401  (documents the prior)

    frame, date_col, kpi, channels, controls, truth = dataset_frame(name)
    share = CANDIDATES[candidate]["media_share"]
    cfg = load_config(overrides={"bayes": {"sampling": settings, **CANDIDATES[candidate]},
                                 "random_seed": seed})
    assert (list(cfg.bayes.media_share) if cfg.bayes.media_share else None) == share
    assert cfg.bayes.roi_spread == CANDIDATES[candidate]["roi_spread"]
    data = from_frame(frame, date_column=date_col, kpi=kpi, channels=channels,
                      controls=controls, holdout_weeks=0, fourier_order=cfg.fourier_order)
    start = time.perf_counter()
    model = BayesMMM.from_config(cfg).fit(data)
    wall = time.perf_counter() - start
    table = model.roi().set_index("channel")
    gates = model.gates_.set_index("metric")["value"]
    media = model._components(model.data_)["media"]  # (D, T, C), scaled KPI
    share_draws = media.sum(axis=(1, 2)) * model.scales_.y / float(model.data_.y.sum())
    spend = data.spend.sum(axis=0)
    y_total = float(data.y.sum())
    true_share = sum(truth[c] * spend[i] for i, c in enumerate(channels) if c in truth) / y_total
    per_spend = y_total / spend.sum()
    rows = []
    for c, true_roi in truth.items():
        point, low, high = (float(table.loc[c, k]) for k in ("roi", "roi_low", "roi_high"))
        rows.append({"channel": c, "true_roi": true_roi, "roi": point, "roi_low": low,
                     "roi_high": high, "rel_error": point / true_roi - 1,
                     "abs_error": abs(point / true_roi - 1),
                     "covered": bool(low <= true_roi <= high)})
    return {
        "dataset": name, "candidate": candidate, "media_share": share,
        "roi_spread": CANDIDATES[candidate]["roi_spread"], "settings": settings,
        "seed": seed, "wall_s": wall, "weeks": len(frame), "channels": len(truth),
        "true_share": true_share,
        "post_share": float(share_draws.mean()),
        "post_share_low": float(np.quantile(share_draws, 0.05)),
        "post_share_high": float(np.quantile(share_draws, 0.95)),
        "prior_roi_interval": ([share[0] * per_spend, share[1] * per_spend] if share else None),
        "mean_abs_roi_error": float(np.mean([r["abs_error"] for r in rows])),
        "mean_rel_roi_error": float(np.mean([r["rel_error"] for r in rows])),
        "covered": int(sum(r["covered"] for r in rows)),
        "r_hat_max": float(gates["max_r_hat"]), "divergences": int(gates["divergences"]),
        "ess_bulk_min": float(gates["min_ess_bulk"]),
        "gates": {k: (float(v) if isinstance(v, (int, float, np.floating)) else str(v))
                  for k, v in gates.items()},
        "per_channel": rows,
    }


# -- brand holdout (last 13 weeks) + rolling-origin CV: a real `prism build` of a project copy ---
def build_child(project_dir: str, out: str) -> int:
    """As bench.holdout._build_child, but keeps every split of model_fit_metrics (cv too) and
    the Bayesian model's channel_roi (its posterior media share)."""
    import duckdb

    from prism_mmm.project import Project

    project = Project(Path(project_dir), Path(project_dir) / "warehouse" / "prism.duckdb")
    start = time.perf_counter()
    project.build("mediashare")
    wall = time.perf_counter() - start
    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    try:
        metrics = con.execute(
            'select "model", "split", "smape", "r2", "n_weeks", "fit_seconds", "status", '
            '"message" from "model_fit_metrics" order by 1, 2').df()
        roi = con.execute('select * from "channel_roi"').df()
    finally:
        con.close()
    Path(out).write_text(json.dumps({"build_s": wall, "metrics": metrics.to_dict("records"),
                                     "roi": roi.to_dict("records")}, default=str))
    return 0


def holdout_one(candidate: str, settings: dict, seed: int, knowledge: bool) -> dict:
    from bench.holdout import _one_thread, _run
    from prism_mmm.project import copy_project

    work = Path(tempfile.mkdtemp(prefix="mediashare-holdout-"))
    try:
        project = copy_project(SNAP, work / "project", {
            "bayes": {"sampling": dict(settings), **CANDIDATES[candidate],
                      "use_knowledge_roi_priors": knowledge},
            "validation": {"origins": 3},  # rolling-origin CV, product refit settings
            "random_seed": seed})
        _one_thread(project.project_dir / "profiles.yml")
        out = work / "build.json"
        error = _run([sys.executable, "-m", "bench.media_share", "build",
                      str(project.project_dir), str(out)], env(), None)
        if error:
            return {"candidate": candidate, "status": "failed", "error": error}
        built = json.loads(out.read_text())
        metrics = pd.DataFrame(built["metrics"])
        roi = pd.DataFrame(built["roi"])
        rows = []
        for model, group in metrics.groupby("model"):
            split = group.set_index("split")
            row = {"model": model, "knowledge_roi_priors": knowledge}
            for name in ("train", "holdout", "cv"):
                if name in split.index:
                    row[f"{name}_smape"] = float(split.loc[name, "smape"])
                    row[f"{name}_r2"] = float(split.loc[name, "r2"]) \
                        if split.loc[name, "r2"] is not None else None
            row["fit_seconds"] = float(split.loc["holdout", "fit_seconds"])
            row["status"] = str(split.loc["holdout", "status"])
            row["cv_message"] = str(split.loc["cv", "message"]) if "cv" in split.index else ""
            if "model" in roi and "share" in roi:
                row["media_share_post"] = float(roi.loc[roi["model"] == model, "share"].sum())
            rows.append(row)
        return {"candidate": candidate, **CANDIDATES[candidate],
                "knowledge": knowledge, "settings": settings, "seed": seed,
                "build_s": built["build_s"], "rows": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- the run -------------------------------------------------------------------------------------
def run(args) -> None:
    settings = {"chains": args.chains, "draws": args.draws, "tune": args.tune}
    tag = f"{args.chains}x{args.tune}-{args.draws}" + (f"-seed{args.seed}" if args.seed != 1 else "")
    out_dir = RESULTS / tag
    out_dir.mkdir(parents=True, exist_ok=True)
    datasets = args.only if args.only is not None else DATASETS
    candidates = args.candidates or list(CANDIDATES)
    for name in datasets:
        for cand in candidates:
            out = out_dir / f"{name}__{cand}.json"
            if out.exists():
                continue
            print(f"[{time.strftime('%H:%M:%S')}] {name} / {cand} {CANDIDATES[cand]} "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "bench.media_share", "worker", name, cand,
                                   json.dumps(settings), str(args.seed), str(out)],
                                  cwd=str(SNAP), env=env(), capture_output=True, text=True,
                                  check=False)
            if proc.returncode or not out.exists():
                print("   FAILED:", (proc.stderr or proc.stdout)[-2000:], flush=True)
                continue
            r = json.loads(out.read_text())
            print(f"   err {r['mean_abs_roi_error']:.3f} cov {r['covered']}/{r['channels']} "
                  f"share {r['post_share']:.3f} (true {r['true_share']:.3f}) "
                  f"rhat {r['r_hat_max']:.3f} div {r['divergences']} fit {r['wall_s']:.0f}s "
                  f"proc {time.perf_counter() - t0:.0f}s", flush=True)
    if args.holdout:
        for knowledge, cand in [(k, c) for k in args.knowledge for c in args.holdout]:
            out = out_dir / f"holdout2_brand__{cand}__knowledge{knowledge}.json"
            if out.exists():
                continue
            print(f"[{time.strftime('%H:%M:%S')}] holdout brand / {cand} knowledge {knowledge}",
                  flush=True)
            proc = subprocess.run([sys.executable, "-m", "bench.media_share", "holdout", cand,
                                   json.dumps(settings), str(args.seed), str(out),
                                   str(int(knowledge))],
                                  cwd=str(SNAP), env=env(), capture_output=True, text=True,
                                  check=False)
            if proc.returncode or not out.exists():
                print("   FAILED:", (proc.stderr or proc.stdout)[-2000:], flush=True)
                continue
            print("  ", out.read_text()[:600], flush=True)


def md(frame: pd.DataFrame, index: bool = True) -> str:
    """A markdown table (pandas' to_markdown needs tabulate, absent from the venv)."""
    frame = frame.reset_index() if index else frame

    def cell(v) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def report(_args) -> None:
    for tag_dir in sorted(RESULTS.glob("*")):
        rows, channels, holdout = [], [], []
        for f in sorted(tag_dir.glob("*.json")):
            r = json.loads(f.read_text())
            if f.name.startswith("holdout"):
                for row in r.get("rows", []):
                    holdout.append({"candidate": r["candidate"], "media_share": r["media_share"],
                                    **row})
                continue
            rows.append({k: r[k] for k in ("dataset", "candidate", "media_share", "roi_spread",
                                           "true_share", "post_share", "post_share_low", "post_share_high",
                                           "mean_abs_roi_error", "mean_rel_roi_error",
                                           "covered", "channels", "r_hat_max", "divergences",
                                           "ess_bulk_min", "wall_s")})
            channels += [{"dataset": r["dataset"], "candidate": r["candidate"], **c}
                         for c in r["per_channel"]]
        print(f"\n## {tag_dir.name}\n")
        if rows:
            t = pd.DataFrame(rows).sort_values(["dataset", "candidate"])
            print(md(t, index=False))
            o = t.groupby("candidate").agg(mean_abs_roi_error=("mean_abs_roi_error", "mean"),
                                           covered=("covered", "sum"),
                                           channels=("channels", "sum"),
                                           max_r_hat=("r_hat_max", "max"),
                                           divergences=("divergences", "sum"),
                                           wall_s=("wall_s", "sum"))
            print("\n" + md(o))
            c = pd.DataFrame(channels)
            print("\n" + md(c.pivot_table(index=["dataset", "channel", "true_roi"],
                                       columns="candidate", values="roi")))
            print("\n" + md(c.assign(ci=c.roi_low.round(2).astype(str) + "-"
                                  + c.roi_high.round(2).astype(str))
                  .pivot(index=["dataset", "channel"], columns="candidate", values="ci")))
        if holdout:
            print("\n" + md(pd.DataFrame(holdout).drop(columns=["note", "cv_message"], errors="ignore"), index=False))


def main(argv: list[str]) -> int:
    if argv and argv[0] == "worker":
        name, cand, settings, seed, out = argv[1:]
        from prism_mmm.models.bayesian.numpyro_sampler import ensure_host_devices

        ensure_host_devices(json.loads(settings)["chains"])  # before JAX loads
        r = fit_one(name, cand, json.loads(settings), int(seed))
        Path(out).write_text(json.dumps(r, default=float, indent=1))
        return 0
    if argv and argv[0] == "holdout":
        cand, settings, seed, out, knowledge = argv[1:]
        Path(out).write_text(json.dumps(holdout_one(cand, json.loads(settings), int(seed),
                                                    bool(int(knowledge))),
                                        default=float, indent=1))
        return 0
    if argv and argv[0] == "build":
        return build_child(argv[1], argv[2])
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["run", "report"])
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--only", nargs="*")
    p.add_argument("--candidates", nargs="*")
    p.add_argument("--holdout", nargs="*", help="candidates for the brand holdout build")
    p.add_argument("--knowledge", nargs="*", type=int, default=[1, 0],
                   help="holdout builds with (1) / without (0) the knowledge ROI ranges")
    args = p.parse_args(argv)
    (run if args.mode == "run" else report)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
