"""Reporter: ``reports/<run_id>/report.md`` and ``report.pptx`` for the best round.

Every number is a formatted table value (the Proofreader checks both files). Charts are drawn
with matplotlib to PNG under ``figures/`` and inserted into the deck as pictures. Sections the
tables cannot support (no response curves, no budget scenario) say "not available".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in tests

import matplotlib.pyplot as plt
import pandas as pd
from pptx import Presentation
from pptx.util import Inches, Pt

from agents.analyst import Analysis
from agents.scoring import failed_models
from agents.warehouse import DataTables, RoundTables
from prism_mmm.config import PrismConfig
from prism_mmm.formatting import fmt_int, fmt_money, fmt_num, fmt_pct, fmt_roi
from prism_mmm.models import in_model_order, model_colour, model_label

CAUSAL_CAVEAT = ("ROI figures are associations under model assumptions, not causal proof: "
                 "passing diagnostics means the models are stable and predictive, not that "
                 "the channels caused the revenue.")
STEADY_STATE_NOTE = ("Curves show the steady-state weekly response to a spend sustained week "
                     "after week (carry-over fully built up), not the response to a one-off "
                     "burst.")
SLIDE_TITLES = ("Executive summary", "ROI with 90% intervals", "Contributions to the KPI",
                "Response curves", "Budget scenario", "Diagnostics and caveats")


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows: the best round's tables and the loop's record."""

    run_id: str
    cfg: PrismConfig
    tables: RoundTables
    data: DataTables
    analysis: Analysis
    rounds: pd.DataFrame  # agent_rounds of the run
    decisions: pd.DataFrame  # agent_decisions of the run
    checks: pd.DataFrame  # critic_checks of the best round, final attempt
    verdict: str


@dataclass(frozen=True)
class Report:
    markdown_path: Path
    pptx_path: Path
    markdown: str
    slide_text: str


def executive_summary(inputs: ReportInputs) -> str:
    """The deterministic executive summary (agreement first, then budget, health, caveat)."""
    analysis, tables = inputs.analysis, inputs.tables
    agreement = tables.model_agreement.set_index("channel") if len(
        tables.model_agreement) else pd.DataFrame()
    parts = []
    if agreement.empty:
        parts.append("The models could not be compared, so no channel is confirmed.")
    else:
        parts.append(
            f"Cross-model agreement: {fmt_int(len(analysis.confirmed))} of "
            f"{fmt_int(len(agreement))} channels confirmed by all models (ROI CV below "
            f"50%): {', '.join(analysis.confirmed) or 'none'}.")
    if analysis.recommended:
        best = analysis.recommended[0]
        roi = tables.channel_roi[tables.channel_roi["channel"] == best]["roi"]
        parts.append(
            f"The strongest confirmed channel is {best}: {fmt_roi(agreement.loc[best, 'roi_mean'])}"
            f" of KPI per unit of spend on average across models (model estimates "
            f"{fmt_roi(roi.min())} to {fmt_roi(roi.max())}).")
    if analysis.uncertain:
        parts.append(f"Uncertain: {', '.join(analysis.uncertain)}. The models disagree on these, "
                     "so their ROI is no basis for moving budget yet.")
    parts.append(_budget_sentence(inputs))
    failed = failed_models(tables)
    health = (f"Model failures: {', '.join(failed)}." if failed else "All models ran.")
    problems = inputs.checks[inputs.checks["status"] == "fail"]["check_name"] if len(
        inputs.checks) else []
    parts.append(f"{health} Critic verdict: {inputs.verdict}"
                 + (f" (failed checks: {', '.join(problems)})." if len(problems) else "."))
    parts.append(CAUSAL_CAVEAT)
    return " ".join(parts)


