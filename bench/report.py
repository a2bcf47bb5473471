"""Table, ratios (ours / peer) and target checks of a fit benchmark; CSV + markdown files."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.core import COLUMNS, FULL, LOGISTIC_MODE

SHOWN = ["dataset", "engine", "sampler", "mode", "wall_s", "ess_bulk_min", "ess_bulk_per_s",
         "r_hat_max", "divergences", "share_abs_err_pp", "share_err_by_channel", "import_s",
         "peak_rss_mb", "status"]
RATIO_COLUMNS = ["dataset", "peer", "peer_wall_s", "ours_cold_wall_s", "ours_over_peer",
                 "speedup", "ess_per_s_ours_over_peer"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return "—" if value is None else str(value)


def markdown_table(frame: pd.DataFrame, columns: list[str]) -> str:
    cols = [c for c in columns if c in frame]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame[cols].iterrows():
        lines.append("| " + " | ".join(_fmt(row[c]).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines)


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"] if "status" in frame else frame


def ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset: ours cold vs each peer sampler and vs the fastest peer sampler."""
    ok = _ok(table)
    rows = []
    for dataset, group in ok.groupby("dataset", sort=False):
        ours = group[(group.engine == "ours") & (group["mode"] == "cold")]
        peers = group[group.engine == "peer"]
        if ours.empty or peers.empty:
            continue
        o = ours.iloc[0]
        fastest = peers.loc[peers["wall_s"].idxmin()]
        targets = [(f"peer {p.sampler}", p) for _, p in peers.iterrows()]
        targets.append((f"peer fastest ({fastest.sampler})", fastest))
        for label, p in targets:
            rows.append({
                "dataset": dataset, "peer": label, "peer_wall_s": p.wall_s,
                "ours_cold_wall_s": o.wall_s, "ours_over_peer": o.wall_s / p.wall_s,
                "speedup": p.wall_s / o.wall_s,
                "ess_per_s_ours_over_peer": o.ess_bulk_per_s / p.ess_bulk_per_s,
            })
    return pd.DataFrame(rows, columns=RATIO_COLUMNS)


