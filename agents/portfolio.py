"""The portfolio report: one page across the series of a built run, then a section per series.

A portfolio build has no agent loop (the loop tunes one series at a time, ``--series``), so
this report reads the build's tables only: ``portfolio_roi`` for the page across series, and
for each series its own round tables, the Analyst's summary and the Critic's verdict on them.
It is laid out like the loop's report (``portfolio.md`` and ``portfolio.pptx`` from the same
sections, :mod:`agents.report_layout`). Every figure comes from a table and the Proofreader
checks the whole text, slides included. A series the build refused or a model that failed is
named with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from agents import analyst, critic, report_layout
from agents.figures import plt, save_figure, tidy_axes
from agents.proofreader import ProofResult, build_trace_set, proofread
from agents.report_layout import APPENDIX, Document, Headline, Section, Table
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
from prism_mmm.models import in_model_order, model_label, model_names, shown_model
from prism_mmm.series import SERIES_ID
from prism_mmm.warehouse import read_table

VERSUS_WORDS = {"above": "above the median", "below": "below the median",
                "in line": "in line", "single series": "only series",
                "no interval": "no interval", "no estimate": "no estimate"}
VERSUS_COLOURS = {"above": "#2E7D32", "below": "#C62828"}
IN_LINE_COLOUR = "#607D8B"
CHECK_COLUMNS = ["check_name", "status", "value", "threshold"]


@dataclass(frozen=True)
class PortfolioReport:
    path: Path
    pptx_path: Path
    markdown: str
    proof: ProofResult
    failed_series: tuple[str, ...]


def write_portfolio_report(con, cfg: PrismConfig, run_id: str, round_: int,
                           out_dir: Path) -> PortfolioReport:
    """Write ``out_dir/portfolio.md`` and ``portfolio.pptx`` for one (run_id, round) and
    proofread both."""
    tables = load_round(con, run_id, round_)
    portfolio = read_table(con, "portfolio_roi", run_id, round_)
    inputs = read_table(con, "stg_input__series")
    runs = tables.mmm_runs
    series = sorted(runs[SERIES_ID].dropna().unique()) if len(runs) else []
    failed = sorted(runs.loc[runs["status"] == "failed", SERIES_ID].dropna().unique()) if len(
        runs) else []
    # One row per series: what the headline counts (and the Proofreader traces them to).
    series_status = pd.DataFrame({SERIES_ID: series, "status": [
        "failed" if s in failed else "fitted" for s in series]})
    model = shown_model(portfolio["model"], cfg.optimizer.model) if len(portfolio) else None
    planned = (portfolio[portfolio["model"] == model].sort_values(["channel", SERIES_ID])
               if model else portfolio.iloc[0:0])
    data = load_data(con)
    sections, checks = [], []
    for series_id in series:
        section, verdict_checks = _series_section(
            series_id, series_round(tables, [series_id]), series_data(data, [series_id]), inputs)
        sections.append(section)
        checks.append(verdict_checks)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = _portfolio_chart(planned, out_dir / "figures" / "portfolio_roi.png")
    doc = Document(
        title=f"{cfg.data.brand}: portfolio report",
        subtitle=f"Run {run_id}, round {round_}: {len(series)} series",
        headlines=_headlines(series_status, planned),
        summary=(f"Each of the {len(series)} series is fitted on its own by "
                 f"{len(model_names())} models. ROI is revenue per unit of spend with a 90% "
                 "interval, an association under each model's assumptions, not proof of cause."
                 + (f" Series with a failed model ({len(failed)} of {len(series)}): "
                    f"{', '.join(failed)} (reasons in their sections)." if failed else "")),
        messages=[_across_series(planned, model, figure), *sections],
        appendix=[_roi_table(planned, model)],
        appendix_note="The planning model's ROI for every series and channel.")
    markdown = report_layout.markdown(doc)
    path = out_dir / "portfolio.md"
    path.write_text(markdown)
    pptx_path = out_dir / "portfolio.pptx"
    slide_text = report_layout.deck(doc, pptx_path)
    trace = build_trace_set(tables, data, {
        "portfolio_roi": portfolio, "portfolio_roi_planning_model": planned,
        "stg_input__series": inputs, "series_status": series_status,
        "critic_checks": pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()})
    identifiers = [run_id, cfg.data.brand, *series, *cfg.channels, *model_names(),
                   *(critic_name for frame in checks for critic_name in frame["check_name"])]
    return PortfolioReport(path, pptx_path, markdown,
                           proofread(f"{markdown}\n{slide_text}", trace, identifiers),
                           tuple(failed))


def _headlines(series_status: pd.DataFrame, planned: pd.DataFrame) -> list[Headline]:
    n_fitted = int((series_status["status"] == "fitted").sum())
    versus = planned["versus_portfolio"].value_counts()
    return [
        Headline("Series fitted", f"{n_fitted} of {len(series_status)}",
                 "series every model fitted; a refused series or a failed model is named in "
                 "its section."),
        Headline("Above the median", str(int(versus.get("above", 0))),
                 "channel and series pairs whose whole 90% interval lies above the channel's "
                 "median ROI across series."),
        Headline("Below the median", str(int(versus.get("below", 0))),
                 "pairs whose whole 90% interval lies below it: the channel works differently "
                 "there, or that series' data mislead."),
    ]


def _across_series(planned: pd.DataFrame, model: str | None, figure: Path | None) -> Section:
    title = "ROI across the portfolio"
    if model is None:
        return Section(title, ["No model produced an ROI in this run."])
    body = [(f"{model_label(model)} model; each panel is one channel, each point one series "
             "with its 90% interval, the dashed line the median over the series that fitted "
             "the channel. A series whose whole interval lies above or below it is flagged.")]
    for channel, group in planned.groupby("channel", sort=True):
        off = group[group["versus_portfolio"].isin(["above", "below"])]
        if len(off):
            named = ", ".join(f"{r.series_id} ({r.versus_portfolio})" for r in off.itertuples())
            body.append(f"- {fmt_name(channel)}: median ROI "
                        f"{fmt_roi(group['median_roi'].iloc[0])}; {named}.")
    return Section(title, body, figure=figure,
                   alt="ROI of each series per channel, with 90% intervals and the median")


def _roi_table(planned: pd.DataFrame, model: str | None) -> Section:
    title = f"{APPENDIX}: ROI of every series" + (f" ({model_label(model)})" if model else "")
    return Section(title, table=_table(planned))


def _table(planned: pd.DataFrame) -> Table:
    return Table(["Channel", "Series", "ROI", "90% interval", "Against the median"],
                 [[fmt_name(r.channel), r.series_id, fmt_roi(r.roi),
                   fmt_interval(r.roi_low, r.roi_high),
                   VERSUS_WORDS.get(r.versus_portfolio, r.versus_portfolio)]
                  for r in planned.itertuples()])


def _portfolio_chart(planned: pd.DataFrame, path: Path) -> Path | None:
    """Small multiples: a panel per channel, a row per series (ROI, 90% interval), the
    channel's median dashed; above / below coloured."""
    rows = planned.dropna(subset=["roi"])
    if rows.empty:
        return None
    channels = sorted(rows["channel"].unique())
    n_cols = min(3, len(channels))
    n_rows = -(-len(channels) // n_cols)
    series = sorted(rows[SERIES_ID].unique())
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False, sharey=True,
                             figsize=(4.2 * n_cols, 0.32 * len(series) * n_rows + 1.4 * n_rows))
    for ax, channel in zip(axes.flat, channels):
        group = rows[rows["channel"] == channel].set_index(SERIES_ID).reindex(series)
        for y, (series_id, r) in enumerate(group.iterrows()):
            if pd.isna(r.roi):
                continue
            colour = VERSUS_COLOURS.get(r.versus_portfolio, IN_LINE_COLOUR)
            if pd.notna(r.roi_low) and pd.notna(r.roi_high):
                ax.plot([r.roi_low, r.roi_high], [y, y], color=colour, lw=2.5, alpha=0.45,
                        solid_capstyle="round")
            ax.plot(r.roi, y, "o", color=colour, ms=6)
        median = group["median_roi"].dropna()
        if len(median):
            ax.axvline(median.iloc[0], color="black", lw=0.9, ls="--")
        ax.set_title(fmt_name(channel), fontsize=11)
        ax.set_yticks(range(len(series)), series)
        ax.invert_yaxis()
        tidy_axes(ax)
    for ax in list(axes.flat)[len(channels):]:
        ax.set_visible(False)
    fig.supxlabel("Return per unit spent")
    return save_figure(fig, path)