def write_report(inputs: ReportInputs, out_dir: Path, summary: str) -> Report:
    """Write report.md, report.pptx and their figures into ``out_dir``."""
    figure_dir = out_dir / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "roi": _roi_chart(inputs.tables, figure_dir / "roi_intervals.png"),
        "contributions": _contribution_chart(inputs.tables, figure_dir / "contributions.png"),
        "curves": _curves_chart(inputs, figure_dir / "response_curves.png"),
        "budget": _budget_chart(inputs, figure_dir / "budget_scenario.png"),
    }
    markdown = _markdown(inputs, summary, figures)
    md_path = out_dir / "report.md"
    md_path.write_text(markdown)
    pptx_path = out_dir / "report.pptx"
    slide_text = _pptx(inputs, summary, figures, pptx_path)
    return Report(md_path, pptx_path, markdown, slide_text)


# --- sections ------------------------------------------------------------------------------

def _title(inputs: ReportInputs) -> str:
    return f"PrismMMM report: {inputs.cfg.data.brand}"


def _subtitle(inputs: ReportInputs) -> str:
    best = inputs.tables.round
    return (f"Run {inputs.run_id} · rounds run: {fmt_int(len(inputs.rounds))} · best: round "
            f"{fmt_int(best)} · Critic verdict {inputs.verdict}")


def _budget_model(inputs: ReportInputs, frame: pd.DataFrame) -> str | None:
    if frame.empty:
        return None
    models = list(dict.fromkeys(frame["model"]))
    return inputs.cfg.optimizer.model if inputs.cfg.optimizer.model in models else models[0]


def _first_scenario(inputs: ReportInputs) -> pd.DataFrame:
    budget = inputs.tables.budget_scenarios
    model = _budget_model(inputs, budget)
    if model is None:
        return budget
    rows = budget[budget["model"] == model]
    # The scenario worth reading: one that moves money, at (or nearest to) the current budget.
    by_scenario = rows.groupby("scenario_id")
    moves = by_scenario.apply(lambda g: bool((g["optimal_spend"] - g["current_spend"]).abs().gt(
        1e-9 * g["current_spend"].abs().max()).any()))
    gap = by_scenario.apply(lambda g: abs(g["optimal_spend"].sum() - g["current_spend"].sum()))
    candidates = gap[moves].sort_values() if moves.any() else gap.sort_values()
    return rows[rows["scenario_id"] == candidates.index[0]]


def _budget_sentence(inputs: ReportInputs) -> str:
    scenario = _first_scenario(inputs)
    if scenario.empty:
        return "Budget scenario: not available."
    change = (scenario["optimal_spend"] - scenario["current_spend"])
    up, down = scenario.loc[change.idxmax()], scenario.loc[change.idxmin()]
    first = scenario.iloc[0]
    currency = inputs.cfg.data.currency
    text = (f"In the scenario '{first['scenario']}' ({first['model']} model) the optimiser "
            f"moves weekly spend most towards {up['channel']} ({fmt_money(up['current_spend'], currency)}"
            f" to {fmt_money(up['optimal_spend'], currency)})")
    if change.min() < 0:
        text += (f" and away from {down['channel']} ({fmt_money(down['current_spend'], currency)}"
                 f" to {fmt_money(down['optimal_spend'], currency)})")
    text += (f"; media-driven KPI over the planning horizon "
             f"{fmt_money(first['expected_kpi'], currency)} (90% interval "
             f"{fmt_money(first['expected_kpi_low'], currency)} to "
             f"{fmt_money(first['expected_kpi_high'], currency)})")
    # The same figure for today's allocation, so the uplift can be read (baseline excluded
    # from both: the split of the budget does not move it).
    budget = inputs.tables.budget_scenarios
    if not budget.empty:
        current = budget[(budget["model"] == first["model"]) & (budget["scenario"] == "current")]
        if not current.empty:
            text += (f", against {fmt_money(current.iloc[0]['expected_kpi'], currency)} at "
                     "today's allocation")
    return text + "."