def targets(table: pd.DataFrame, ratio: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """The issue's targets as pass/fail rows (apparel for speed/quality, truth for recovery)."""
    ok = _ok(table)
    out = []

    def add(name: str, value: Any, passed: bool | None, goal: str) -> None:
        out.append({"target": name, "goal": goal, "value": _fmt(value),
                    "met": "n/a" if passed is None else ("yes" if passed else "NO")})

    def pick(dataset: str, engine: str, mode: str) -> pd.Series | None:
        rows = ok[(ok.dataset == dataset) & (ok.engine == engine) & (ok["mode"] == mode)]
        return rows.iloc[0] if len(rows) else None

    def speed(label_start: str) -> float | None:
        rows = ratio[(ratio.dataset == "apparel") & ratio.peer.str.startswith(label_start)]
        return float(rows.iloc[0].speedup) if len(rows) else None

    s = speed("peer pymc")
    add("cold speed-up vs pymc-marketing default sampler (apparel)", s,
        None if s is None else s >= 10, ">= 10x")
    s = speed("peer fastest")
    add("cold speed-up vs pymc-marketing fastest sampler (apparel)", s,
        None if s is None else s >= 3, ">= 3x")
    cold = pick("apparel", "ours", "cold")
    if cold is not None:
        add("ours cold max R-hat (apparel)", cold.r_hat_max, cold.r_hat_max <= 1.01, "<= 1.01")
        add("ours cold min bulk ESS (apparel)", cold.ess_bulk_min, cold.ess_bulk_min >= 400,
            ">= 400")
        add("ours cold divergences (apparel)", cold.divergences, cold.divergences == 0, "0")
    for mode in ("warm-same-process", "warm-new-process"):
        warm = pick("apparel", "ours", mode)
        if warm is not None:
            add(f"ours {mode} refit (apparel)", warm.wall_s,
                warm.wall_s < 5 if mode == "warm-same-process" else None, "< 5 s"
                if mode == "warm-same-process" else "reported")
    truth_peers = ok[(ok.dataset == "truth") & (ok.engine == "peer")]
    best = float(truth_peers.share_abs_err_pp.min()) if len(truth_peers) else None
    for mode, label in (("cold", "ours default (Hill)"),
                        (LOGISTIC_MODE, "ours with logistic saturation, as the peer")):
        truth_ours = pick("truth", "ours", mode)
        if truth_ours is not None and best is not None:
            add(f"truth share error: {label} vs best pymc-marketing (pp, mean |err|)",
                f"{truth_ours.share_abs_err_pp:.2f} vs {best:.2f}",
                truth_ours.share_abs_err_pp <= best + 1e-9, "ours <= peer")
    frame = pd.DataFrame(out, columns=["target", "goal", "value", "met"])
    if {k: settings.get(k) for k in FULL} != FULL:
        frame["met"] = frame["met"].where(frame["met"] == "n/a", frame["met"] + " (not full)")
    return frame


def build_report(table: pd.DataFrame, meta: dict) -> dict[str, Any]:
    ratio = ratios(table)
    target = targets(table, ratio, meta["settings"])
    s = meta["settings"]
    header = (f"PrismMMM fit benchmark {meta['started']}: {s['chains']} chains x {s['tune']} tune"
              f" x {s['draws']} draws; caches={meta['caches']}; cpus={meta['cpu_count']}; "
              f"load avg at start {meta['load_avg_start']}")
    if meta.get("ours_overrides"):
        header += f"; our prism.yml overrides {json.dumps(meta['ours_overrides'], sort_keys=True)}"
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    text_parts = [header, versions, "", table[[c for c in SHOWN if c in table]].to_string(
        index=False, float_format=lambda v: f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}")]
    if len(ratio):
        text_parts += ["", "Ratios (ours cold / peer: < 1 is faster; speedup = peer / ours):",
                       ratio.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
    if len(target):
        text_parts += ["", "Targets:", target.to_string(index=False)]
    failed = table[table.get("status") != "ok"] if "status" in table else table.iloc[:0]
    for _, row in failed.iterrows():
        text_parts.append(f"FAILED {row.engine}/{row.sampler}/{row.dataset}/{row['mode']}: "
                          f"{row.note}")
    md = ["# Fit benchmark", "", header + "  ", versions, "",
          ("Wall seconds = the `fit` call (model build + compile + sampling + post-processing), "
           "imports excluded (`import_s`). ESS/R-hat over the sampled parameters. Share error = "
           "posterior-mean channel contribution / total KPI minus the truth (known-truth data, "
           "percentage points). Peak RSS = max of the measurement process and its children."),
          "",
          markdown_table(table, SHOWN), ""]
    if len(ratio):
        md += ["## Ratios (ours cold / peer)", "", markdown_table(ratio, RATIO_COLUMNS), ""]
    if len(target):
        md += ["## Targets", "", markdown_table(target, list(target.columns)), ""]
    notes = table[["dataset", "engine", "sampler", "mode", "note"]].dropna(subset=["note"])
    if len(notes):
        md += ["## Notes", "", markdown_table(notes, list(notes.columns)), ""]
    return {"table": table, "ratios": ratio, "targets": target, "meta": meta,
            "text": "\n".join(text_parts), "markdown": "\n".join(md)}


def write_results(report: dict[str, Any], results_dir: Path) -> list[Path]:
    """``bench_<timestamp>.csv`` (all columns), ``bench_<timestamp>.md`` and ``latest.md``."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    csv_path = results_dir / f"bench_{stamp}.csv"
    table = report["table"].copy()
    table["settings"] = json.dumps(report["meta"]["settings"])
    table["caches"] = report["meta"]["caches"]
    table.to_csv(csv_path, index=False)
    md_path = results_dir / f"bench_{stamp}.md"
    md_path.write_text(report["markdown"] + "\n")
    latest = results_dir / "latest.md"
    latest.write_text(report["markdown"] + "\n")
    return [csv_path, md_path, latest]


__all__ = ["COLUMNS", "build_report", "markdown_table", "ratios", "targets", "write_results"]
