"""The portfolio report: one page across the series of a built run, then a section per series.

A portfolio build has no agent loop (the loop tunes one series at a time, ``--series``), so
this report reads the build's tables only: ``portfolio_roi`` for the page across series, and
for each series its own round tables, the Analyst's summary and the Critic's verdict on them.
Every figure comes from a table and the Proofreader checks the whole text, as for the loop's
report. A series the build refused or a model that failed is named with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agents import analyst, critic
from agents.proofreader import ProofResult, build_trace_set, proofread
from agents.warehouse import (
    DataTables,
    RoundTables,
    load_data,
    load_round,
    series_data,
    series_round,
)
from prism_mmm.config import PrismConfig
from prism_mmm.formatting import fmt_interval, fmt_name, fmt_pct, fmt_roi
from prism_mmm.models import in_model_order, model_label, model_names
from prism_mmm.series import SERIES_ID
from prism_mmm.warehouse import read_table

VERSUS_WORDS = {"above": "above the median", "below": "below the median",
                "in line": "in line", "single series": "only series",
                "no interval": "no interval", "no estimate": "no estimate"}


@dataclass(frozen=True)
class PortfolioReport:
    path: Path
    markdown: str
    proof: ProofResult
    failed_series: tuple[str, ...]


def write_portfolio_report(con, cfg: PrismConfig, run_id: str, round_: int,
                           out_dir: Path) -> PortfolioReport:
    """Write ``out_dir/portfolio.md`` for one (run_id, round) and proofread it."""
    tables = load_round(con, run_id, round_)
    portfolio = read_table(con, "portfolio_roi", run_id, round_)
    inputs = read_table(con, "stg_input__series")
    runs = tables.mmm_runs
    series = sorted(runs[SERIES_ID].dropna().unique()) if len(runs) else []
    failed = sorted(runs.loc[runs["status"] == "failed", SERIES_ID].dropna().unique()) if len(
        runs) else []
    model = _planning_model(cfg, portfolio)
    lines = [f"# {cfg.data.brand}: portfolio report", "",
             (f"Run {run_id}, round {round_}: {len(series)} series, each fitted on its own by "
             f"{len(model_names())} models. ROI is revenue per unit of spend with a 90% "
             "interval, an association under each model's assumptions, not proof of cause."),
             ""]
    if failed:
        lines += [(f"**Series with a failed model ({len(failed)} of {len(series)}):** "
                  f"{', '.join(failed)} (reasons below)."), ""]
    lines += _across_series(portfolio, model)
    data = load_data(con)
    checks: list[pd.DataFrame] = []
    for series_id in series:
        section, verdict_checks = _series_section(
            series_id, series_round(tables, [series_id]), series_data(data, [series_id]), inputs)
        lines += section
        checks.append(verdict_checks)
    markdown = "\n".join(lines).rstrip() + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "portfolio.md"
    path.write_text(markdown)
    trace = build_trace_set(tables, data, {
        "portfolio_roi": portfolio, "stg_input__series": inputs,
        "critic_checks": pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()})
    identifiers = [run_id, cfg.data.brand, *series, *cfg.channels, *model_names(),
                   *(critic_name for frame in checks for critic_name in frame["check_name"])]
    return PortfolioReport(path, markdown, proofread(markdown, trace, identifiers),
                           tuple(failed))


def _planning_model(cfg: PrismConfig, portfolio: pd.DataFrame) -> str | None:
    if portfolio.empty:
        return None
    fitted = in_model_order(portfolio["model"])
    return cfg.optimizer.model if cfg.optimizer.model in fitted else fitted[0]


def _across_series(portfolio: pd.DataFrame, model: str | None) -> list[str]:
    lines = ["## ROI across the portfolio", ""]
    if model is None:
        return lines + ["No model produced an ROI in this run.", ""]
    rows = portfolio[portfolio["model"] == model].sort_values(["channel", SERIES_ID])
    lines += [(f"{model_label(model)} model; the median is over the series that fitted the "
              "channel. A series whose whole interval lies above or below it is flagged: the "
              "channel works differently there, or that series' data mislead."), "",
              "| Channel | Series | ROI | 90% interval | Against the median |",
              "|---|---|---|---|---|"]
    lines += [f"| {fmt_name(r.channel)} | {r.series_id} | {fmt_roi(r.roi)} | "
              f"{fmt_interval(r.roi_low, r.roi_high)} | "
              f"{VERSUS_WORDS.get(r.versus_portfolio, r.versus_portfolio)} |"
              for r in rows.itertuples()]
    lines.append("")
    for channel, group in rows.groupby("channel", sort=True):
        off = group[group["versus_portfolio"].isin(["above", "below"])]
        if len(off):
            named = ", ".join(f"{r.series_id} ({r.versus_portfolio})" for r in off.itertuples())
            lines.append(f"- {fmt_name(channel)}: median ROI {fmt_roi(group['median_roi'].iloc[0])}"
                         f"; {named}.")
    return [*lines, ""]


def _series_section(series_id: str, tables: RoundTables, data: DataTables,
                    inputs: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    lines = [f"## Series {series_id}", ""]
    refused = (inputs[(inputs[SERIES_ID] == series_id) & (inputs["status"] == "refused")]
               if SERIES_ID in inputs else inputs)  # an older warehouse: no series table
    if len(refused):
        return ([*lines, f"The build refused this series: {refused['message'].iloc[0]}", ""],
                pd.DataFrame(columns=["check_name", "status", "value", "threshold"]))
    analysis = analyst.analyse(tables)
    checks = critic.review(tables, data, analysis)
    verdict = critic.verdict(checks)
    failing = [c.check_name for c in checks if c.status == "fail"]
    lines.append(f"Critic: **{verdict}**" + (f" (failed: {', '.join(failing)})" if failing
                                            else "") + ".")
    metrics = tables.model_fit_metrics
    smape = (metrics[metrics["split"] == "holdout"].set_index("model")["smape"].dropna()
             if len(metrics) else pd.Series(dtype=float))
    errors = [f"{model_label(m)} {fmt_pct(smape[m])}" for m in in_model_order(smape.index)]
    if errors:
        lines.append(f"Holdout error (sMAPE): {', '.join(errors)}.")
    lines += ["", analysis.text, ""]
    frame = pd.DataFrame([c.row() for c in checks])
    return lines, frame