def _markdown(inputs: ReportInputs, summary: str, figures: dict[str, Path | None]) -> str:
    tables, currency = inputs.tables, inputs.cfg.data.currency
    out = [f"# {_title(inputs)}", "", f"_{_subtitle(inputs)}_", "",
           "## Executive summary", "", summary, "", "## Cross-model agreement", ""]
    agreement = tables.model_agreement.sort_values("roi_mean", ascending=False) if len(
        tables.model_agreement) else tables.model_agreement
    if agreement.empty:
        out.append("Cross-model agreement: not available.")
    else:
        out += ["| channel | confirmed | mean ROI | ROI CV | signs agree |", "|---|---|---|---|---|"]
        out += [f"| {r.channel} | {'yes' if r.confirmed else 'no'} | {fmt_roi(r.roi_mean)} | "
                f"{fmt_pct(r.roi_cv)} | {'yes' if r.sign_agreement else 'no'} |"
                for r in agreement.itertuples()]
    out += ["", "## ROI with 90% intervals", ""]
    roi = _in_model_order(tables.channel_roi, ["channel", "model"])
    if roi.empty:
        out.append("ROI: not available.")
    else:
        out += [f"![ROI with 90% intervals]({_rel(figures['roi'])})", "",
                f"| channel | model | spend ({currency}) | ROI | 90% interval |",
                "|---|---|---|---|---|"]
        out += [f"| {r.channel} | {r.model} | {fmt_money(r.spend)} | {fmt_roi(r.roi)} | "
                f"{fmt_roi(r.roi_low)} to {fmt_roi(r.roi_high)} |" for r in roi.itertuples()]
    out += ["", "## Contributions", ""]
    if roi.empty:
        out.append("Contributions: not available.")
    else:
        shares = roi.groupby("model")["share"].sum().reindex(in_model_order(roi["model"]))
        out += [f"![Contribution shares]({_rel(figures['contributions'])})", "",
                "Media share of the KPI by model: "
                + ", ".join(f"{m} {fmt_pct(v)}" for m, v in shares.items()) + "."]
    out += ["", "## Response curves", ""]
    out += _curves_section(inputs, figures["curves"])
    out += ["", "## Budget scenario", ""]
    out += _budget_section(inputs, figures["budget"])
    out += ["", "## Diagnostics", ""]
    out += _diagnostics_section(inputs)
    out += ["", "## Caveats", "", f"- {CAUSAL_CAVEAT}"]
    out += [f"- {r.check_name} ({r.status}): {r.reason}" for r in inputs.checks.itertuples()
            if r.status != "pass"]
    readiness = inputs.data.data_readiness
    if len(readiness):
        row = readiness.iloc[0]
        out.append(f"- Data readiness {fmt_int(row['score'])}/5: {row['reasons']}")
    out += ["", "## How this result was reached", ""]
    out += _rounds_section(inputs)
    return "\n".join(out) + "\n"


def _curves_section(inputs: ReportInputs, figure: Path | None) -> list[str]:
    curves = inputs.tables.response_curves
    if curves.empty:
        return ["Response curves: not available (no response_curves rows for this round)."]
    model = _budget_model(inputs, curves)
    current = curves[(curves["model"] == model) & curves["is_current_spend"].fillna(False)]
    lines = [STEADY_STATE_NOTE, "", f"![Response curves]({_rel(figure)})", "",
             f"At current weekly spend ({model} model):", "",
             "| channel | weekly spend | weekly response | marginal ROI |", "|---|---|---|---|"]
    lines += [f"| {r.channel} | {fmt_money(r.spend)} | {fmt_money(r.response)} | "
              f"{fmt_roi(r.marginal_roi)} |" for r in current.sort_values("channel").itertuples()]
    return lines


def _budget_section(inputs: ReportInputs, figure: Path | None) -> list[str]:
    scenario = _first_scenario(inputs)
    if scenario.empty:
        return ["Budget scenario: not available (no budget_scenarios rows for this round)."]
    lines = [_budget_sentence(inputs), "", f"![Budget scenario]({_rel(figure)})", "",
             "| channel | current weekly spend | optimal weekly spend | bounds | confirmed |",
             "|---|---|---|---|---|"]
    lines += [f"| {r.channel} | {fmt_money(r.current_spend)} | {fmt_money(r.optimal_spend)} | "
              f"{fmt_money(r.lower_bound)} to {fmt_money(r.upper_bound)}"
              f"{' (locked)' if r.is_locked else ''} | {'yes' if r.is_confirmed else 'no'} |"
              for r in scenario.sort_values("channel").itertuples()]
    return lines