def _series_section(series_id: str, tables: RoundTables, data: DataTables,
                    inputs: pd.DataFrame) -> tuple[Section, pd.DataFrame]:
    title = f"Series {series_id}"
    refused = (inputs[(inputs[SERIES_ID] == series_id) & (inputs["status"] == "refused")]
               if SERIES_ID in inputs else inputs)  # an older warehouse: no series table
    if len(refused):
        return (Section(title, [f"The build refused this series: {refused['message'].iloc[0]}"]),
                pd.DataFrame(columns=CHECK_COLUMNS))
    analysis = analyst.analyse(tables)
    checks = critic.review(tables, data, analysis)
    verdict = critic.verdict(checks)
    failing = [c.check_name for c in checks if c.status == "fail"]
    body = [f"Critic: {verdict}" + (f" (failed: {', '.join(failing)})" if failing else "")
            + "."]
    metrics = tables.model_fit_metrics
    smape = (metrics[metrics["split"] == "holdout"].set_index("model")["smape"].dropna()
             if len(metrics) else pd.Series(dtype=float))
    errors = [f"{model_label(m)} {fmt_pct(smape[m])}" for m in in_model_order(smape.index)]
    if errors:
        body.append(f"Holdout error (sMAPE): {', '.join(errors)}.")
    body += analysis.text.splitlines()
    return Section(title, body), pd.DataFrame([c.row() for c in checks])