def _diagnostics_section(inputs: ReportInputs) -> list[str]:
    metrics = inputs.tables.model_fit_metrics
    lines = ["| model | split | R² | sMAPE | weeks | status |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.model} | {r.split} | {fmt_num(r.r2, 3)} | {fmt_pct(r.smape)} | "
              f"{fmt_int(r.n_weeks)} | {r.status} |"
              for r in _in_model_order(metrics, ["model", "split"]).itertuples()] if len(
        metrics) else ["| n/a | | | | | |"]
    gates = inputs.tables.bayes_gates
    lines += ["", "Bayesian convergence gates:", ""]
    if gates.empty:
        lines.append("Gates: not available.")
    else:
        lines += ["| gate | metric | value | threshold | status |", "|---|---|---|---|---|"]
        lines += [f"| {r.gate} | {r.metric} | {fmt_num(r.value)} | {fmt_num(r.threshold)} | "
                  f"{r.status} |" for r in gates.sort_values("gate").itertuples()]
    lines += ["", f"Critic checks (verdict {inputs.verdict}):", "",
              "| check | status | reason |", "|---|---|---|"]
    lines += [f"| {r.check_name} | {r.status} | {r.reason} |" for r in inputs.checks.itertuples()]
    return lines


def _rounds_section(inputs: ReportInputs) -> list[str]:
    decisions = inputs.decisions
    changes = decisions[decisions["action"].isin(["keep", "revert", "baseline"])] if len(
        decisions) else decisions
    lines = ["| round | change | score | kept | verdict |", "|---|---|---|---|---|"]
    for r in inputs.rounds.sort_values("round").itertuples():
        rows = changes[changes["round"] == r.round] if len(changes) else changes
        final = rows.iloc[-1] if len(rows) else None
        what = "baseline configuration" if final is None or final["action"] == "baseline" \
            else final["what"]
        kept = "yes" if final is not None and bool(final["kept"]) else "no"
        lines.append(f"| {fmt_int(r.round)} | {what} | {fmt_num(r.score, 3)} | {kept} | "
                     f"{r.verdict} |")
    return lines


# --- charts --------------------------------------------------------------------------------

def _roi_chart(tables: RoundTables, path: Path) -> Path | None:
    roi = tables.channel_roi.dropna(subset=["roi"])
    if roi.empty:
        return None
    channels = sorted(roi["channel"].unique())
    models = in_model_order(roi["model"])
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(channels) + 1.5))
    for i, model in enumerate(models):
        rows = roi[roi["model"] == model].set_index("channel").reindex(channels)
        y = [c + (i - (len(models) - 1) / 2) * 0.22 for c in range(len(channels))]
        err = [(rows["roi"] - rows["roi_low"]).clip(lower=0),
               (rows["roi_high"] - rows["roi"]).clip(lower=0)]
        ax.errorbar(rows["roi"], y, xerr=err, fmt="o", capsize=3, label=model_label(model),
                    color=model_colour(model))
    ax.set_yticks(range(len(channels)), channels)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("ROI (KPI per unit of spend), point and 90% interval")
    ax.legend(loc="lower right")
    return _save(fig, path)


def _contribution_chart(tables: RoundTables, path: Path) -> Path | None:
    roi = tables.channel_roi
    if roi.empty:
        return None
    wide = roi.pivot_table(index="channel", columns="model", values="share").fillna(0.0)
    models = in_model_order(wide.columns)
    wide = wide[models].rename(columns=model_label)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    (wide * 100).plot.bar(ax=ax, color=[model_colour(m) for m in models])
    ax.set_ylabel("share of KPI (%)")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def _curves_chart(inputs: ReportInputs, path: Path) -> Path | None:
    curves = inputs.tables.response_curves
    if curves.empty:
        return None
    model = _budget_model(inputs, curves)
    rows = curves[curves["model"] == model]
    channels = sorted(rows["channel"].unique())
    cols = min(4, len(channels))
    n_rows = -(-len(channels) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(3.2 * cols, 2.6 * n_rows), squeeze=False)
    for ax, channel in zip(axes.ravel(), channels):
        curve = rows[rows["channel"] == channel].sort_values("spend")
        ax.plot(curve["spend"], curve["response"], color=model_colour(model))
        ax.fill_between(curve["spend"], curve["low"], curve["high"], alpha=0.25,
                        color=model_colour(model))
        now = curve[curve["is_current_spend"].fillna(False).astype(bool)]
        ax.plot(now["spend"], now["response"], "ko", ms=4)
        ax.set_title(channel, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(channels):]:
        ax.axis("off")
    fig.suptitle("Steady-state weekly response to sustained weekly spend "
                 f"({model_label(model)}); dot = current spend", fontsize=10)
    return _save(fig, path)


def _budget_chart(inputs: ReportInputs, path: Path) -> Path | None:
    scenario = _first_scenario(inputs)
    if scenario.empty:
        return None
    frame = scenario.set_index("channel")[["current_spend", "optimal_spend"]].sort_index()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    frame.plot.bar(ax=ax, color=["#999999", "#4C72B0"])
    ax.set_ylabel(f"weekly spend ({inputs.cfg.data.currency})")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=30)
    ax.set_title(str(scenario["scenario"].iloc[0]))
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --- deck ----------------------------------------------------------------------------------

def _pptx(inputs: ReportInputs, summary: str, figures: dict[str, Path | None],
          path: Path) -> str:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    title_slide = prs.slides.add_slide(prs.slide_layouts[0])
    title_slide.shapes.title.text = _title(inputs)
    title_slide.placeholders[1].text = _subtitle(inputs)

    bodies = {
        "Executive summary": (None, [summary]),
        "ROI with 90% intervals": (figures["roi"], ["ROI: not available."]),
        "Contributions to the KPI": (figures["contributions"], ["Contributions: not available."]),
        "Response curves": (figures["curves"], [STEADY_STATE_NOTE] if figures["curves"] else
                            ["Response curves: not available."]),
        "Budget scenario": (figures["budget"], [_budget_sentence(inputs)]),
        "Diagnostics and caveats": (None, _caveat_bullets(inputs)),
    }
    for title in SLIDE_TITLES:
        picture, text = bodies[title]
        slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
        slide.shapes.title.text = title
        top = Inches(1.4)
        if picture is not None:
            slide.shapes.add_picture(str(picture), Inches(0.6), top, height=Inches(4.9))
            top = Inches(6.4)
        if text and (picture is None or title in ("Response curves", "Budget scenario")):
            _text_box(slide, text, top, small=picture is not None)
    prs.save(path)
    return "\n".join(shape.text_frame.text for slide in prs.slides for shape in slide.shapes
                     if shape.has_text_frame)


def _caveat_bullets(inputs: ReportInputs) -> list[str]:
    bullets = [CAUSAL_CAVEAT]
    smape = inputs.tables.model_fit_metrics
    holdout = smape[smape["split"] == "holdout"] if len(smape) else smape
    if len(holdout):
        bullets.append("Holdout sMAPE: " + ", ".join(
            f"{r.model} {fmt_pct(r.smape)}"
            for r in _in_model_order(holdout, ["model"]).itertuples()))
    bullets += [f"{r.check_name} ({r.status}): {r.reason}" for r in inputs.checks.itertuples()
                if r.status != "pass"]
    return bullets


def _text_box(slide: object, paragraphs: list[str], top: object, small: bool) -> None:
    box = slide.shapes.add_textbox(Inches(0.6), top, Inches(12.1), Inches(0.9 if small else 5.6))
    frame = box.text_frame
    frame.word_wrap = True
    for i, text in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = text
        paragraph.font.size = Pt(12 if small else 15)


def _rel(path: Path | None) -> str:
    return f"figures/{path.name}" if path else ""


def _in_model_order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``by``, its ``model`` column in registry order, not alphabetically."""
    if frame.empty:
        return frame
    rank = {name: i for i, name in enumerate(in_model_order(frame["model"]))}
    return frame.sort_values(by, key=lambda column: column.map(rank) if column.name == "model"
                             else column)
