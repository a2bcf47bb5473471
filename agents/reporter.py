"""Reporter: ``reports/<run_id>/report.md`` and ``report.pptx`` for the best round, for a CMO.

Both files have the same structure:

1. headline figures (the title slide): how closely the models forecast weeks they never saw,
   the return per unit spent of the channels every model confirms (with a 90% range), what
   moving the same budget adds (with the 90% interval of the gain), and the rounds run with
   the automated review's verdict;
2. an executive summary of at most :data:`SUMMARY_WORDS` words;
3. one message per section and slide: a title that states it, one chart or table (with lift
   tests in the knowledge layer, one of them says whether the models agree with the tests);
4. the appendix: per-model tables, each lift test against each model before and after
   calibration, gates, the Critic's checks, the loop's score path.

Before the appendix the text is plain English: no model, table or scenario ids and no
statistical jargon (:data:`APPENDIX_TERMS`); the runner holds an LLM summary to the same rule
(:func:`summary_problem`). Every number is a table value written by
:mod:`prism_mmm.formatting`, and the Proofreader traces every number of both files, slide
tables included. A figure the tables cannot give is written "not available" with the reason:
never a made-up number, never a silently dropped section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from agents import report_layout
from agents.analyst import Analysis, word_count
from agents.figures import plt, save_figure, tidy_axes
from agents.report_layout import APPENDIX, Document, Headline, Section, Table
from agents.scoring import MODELS, failed_models, holdout_smape_by_model
from agents.warehouse import DATA_TABLES, ROUND_TABLES, DataTables, RoundTables
from prism_mmm.calibration import PASS_Z, WARN_Z, with_before
from prism_mmm.config import PrismConfig
from prism_mmm.formatting import (
    MISSING,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_name,
    fmt_num,
    fmt_pct,
    fmt_roi,
    fmt_signed_money,
    fmt_signed_pct,
)
from prism_mmm.models import REGISTRY, in_model_order, model_colour, model_label, shown_model
from prism_mmm.warehouse import AGENT_TABLES

SUMMARY_WORDS = 120
SUMMARY_TASK = (
    f"an executive summary for a CMO in at most {SUMMARY_WORDS} words, in plain English: no "
    "model names, no table or column names, no statistical jargon (write 'return per unit "
    "spent', 'forecast error', 'likely range'); lead with the channels every model agrees on, "
    "then what moving the budget would add, then how far to trust it")
CAUSAL_CAVEAT = ("Returns are associations under model assumptions, not causal proof: passing "
                 "the checks means the models are stable and predictive, not that the channels "
                 "caused the sales.")
STEADY_STATE_NOTE = ("Curves show the steady-state weekly response to a spend sustained week "
                     "after week (carry-over fully built up), not the response to a one-off "
                     "burst.")
# Words a CMO should not have to read: they may appear only in the appendix.
APPENDIX_TERMS = tuple(dict.fromkeys([
    *REGISTRY, *(spec.label for spec in REGISTRY.values()), "bayes", "bayesian", "nls",
    *ROUND_TABLES, *DATA_TABLES, *AGENT_TABLES, "mmm_input", "weekly_contributions",
    "model_predictions", "model_parameters", "user_budget_scenarios", "optimal_same_budget",
    "optimal_budget_plus", "optimal_budget_minus", "sMAPE", "MAPE", "NRMSE", "R²", "R2", "HDI",
    "CV", "VIF", "posterior", "bootstrap", "holdout", "critic", "proofreader",
]))
_TERMS = re.compile(r"(?<![\w])(" + "|".join(
    re.escape(t) for t in sorted(APPENDIX_TERMS, key=len, reverse=True)) + r")(?![\w])",
    re.IGNORECASE)
# The Critic's checks as a business reader would put the question.
CHECK_QUESTIONS = {
    "cross_model_agreement": "Do the models agree on the channels we recommend?",
    "prior_sensitivity": "Do the returns come from the data rather than starting assumptions?",
    "overfitting": "Do forecasts hold up on weeks the models never saw?",
    "holdout_length": "Were enough weeks held back to test the forecasts?",
    "sign_correctness": "Does every channel show a non-negative return?",
    "contribution_plausibility": "Is media's share of sales plausible?",
    "collinearity": "Do channels' spend patterns differ enough to tell them apart?",
    "sample_size": "Is there enough history for the number of channels?",
    "convergence_gates": "Did the statistical engine settle on a stable answer?",
    "model_failures": "Did every model run?",
    "roi_plausibility": "Are returns within the ranges the business expects?",
    "experiment_agreement": "Do the models agree with the lift tests?",
}
STATUS_WORDS = {"pass": "passed", "warn": "warning", "fail": "failed"}
# Whether the models reproduce a lift test, from the worst status among them.
AGREEMENT_WORDS = {"pass": "yes", "warn": "roughly", "fail": "no"}
NOT_CHECKED = "not checked"
CONFIRMED_COLOUR, UNCERTAIN_COLOUR = "#2E7D32", "#9E9E9E"
WIDE_ROI = 20.0  # above this, the return chart's axis turns logarithmic


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
    # experiment_lifts of every round of the run: a lift test's fits before it calibrated them
    lift_history: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class Report:
    markdown_path: Path
    pptx_path: Path
    markdown: str
    slide_text: str


@dataclass(frozen=True)
class BudgetPlan:
    """The same budget moved between channels, against today's split (one model's scenarios)."""

    model: str
    rows: pd.DataFrame  # optimal_same_budget rows, one per channel
    current_kpi: float
    kpi: float
    kpi_low: float
    kpi_high: float
    uplift: float
    uplift_low: float | None  # None: not recorded (a warehouse from before the columns)
    uplift_high: float | None

    @property
    def relative(self) -> float | None:
        return self.uplift / self.current_kpi if self.current_kpi > 0 else None

    @property
    def certain(self) -> bool:
        return self.uplift_low is not None and self.uplift_low > 0


# --- public --------------------------------------------------------------------------------

def summary_problem(text: str) -> str | None:
    """Why ``text`` cannot be the executive summary (too long, or words for the appendix only),
    or ``None``; the runner applies it to an LLM's summary too."""
    words = word_count(text)
    if words > SUMMARY_WORDS:
        return f"{words} words (limit {SUMMARY_WORDS})"
    found = appendix_terms_in(text)
    if found:
        return f"names that belong in the appendix only: {', '.join(found)}"
    return None


def appendix_terms_in(text: str) -> list[str]:
    """The model, table and jargon words of :data:`APPENDIX_TERMS` that ``text`` uses."""
    return list(dict.fromkeys(m.group(1) for m in _TERMS.finditer(text)))


def headlines(inputs: ReportInputs) -> list[Headline]:
    """The title slide's figures, in reading order."""
    return [_accuracy_headline(inputs), _returns_headline(inputs), _budget_headline(inputs),
            _review_headline(inputs)]


def executive_summary(inputs: ReportInputs) -> str:
    """The deterministic summary: agreed channels, disagreement, budget, accuracy, failures,
    review, caveat; plain English and at most :data:`SUMMARY_WORDS` words (long channel names
    first become a count, then the accuracy sentence, a headline figure already, is left out)."""
    for names, accuracy in ((3, True), (0, True), (0, False)):
        text = " ".join(_summary_parts(inputs, names, accuracy))
        if word_count(text) <= SUMMARY_WORDS:
            break
    return text


def _summary_parts(inputs: ReportInputs, names: int, accuracy: bool) -> list[str]:
    returns = _channel_returns(inputs.tables)
    confirmed = returns[returns["confirmed"]]
    failed = failed_models(inputs.tables)
    parts = []
    if failed and confirmed.empty:
        parts.append(f"{_failed_models_line(inputs.tables, failed)}.")
    elif inputs.tables.model_agreement.empty:
        parts.append("The models could not be compared, so no channel's return is confirmed.")
    elif confirmed.empty:
        parts.append("The models disagree on every channel, so no return on spend is "
                     "confirmed yet.")
    else:
        top = confirmed.iloc[0]
        returns_ = (f"returns {fmt_roi(top.roi_mean)} per unit spent (90% range "
                    f"{fmt_interval(top.low, top.high)})")
        parts.append(f"{fmt_name(top.channel)} {returns_}; every model agrees on it."
                     if len(confirmed) == 1 else
                     f"Every model agrees on {fmt_int(len(confirmed))} channels; the best, "
                     f"{fmt_name(top.channel)}, {returns_}.")
    uncertain = returns[~returns["confirmed"]]
    if len(uncertain) and len(confirmed):
        parts.append(f"The models disagree on {_names(uncertain['channel'], names)}: do not "
                     f"move budget on {'it' if len(uncertain) == 1 else 'them'} yet.")
    plan = _budget_plan(inputs)
    if isinstance(plan, str):
        parts.append(f"A budget plan is not available: {plan}.")
    else:
        parts.append(_budget_sentence(inputs, plan))
    best = _best_forecast(inputs.tables)
    if best is None:
        parts.append("Forecast accuracy is not available: no model produced a forecast.")
    elif accuracy:
        parts.append(f"The best model forecasts the last {fmt_int(best[1])} weeks, which it "
                     f"never saw, within {fmt_pct(best[0])} on average.")
    if failed and len(confirmed):  # an older run's agreement: the failure still leads nowhere
        parts.append(f"{_failed_models_line(inputs.tables, failed)}.")
    parts.append(_review_sentence(inputs))
    parts.append("Returns are associations under the models' assumptions, not proof that "
                 "spend caused sales.")
    return parts


def write_report(inputs: ReportInputs, out_dir: Path, summary: str) -> Report:
    """Write report.md, report.pptx and their figures into ``out_dir``."""
    figure_dir = out_dir / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "roi": _roi_chart(inputs, figure_dir / "roi_intervals.png"),
        "roi_by_model": _roi_by_model_chart(inputs.tables, figure_dir / "roi_by_model.png"),
        "contributions": _contribution_chart(inputs, figure_dir / "contributions.png"),
        "curves": _curves_chart(inputs, figure_dir / "spend_response.png"),
        "budget": _budget_chart(inputs, figure_dir / "budget_plan.png"),
    }
    figures = {key: path for key, path in figures.items() if path is not None}
    doc = Document(_title(inputs), _subtitle(inputs), headlines(inputs), summary,
                   _messages(inputs, figures), _appendix(inputs, figures))
    markdown = report_layout.markdown(doc)
    md_path = out_dir / "report.md"
    md_path.write_text(markdown)
    pptx_path = out_dir / "report.pptx"
    slide_text = report_layout.deck(doc, pptx_path)
    return Report(md_path, pptx_path, markdown, slide_text)


# --- figures the report states -------------------------------------------------------------

def _best_forecast(tables: RoundTables) -> tuple[float, float] | None:
    """(holdout sMAPE, holdout weeks) of the model that forecast the held-out weeks best."""
    smape = holdout_smape_by_model(tables)
    if smape.empty:
        return None
    model = smape.idxmin()
    metrics = tables.model_fit_metrics
    weeks = metrics.loc[(metrics["model"] == model) & (metrics["split"] == "holdout"), "n_weeks"]
    return float(smape[model]), float(weeks.iloc[0])


def _channel_returns(tables: RoundTables) -> pd.DataFrame:
    """Per channel: confirmed, mean ROI across models, and the range the models' 90% intervals
    cover (lowest low to highest high); best first."""
    columns = ["channel", "confirmed", "roi_mean", "low", "high"]
    agreement, roi = tables.model_agreement, tables.channel_roi
    if agreement.empty:
        return pd.DataFrame(columns=columns).astype({"confirmed": bool})
    frame = agreement[["channel", "roi_mean"]].assign(
        confirmed=agreement["confirmed"].fillna(False).astype(bool))
    if len(roi):
        span = roi.groupby("channel").agg(low=("roi_low", "min"), high=("roi_high", "max"))
        frame = frame.join(span, on="channel")
    else:
        frame = frame.assign(low=float("nan"), high=float("nan"))
    return frame.sort_values(["confirmed", "roi_mean", "channel"],
                             ascending=[False, False, True])[columns].reset_index(drop=True)


def _planning_model(inputs: ReportInputs, frame: pd.DataFrame) -> str | None:
    if frame.empty:  # a table that was never written has no model column
        return None
    return shown_model(frame["model"], inputs.cfg.optimizer.model)


def _budget_plan(inputs: ReportInputs) -> BudgetPlan | str:
    """The same-budget plan against today's split, or why there is none (plain words)."""
    budget = inputs.tables.budget_scenarios
    model = _planning_model(inputs, budget)
    if model is None:
        if inputs.cfg.optimizer.model in failed_models(inputs.tables):
            return "the model the budget planner uses failed in this round"
        return "no budget scenario was recorded for this round"
    rows = budget[budget["model"] == model]
    same = rows[rows["scenario"] == "optimal_same_budget"]
    today = rows[rows["scenario"] == "current"]
    if same.empty or today.empty:
        return "no same-budget plan was recorded against today's split"
    first = same.iloc[0]
    current_kpi = float(today["expected_kpi"].iloc[0])
    has_interval = {"uplift_kpi_low", "uplift_kpi_high"} <= set(same.columns) and bool(
        pd.notna(first.get("uplift_kpi_low")) and pd.notna(first.get("uplift_kpi_high")))
    uplift = first.get("uplift_kpi")
    return BudgetPlan(
        model=model, rows=same.sort_values("channel"), current_kpi=current_kpi,
        kpi=float(first["expected_kpi"]), kpi_low=float(first["expected_kpi_low"]),
        kpi_high=float(first["expected_kpi_high"]),
        # Mean of the per-draw gain = difference of the means, so older rows still give it.
        uplift=float(uplift) if pd.notna(uplift) else float(first["expected_kpi"]) - current_kpi,
        uplift_low=float(first["uplift_kpi_low"]) if has_interval else None,
        uplift_high=float(first["uplift_kpi_high"]) if has_interval else None)


def _moves(plan: BudgetPlan) -> tuple[pd.Series | None, pd.Series | None]:
    """The channel gaining most weekly spend and the one losing most (None when none moves)."""
    rows = plan.rows
    change = rows["optimal_spend"] - rows["current_spend"]
    tolerance = 1e-6 * max(float(rows["current_spend"].abs().max()), 1.0)
    up = rows.loc[change.idxmax()] if change.max() > tolerance else None
    down = rows.loc[change.idxmin()] if change.min() < -tolerance else None
    return up, down


def _kpi_name(inputs: ReportInputs) -> str:
    return fmt_name(inputs.cfg.data.kpi).lower()


def _money(inputs: ReportInputs, value: float | None) -> str:
    return fmt_money(value, inputs.cfg.data.currency)


def _money_range(inputs: ReportInputs, low: float | None, high: float | None) -> str:
    return f"{_money(inputs, low)} to {_money(inputs, high)}"


def _budget_sentence(inputs: ReportInputs, plan: BudgetPlan) -> str:
    up, _ = _moves(plan)
    horizon = fmt_int(inputs.cfg.optimizer.horizon_weeks)
    if up is None:
        return ("Today's split is already the best the models support for the same budget "
                f"(gain {_gain(inputs, plan)} over {horizon} weeks).")
    where = f"Moving the same budget towards {fmt_name(up['channel'])}"
    what = f"{_gain(inputs, plan)} of {_kpi_name(inputs)} over {horizon} weeks"
    if plan.uplift_low is None:
        return f"{where} adds an expected {what} (its 90% interval is not recorded)."
    interval = f"90% interval {_money_range(inputs, plan.uplift_low, plan.uplift_high)}"
    if plan.certain:
        return f"{where} adds {what} ({interval})."
    return f"{where} may add {what}, but the gain is uncertain ({interval})."


def _gain(inputs: ReportInputs, plan: BudgetPlan) -> str:
    """The gain after "adds": unsigned when it is a gain, signed when it is a loss."""
    if plan.uplift < 0:
        return fmt_signed_money(plan.uplift, inputs.cfg.data.currency)
    return _money(inputs, plan.uplift)


def _failed_models_line(tables: RoundTables, failed: list[str], short: bool = False) -> str:
    models = set(MODELS) | (set(tables.mmm_runs["model"]) if len(tables.mmm_runs) else set())
    line = f"{fmt_int(len(failed))} of {fmt_int(len(models))} models failed to run"
    return line if short else (f"{line}, so no channel can be confirmed (details in the "
                               "appendix)")


def _failed_checks(inputs: ReportInputs) -> pd.DataFrame:
    checks = inputs.checks
    return checks[checks["status"] == "fail"] if len(checks) else checks


def _review_sentence(inputs: ReportInputs) -> str:
    rounds = f"After {_count(len(inputs.rounds), 'round')} of tuning, the automated review"
    if inputs.verdict == "APPROVED":
        return f"{rounds} approved the results."
    failed = _failed_checks(inputs)
    if len(failed):
        return f"{rounds} asks for revisions ({_count(len(failed), 'check')} failed)."
    return f"{rounds} asks for revisions."


def _count(n: int, noun: str) -> str:
    return f"{fmt_int(n)} {noun}{'' if n == 1 else 's'}"


def _names(channels: pd.Series, limit: int = 3) -> str:
    """'A', 'A and B', 'A, B and C', or a count when there are more than ``limit``."""
    names = [fmt_name(c) for c in channels]
    if len(names) > limit:
        return f"{_count(len(names), 'other channel')}"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --- headline figures ------------------------------------------------------------------------

def _accuracy_headline(inputs: ReportInputs) -> Headline:
    best = _best_forecast(inputs.tables)
    if best is None:
        return Headline("Forecast error", MISSING, "Not available: no model produced a "
                        "forecast for the weeks held back.")
    n_models = len(holdout_smape_by_model(inputs.tables))
    return Headline("Forecast error", fmt_pct(best[0]),
                    f"Forecasts the last {fmt_int(best[1])} weeks, which the models never saw, "
                    f"within {fmt_pct(best[0])} on average (best of {fmt_int(n_models)} "
                    "models).")


def _returns_headline(inputs: ReportInputs) -> Headline:
    returns = _channel_returns(inputs.tables)
    confirmed = returns[returns["confirmed"]]
    label = "Return per unit spent"
    failed = failed_models(inputs.tables)
    if failed and confirmed.empty:
        return Headline(label, MISSING, f"No channel is confirmed: "
                        f"{_failed_models_line(inputs.tables, failed, short=True)}.")
    if inputs.tables.model_agreement.empty:
        return Headline(label, MISSING, "Not available: the models could not be compared, so "
                        "no channel's return is confirmed.")
    if confirmed.empty:
        return Headline(label, MISSING, "No channel is confirmed: the models disagree on all "
                        f"{fmt_int(len(returns))} channels, so no return is safe to act on.")
    shown = [f"{fmt_name(r.channel)} {fmt_roi(r.roi_mean)} (90% range "
             f"{fmt_interval(r.low, r.high)})" for r in confirmed.head(3).itertuples()]
    more = len(confirmed) - len(shown)
    text = "; ".join(shown) + (f"; {fmt_int(more)} more in the appendix" if more > 0 else "")
    return Headline(label, fmt_roi(confirmed.iloc[0].roi_mean),
                    f"{text}. Confirmed by every model.")


def _budget_headline(inputs: ReportInputs) -> Headline:
    label = "Same budget, reallocated"
    plan = _budget_plan(inputs)
    if isinstance(plan, str):
        return Headline(label, MISSING, f"Not available: {plan}.")
    horizon = fmt_int(inputs.cfg.optimizer.horizon_weeks)
    text = f"Expected extra {_kpi_name(inputs)} over the next {horizon} weeks"
    if plan.relative is not None:
        text += f" ({fmt_signed_pct(plan.relative)})"
    if plan.uplift_low is None:
        text += "; its 90% interval is not recorded."
    else:
        text += f"; 90% interval {_money_range(inputs, plan.uplift_low, plan.uplift_high)}"
        text += "." if plan.certain else ", so the gain is uncertain."
    return Headline(label, fmt_signed_money(plan.uplift, inputs.cfg.data.currency), text)


def _review_headline(inputs: ReportInputs) -> Headline:
    approved = inputs.verdict == "APPROVED"
    failed = _failed_checks(inputs)
    text = f"{_count(len(inputs.rounds), 'round')} of automated tuning; " + (
        "the automated review approved the results." if approved else
        f"the automated review asks for revisions ({_count(len(failed), 'check')} failed)."
        if len(failed) else "the automated review asks for revisions.")
    return Headline("Automated review", "Approved" if approved else "Not yet approved", text)


# --- messages (one per section and slide) ----------------------------------------------------

def _messages(inputs: ReportInputs, figures: dict[str, Path]) -> list[Section]:
    messages = [_returns_message(inputs, figures), _budget_message(inputs, figures),
                _contribution_message(inputs, figures), _curves_message(inputs, figures),
                _lift_test_message(inputs), _trust_message(inputs)]
    return [m for m in messages if m is not None]


def _returns_message(inputs: ReportInputs, figures: dict[str, Path]) -> Section:
    returns = _channel_returns(inputs.tables)
    if inputs.tables.model_agreement.empty:
        failed = failed_models(inputs.tables)
        return Section("Return on spend: not available", [
            f"{_failed_models_line(inputs.tables, failed)}." if failed else
            "The models could not be compared, so no channel's return is confirmed."])
    confirmed, uncertain = returns[returns["confirmed"]], returns[~returns["confirmed"]]
    failed = failed_models(inputs.tables)
    if failed and confirmed.empty:
        title = "No channel's return is confirmed: not every model ran"
    elif confirmed.empty:
        title = (f"No channel's return is confirmed: the models disagree on all "
                 f"{fmt_int(len(returns))}")
    else:
        top = confirmed.iloc[0]
        title = f"{fmt_name(top.channel)} returns {fmt_roi(top.roi_mean)} per unit spent"
        if len(uncertain):
            title += (f"; {_names(uncertain['channel'], 2)} "
                      f"{'is' if len(uncertain) == 1 else 'are'} uncertain")
    body = [("Dots show the average of the models; bars the range their 90% intervals cover. "
             "Green channels are confirmed by every model; grey ones are not, so their return "
             "is no basis for moving budget yet.")]
    return Section(title, body, figures.get("roi"), alt="Return per unit spent by channel")


def _budget_message(inputs: ReportInputs, figures: dict[str, Path]) -> Section:
    plan = _budget_plan(inputs)
    if isinstance(plan, str):
        return Section("Budget scenario: not available", [f"No budget plan: {plan}."])
    up, down = _moves(plan)
    horizon = fmt_int(inputs.cfg.optimizer.horizon_weeks)
    kpi = _kpi_name(inputs)
    gain = f"{_gain(inputs, plan)} of {kpi}"
    if up is None:
        title = "Today's split is already the best use of the same budget"
    elif plan.uplift_low is not None and not plan.certain:
        title = (f"Moving budget towards {fmt_name(up['channel'])} may add {gain} over "
                 f"{horizon} weeks, but the gain is uncertain")
    else:
        title = f"Moving budget towards {fmt_name(up['channel'])} adds {gain} over {horizon} weeks"
    body = []
    if up is not None:
        move = (f"Weekly spend on {fmt_name(up['channel'])} goes from "
                f"{_money(inputs, up['current_spend'])} to {_money(inputs, up['optimal_spend'])}")
        if down is not None:
            move += (f", on {fmt_name(down['channel'])} from "
                     f"{_money(inputs, down['current_spend'])} to "
                     f"{_money(inputs, down['optimal_spend'])}")
        body.append(move + "; channels the models disagree on move only a little.")
    body.append(f"Media-driven {kpi} over the next {horizon} weeks: {_money(inputs, plan.kpi)} "
                f"(90% interval {_money_range(inputs, plan.kpi_low, plan.kpi_high)}) against "
                f"{_money(inputs, plan.current_kpi)} with today's split. " + (
                    f"The gain's 90% interval is "
                    f"{_money_range(inputs, plan.uplift_low, plan.uplift_high)}."
                    if plan.uplift_low is not None else
                    "The gain's 90% interval is not recorded for this run."))
    return Section(title, body, figures.get("budget"), alt="Weekly spend: today and planned")


def _media_shares(tables: RoundTables) -> pd.Series:
    """Media share of the KPI per model that produced channel results."""
    roi = tables.channel_roi
    if roi.empty:
        return pd.Series(dtype=float)
    shares = roi.groupby("model")["share"].sum()
    return shares.reindex(in_model_order(shares.index))


def _contribution_message(inputs: ReportInputs, figures: dict[str, Path]) -> Section:
    shares = _media_shares(inputs.tables)
    kpi = _kpi_name(inputs)
    if shares.empty:
        return Section("Contributions: not available", [
            "No model produced channel contributions in this round."])
    low, high = fmt_pct(shares.min()), fmt_pct(shares.max())
    title = (f"Media drove {low} of {kpi}" if low == high else
             f"Media drove {low} to {high} of {kpi}, depending on the model")
    body = [(f"The rest of {kpi} would come without advertising: brand strength, season, "
             "trend and other factors. Bars show each channel's share, averaged over the "
             "models; the lines span the models' estimates.")]
    return Section(title, body, figures.get("contributions"), alt=f"Share of {kpi} by channel")


def _current_curve_points(inputs: ReportInputs) -> pd.DataFrame:
    curves = inputs.tables.response_curves
    model = _planning_model(inputs, curves)
    if model is None:
        return curves
    points = curves[(curves["model"] == model)
                    & curves["is_current_spend"].fillna(False).astype(bool)]
    return points.dropna(subset=["marginal_roi"]).sort_values("marginal_roi", ascending=False)


def _curves_message(inputs: ReportInputs, figures: dict[str, Path]) -> Section:
    points = _current_curve_points(inputs)
    if points.empty:
        return Section("Response curves: not available", [
            "No response curves were recorded for this round."])
    returns = _channel_returns(inputs.tables)
    confirmed = set(returns.loc[returns["confirmed"], "channel"])
    # Rank only channels every model confirms: one model's curve is no basis for the others.
    ranked = points[points["channel"].isin(confirmed)] if confirmed else points
    best, worst = ranked.iloc[0], ranked.iloc[-1]
    if len(ranked) == 1:
        title = (f"Extra spend on {fmt_name(best['channel'])} returns "
                 f"{fmt_roi(best['marginal_roi'])} per extra unit at today's spend")
    else:
        title = (f"Extra spend pays back most in {fmt_name(best['channel'])} "
                 f"({fmt_roi(best['marginal_roi'])} per extra unit at today's spend) and least "
                 f"in {fmt_name(worst['channel'])} ({fmt_roi(worst['marginal_roi'])})")
    body = [STEADY_STATE_NOTE + " Dots mark today's average weekly spend"
            + ("; right of the dashed line the curve goes beyond the largest weekly spend "
               "observed." if len(inputs.data.eda_channel_summary) else ".")]
    unranked = points[~points["channel"].isin(confirmed)]
    if confirmed and len(unranked):
        one = len(unranked) == 1
        body.append(f"{_names(unranked['channel'])} {'is' if one else 'are'} not ranked: the "
                    f"models disagree on {'it' if one else 'them'}.")
    elif not confirmed:
        body.append("No channel is confirmed by every model, so read this ranking as one "
                    "model's view.")
    return Section(title, body, figures.get("curves"), alt="Weekly response to weekly spend")


def _lift_rows(inputs: ReportInputs) -> pd.DataFrame:
    """The reported round's ``experiment_lifts`` rows, each with the model's fit before the
    test calibrated it (:func:`prism_mmm.calibration.with_before`); empty without lift tests."""
    lifts, round_ = inputs.tables.experiment_lifts, inputs.tables.round
    if lifts.empty:
        return lifts
    earlier = inputs.lift_history
    if len(earlier):  # the reported round's own rows are the round's tables
        earlier = earlier[earlier["round"] < round_]
    history = pd.concat([earlier, lifts], ignore_index=True) if len(earlier) else lifts
    return _in_model_order(with_before(history, round_), ["experiment_id", "model"])


def _lift_tests(rows: pd.DataFrame) -> pd.DataFrame:
    """Per lift test: channel, measured lift, whether the models agree (the worst status
    among them, in words; "not checked" when no model could evaluate it), whether it
    calibrated the fits, and the largest miss in standard errors now and before calibration."""
    order = {"pass": 0, "warn": 1, "fail": 2}
    out = []
    for experiment_id, test in rows.groupby("experiment_id", sort=True):
        evaluated = test["z_score"].notna().any()
        worst = max(test["status"], key=lambda s: order.get(s, 2))
        out.append({
            "experiment_id": experiment_id, "channel": test["channel"].iloc[0],
            "measured_lift": test["measured_lift"].iloc[0],
            "agree": AGREEMENT_WORDS.get(worst, "no") if evaluated else NOT_CHECKED,
            "calibrated": bool(test["calibrated"].astype(bool).any())
            if "calibrated" in test else None,
            "miss": test["z_score"].abs().max(),
            "miss_before": test["before_z_score"].abs().max()})
    return pd.DataFrame(out)


def _lift_test_message(inputs: ReportInputs) -> Section | None:
    """Whether the models reproduce the lift tests; no section without lift tests."""
    rows = _lift_rows(inputs)
    rows = rows[~rows["model"].isin(failed_models(inputs.tables))] if len(rows) else rows
    if rows.empty:
        return None
    tests = _lift_tests(rows)
    disagree = tests[tests["agree"] == AGREEMENT_WORDS["fail"]]
    single = len(tests) == 1
    if len(disagree):
        names = [fmt_name(t) for t in disagree["experiment_id"]]
        title = ("The models disagree with " + (
            f"lift test {names[0]}" if len(names) == 1 else
            f"lift tests {names[0]} and {names[1]}" if len(names) == 2 else
            "several lift tests"))
    elif (tests["agree"] == AGREEMENT_WORDS["warn"]).any():
        title = f"The models roughly agree with the lift test{'' if single else 's'}"
    elif (tests["agree"] == NOT_CHECKED).all():
        title = f"The lift test{'' if single else 's'} could not be checked"
    else:
        title = ("Every model agrees with " + (
            f"the lift test on {fmt_name(tests['channel'].iloc[0])}" if single else
            f"all {fmt_int(len(tests))} lift tests"))
    body = [("A lift test measures what a change in a channel's spend really added; the models "
             "predict the lift of the same change. 'Yes' means every model is within "
             f"{fmt_num(PASS_Z, 0)} standard errors of the measured lift, 'roughly' within "
             f"{fmt_num(WARN_Z, 0)}, 'no' further off.")]
    for t in tests[tests["miss_before"].notna()].itertuples():
        body.append(f"Before the models were calibrated on {fmt_name(t.experiment_id)}, they "
                    f"missed it by up to {fmt_num(t.miss_before, 1)} standard errors; now by "
                    f"up to {fmt_num(t.miss, 1)}.")
    if len(disagree):
        channels = list(dict.fromkeys(disagree["channel"]))
        body.append(f"Read the return of {_names(pd.Series(channels), len(channels))} with "
                    f"care: the models do not reproduce {'its' if len(channels) == 1 else 'their'} "
                    f"lift test{'' if len(disagree) == 1 else 's'}.")
    table = Table(["Lift test", "Channel", "Measured lift", "Models agree?",
                   "Used to calibrate?"], [
        [fmt_name(t.experiment_id), fmt_name(t.channel), _money(inputs, t.measured_lift),
         t.agree, MISSING if t.calibrated is None else "yes" if t.calibrated else "no"]
        for t in tests.itertuples()])
    return Section(title, body, table=table)


def _trust_message(inputs: ReportInputs) -> Section:
    failed_checks = _failed_checks(inputs)
    if inputs.verdict == "APPROVED":
        title = "The automated review approved these results"
    elif len(failed_checks):
        title = (f"Not yet approved: the automated review found {fmt_int(len(failed_checks))} "
                 f"{'problem' if len(failed_checks) == 1 else 'problems'}")
    else:
        title = "Not yet approved by the automated review"
    body = []
    failed = failed_models(inputs.tables)
    if failed:
        body.append(f"{_failed_models_line(inputs.tables, failed)}.")
    body.append(CAUSAL_CAVEAT)
    checks = inputs.checks
    if checks.empty:
        body.append("No review was recorded for this round.")
        return Section(title, body)
    order = {"fail": 0, "warn": 1, "pass": 2}
    rows = sorted(checks.itertuples(), key=lambda r: (order.get(r.status, 3), r.check_name))
    table = Table(["What was checked", "Result"], [
        [CHECK_QUESTIONS.get(r.check_name, fmt_name(r.check_name) + "?"),
         STATUS_WORDS.get(r.status, r.status)] for r in rows])
    return Section(title, body, table=table)


# --- appendix --------------------------------------------------------------------------------

def _appendix(inputs: ReportInputs, figures: dict[str, Path]) -> list[Section]:
    tables = inputs.tables
    sections = [_sources_section(inputs), _fit_section(inputs)]
    roi = _in_model_order(tables.channel_roi, ["channel", "model"])
    if roi.empty:
        sections.append(Section("ROI by model: not available", ["channel_roi has no rows."]))
    else:
        shares = _media_shares(tables)
        sections.append(Section(
            "ROI by model, with 90% intervals",
            ["Media share of the KPI by model: "
             + ", ".join(f"{m} {fmt_pct(v)}" for m, v in shares.items()) + "."],
            figures.get("roi_by_model"), alt="ROI by model",
            table=Table(["channel", "model", "spend", "ROI", "90% interval"], [
                [r.channel, r.model, _money(inputs, r.spend), fmt_roi(r.roi),
                 fmt_interval(r.roi_low, r.roi_high)] for r in roi.itertuples()])))
    sections.append(_agreement_section(inputs))
    if (lift_tests := _lift_tests_section(inputs)) is not None:
        sections.append(lift_tests)
    sections.append(_curves_appendix(inputs))
    sections.append(_scenarios_section(inputs))
    sections.append(_gates_section(inputs))
    sections.append(_checks_section(inputs))
    sections.append(_rounds_section(inputs))
    return sections


def _sources_section(inputs: ReportInputs) -> Section:
    best = holdout_smape_by_model(inputs.tables)
    plan = _budget_plan(inputs)
    budget = (f"budget_scenarios of the {plan.model} model: optimal_same_budget against "
              "current; the gain is uplift_kpi with its 90% interval uplift_kpi_low to "
              "uplift_kpi_high (per draw, against today's split), over optimizer.horizon_weeks."
              if isinstance(plan, BudgetPlan) else f"budget_scenarios: not available ({plan}).")
    body = [
        "Forecast error: holdout sMAPE in model_fit_metrics of the model with the lowest one"
        + (f" ({best.idxmin()})." if len(best) else " (none available)."),
        ("Return per unit spent: model_agreement roi_mean (the mean of the models' ROI); the "
         "90% range runs from the lowest roi_low to the highest roi_high in channel_roi. A "
         "channel is confirmed when the models agree on the sign, their ROI CV is below 50% "
         "and every model ran."),
        f"Same budget, reallocated: {budget}",
        ("Automated review: agent_rounds (rounds run) and critic_checks (the Critic's verdict "
         f"{inputs.verdict})."),
    ]
    failed = failed_models(inputs.tables)
    if failed:
        body.append("Failed models: " + "; ".join(_failure_messages(inputs.tables, failed)) + ".")
    return Section(f"{APPENDIX}: where the figures come from", body)


def _failure_messages(tables: RoundTables, failed: list[str]) -> list[str]:
    messages = {}
    for frame in (tables.mmm_runs, tables.model_fit_metrics):
        if frame.empty:
            continue
        for r in frame[frame["model"].isin(failed) & frame["message"].notna()].itertuples():
            messages.setdefault(r.model, str(r.message))
    return [f"{m}: {messages.get(m, 'no result rows and no error message recorded')}"
            for m in failed]


def _fit_section(inputs: ReportInputs) -> Section:
    metrics = inputs.tables.model_fit_metrics
    if metrics.empty:
        return Section("Diagnostics: fit per model", ["model_fit_metrics has no rows."])
    table = Table(["model", "split", "R²", "sMAPE", "weeks", "status"], [
        [r.model, r.split, fmt_num(r.r2, 3), fmt_pct(r.smape), fmt_int(r.n_weeks), r.status]
        for r in _in_model_order(metrics, ["model", "split"]).itertuples()])
    return Section("Diagnostics: fit per model", table=table)


def _agreement_section(inputs: ReportInputs) -> Section:
    agreement = inputs.tables.model_agreement
    if agreement.empty:
        return Section("Cross-model agreement: not available", ["model_agreement has no rows."])
    table = Table(["channel", "confirmed", "mean ROI", "ROI CV", "signs agree"], [
        [r.channel, "yes" if r.confirmed else "no", fmt_roi(r.roi_mean), fmt_pct(r.roi_cv),
         "yes" if r.sign_agreement else "no"]
        for r in agreement.sort_values("roi_mean", ascending=False).itertuples()])
    return Section("Cross-model agreement", table=table)


def _lift_tests_section(inputs: ReportInputs) -> Section | None:
    """Each lift test against each model: measured lift, the implied lift and z before the
    test calibrated the fit and in the reported round; no section without lift tests."""
    rows = _lift_rows(inputs)
    if rows.empty:
        return None
    now = f"round {fmt_int(inputs.tables.round)}"
    body = [(f"experiment_lifts of {now} and, for a test that calibrated a fit in {now}, the "
             "first earlier round of this run that fitted the model without it. z = (implied - "
             f"measured) / se; status pass within {fmt_num(PASS_Z, 0)} se, warn within "
             f"{fmt_num(WARN_Z, 0)}, else fail (the Critic's experiment_agreement check).")]
    has_calibrated = "calibrated" in rows
    calibrated = rows["calibrated"].astype(bool) if has_calibrated else pd.Series(
        False, index=rows.index)
    if (calibrated & rows["before_round"].isna()).any():
        body.append(f"{MISSING} before calibration: no earlier round of this run kept a fit "
                    "without the test: it calibrated the fits from the first round it appears "
                    "in (a Critic revision within a round replaces that round's first fit).")
    if has_calibrated and (~calibrated).any():
        body.append(f"A test not used for calibration in {now} (calibrated no) was only "
                    f"checked against: it has no before ({MISSING}).")
    if not has_calibrated:
        body.append(f"calibrated {MISSING}: this run's experiment_lifts predate the column, so "
                    "which tests calibrated the fits is not recorded.")
    body += [f"{r.model} {r.experiment_id}: {r.message}"
             for r in rows[rows["z_score"].isna()].itertuples()]
    table = Table(["lift test", "model", "measured ± se", "before: round", "before: implied",
                   "before: z", f"{now}: implied", f"{now}: z", "status", "calibrated"], [
        [r.experiment_id, r.model,
         f"{_money(inputs, r.measured_lift)} ± {_money(inputs, r.measured_lift_se)}",
         fmt_int(r.before_round), _money(inputs, r.before_implied_lift),
         fmt_num(r.before_z_score, 1), _money(inputs, r.implied_lift), fmt_num(r.z_score, 1),
         r.status, ("yes" if r.calibrated else "no") if has_calibrated else MISSING]
        for r in rows.itertuples()])
    return Section("Lift tests against each model, before and after calibration", body,
                   table=table)


def _curves_appendix(inputs: ReportInputs) -> Section:
    points = _current_curve_points(inputs)
    if points.empty:
        return Section("Response curves at current spend: not available",
                       ["response_curves has no rows for this round."])
    model = points["model"].iloc[0]
    table = Table(["channel", "weekly spend", "weekly response", "marginal ROI"], [
        [r.channel, _money(inputs, r.spend), _money(inputs, r.response), fmt_roi(r.marginal_roi)]
        for r in points.sort_values("channel").itertuples()])
    return Section(f"Response curves at current spend ({model} model)", table=table)


def _scenarios_section(inputs: ReportInputs) -> Section:
    budget = inputs.tables.budget_scenarios
    model = _planning_model(inputs, budget)
    if model is None:
        return Section("Budget scenarios: not available",
                       ["budget_scenarios has no rows for this round."])
    rows = budget[budget["model"] == model].groupby("scenario", sort=False).first()
    has_uplift = {"uplift_kpi", "uplift_kpi_low", "uplift_kpi_high"} <= set(rows.columns)
    table = Table(["scenario", "weekly budget", "media KPI", "90% interval", "uplift",
                   "uplift 90% interval"], [
        [scenario, _money(inputs, r["total_budget"]), _money(inputs, r["expected_kpi"]),
         _money_range(inputs, r["expected_kpi_low"], r["expected_kpi_high"]),
         _money(inputs, r["uplift_kpi"]) if has_uplift else MISSING,
         _money_range(inputs, r["uplift_kpi_low"], r["uplift_kpi_high"]) if has_uplift
         else MISSING]
        for scenario, r in rows.iterrows()])
    return Section(f"Budget scenarios ({model} model, media KPI over "
                   f"{fmt_int(inputs.cfg.optimizer.horizon_weeks)} weeks)", table=table)


def _gates_section(inputs: ReportInputs) -> Section:
    gates = inputs.tables.bayes_gates
    if gates.empty:
        return Section("Bayesian convergence gates: not available",
                       ["bayes_gates has no rows for this round."])
    table = Table(["gate", "metric", "value", "threshold", "status"], [
        [r.gate, r.metric, fmt_num(r.value), fmt_num(r.threshold), r.status]
        for r in gates.sort_values("gate").itertuples()])
    return Section("Bayesian convergence gates", table=table)


def _checks_section(inputs: ReportInputs) -> Section:
    body = []
    readiness = inputs.data.data_readiness
    if len(readiness):
        row = readiness.iloc[0]
        body.append(f"Data readiness {fmt_int(row['score'])}/5: {row['reasons']}")
    if inputs.checks.empty:
        return Section(f"Critic checks (verdict {inputs.verdict})",
                       [*body, "critic_checks has no rows for this round."])
    table = Table(["check", "status", "reason"], [
        [r.check_name, r.status, r.reason] for r in inputs.checks.itertuples()])
    return Section(f"Critic checks (verdict {inputs.verdict})", body, table=table)


def _rounds_section(inputs: ReportInputs) -> Section:
    decisions = inputs.decisions
    changes = decisions[decisions["action"].isin(["keep", "revert", "baseline"])] if len(
        decisions) else decisions
    rows = []
    for r in inputs.rounds.sort_values("round").itertuples():
        done = changes[changes["round"] == r.round] if len(changes) else changes
        final = done.iloc[-1] if len(done) else None
        what = "baseline configuration" if final is None or final["action"] == "baseline" \
            else final["what"]
        kept = "yes" if final is not None and bool(final["kept"]) else "no"
        cv = getattr(r, "cv_smape", None)  # absent in a warehouse from before CV scoring
        rows.append([fmt_int(r.round), what, "n/a" if cv is None or pd.isna(cv) else fmt_pct(cv),
                     fmt_num(r.score, 3), kept, str(r.verdict)])
    return Section("How this result was reached (score path of the loop; each change is "
                   "judged on the rolling-origin CV sMAPE of the training weeks)",
                   table=Table(["round", "change", "CV sMAPE", "score", "kept", "verdict"], rows))


# --- charts --------------------------------------------------------------------------------

def _roi_chart(inputs: ReportInputs, path: Path) -> Path | None:
    returns = _channel_returns(inputs.tables).dropna(subset=["roi_mean"])
    if returns.empty:
        return None
    returns = returns.iloc[::-1]  # best at the top
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(returns) + 1.6))
    for y, r in enumerate(returns.itertuples()):
        colour = CONFIRMED_COLOUR if r.confirmed else UNCERTAIN_COLOUR
        if pd.notna(r.low) and pd.notna(r.high):
            ax.plot([r.low, r.high], [y, y], color=colour, lw=3, alpha=0.5,
                    solid_capstyle="round")
        ax.plot(r.roi_mean, y, "o", color=colour, ms=9)
    ax.set_yticks(range(len(returns)), [fmt_name(c) for c in returns["channel"]])
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    label = "Return per unit spent (1 = break-even)"
    if returns["high"].max() > WIDE_ROI:
        # One channel's range must not squash the others to a dot at zero.
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(left=min(0.0, float(returns["low"].min())))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: fmt_num(
            value, 0 if value == 0 or abs(value) >= 1 else 1)))
        label += ", log scale above 1"
    ax.set_xlabel(label)
    ax.legend(handles=[Line2D([], [], color=CONFIRMED_COLOUR, marker="o", label="confirmed"),
                       Line2D([], [], color=UNCERTAIN_COLOUR, marker="o",
                              label="models disagree")], loc="lower right", frameon=False)
    tidy_axes(ax)
    return save_figure(fig, path)


def _roi_by_model_chart(tables: RoundTables, path: Path) -> Path | None:
    roi = tables.channel_roi.dropna(subset=["roi"]) if len(tables.channel_roi) else pd.DataFrame()
    if roi.empty:
        return None
    channels = sorted(roi["channel"].unique())
    models = in_model_order(roi["model"])
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(channels) + 1.5))
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
    tidy_axes(ax)
    return save_figure(fig, path)


def _contribution_chart(inputs: ReportInputs, path: Path) -> Path | None:
    roi = inputs.tables.channel_roi
    if roi.empty:
        return None
    share = roi.groupby("channel")["share"].agg(["mean", "min", "max"]).sort_values(
        "mean", ascending=False) * 100
    fig, ax = plt.subplots(figsize=(10, 4.6))
    x = range(len(share))
    ax.bar(x, share["mean"], color="#4C72B0", width=0.6)
    ax.errorbar(x, share["mean"], yerr=[share["mean"] - share["min"], share["max"] - share["mean"]],
                fmt="none", ecolor="#333333", capsize=4, lw=1)
    ax.set_xticks(list(x), [fmt_name(c) for c in share.index], rotation=30, ha="right")
    ax.set_ylabel(f"share of {_kpi_name(inputs)} (%)")
    tidy_axes(ax)
    return save_figure(fig, path)


def _curves_chart(inputs: ReportInputs, path: Path) -> Path | None:
    curves = inputs.tables.response_curves
    if curves.empty:
        return None
    model = _planning_model(inputs, curves)
    rows = curves[curves["model"] == model]
    channels = sorted(rows["channel"].unique())
    cols = min(4, len(channels))
    n_rows = -(-len(channels) // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(3.3 * cols, 2.5 * n_rows), squeeze=False)
    colour = "#4C72B0"
    summary = inputs.data.eda_channel_summary
    largest = summary.set_index("channel")["max_weekly_spend"] if len(summary) else pd.Series()
    for ax, channel in zip(axes.ravel(), channels):
        curve = rows[rows["channel"] == channel].sort_values("spend")
        ax.plot(curve["spend"], curve["response"], color=colour)
        ax.fill_between(curve["spend"], curve["low"], curve["high"], alpha=0.25, color=colour)
        now = curve[curve["is_current_spend"].fillna(False).astype(bool)]
        ax.plot(now["spend"], now["response"], "ko", ms=5)
        if pd.notna(largest.get(channel)):
            ax.axvline(largest[channel], color="grey", lw=0.8, ls="--")
        ax.set_title(fmt_name(channel), fontsize=10)
        ax.tick_params(labelsize=7)
        _money_axis(ax.xaxis)
        _money_axis(ax.yaxis)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        tidy_axes(ax)
    for ax in axes.ravel()[len(channels):]:
        ax.axis("off")
    fig.supxlabel(f"weekly spend ({inputs.cfg.data.currency})", fontsize=9)
    fig.supylabel(f"weekly {_kpi_name(inputs)}", fontsize=9)
    return save_figure(fig, path)


def _budget_chart(inputs: ReportInputs, path: Path) -> Path | None:
    plan = _budget_plan(inputs)
    if isinstance(plan, str):
        return None
    frame = plan.rows.set_index("channel")[["current_spend", "optimal_spend"]]
    frame = frame.sort_values("current_spend", ascending=False)
    fig, ax = plt.subplots(figsize=(10, 4.6))
    x = range(len(frame))
    ax.bar([i - 0.2 for i in x], frame["current_spend"], width=0.4, color="#9E9E9E",
           label="today")
    ax.bar([i + 0.2 for i in x], frame["optimal_spend"], width=0.4, color="#4C72B0",
           label="same budget, reallocated")
    ax.set_xticks(list(x), [fmt_name(c) for c in frame.index], rotation=30, ha="right")
    ax.set_ylabel(f"weekly spend ({inputs.cfg.data.currency})")
    _money_axis(ax.yaxis)
    ax.legend(frameon=False)
    tidy_axes(ax)
    return save_figure(fig, path)


def _money_axis(axis: object) -> None:
    axis.set_major_formatter(FuncFormatter(lambda value, _: fmt_money(value)))


def _in_model_order(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``by``, its ``model`` column in registry order, not alphabetically."""
    if frame.empty:
        return frame
    rank = {name: i for i, name in enumerate(in_model_order(frame["model"]))}
    return frame.sort_values(by, key=lambda column: column.map(rank) if column.name == "model"
                             else column)


# --- title ---------------------------------------------------------------------------------

def _title(inputs: ReportInputs) -> str:
    series = inputs.cfg.data.only_series
    where = f" · {', '.join(series)}" if series else ""  # one series of a portfolio
    return f"{inputs.cfg.data.brand}{where}: marketing mix report"


def _subtitle(inputs: ReportInputs) -> str:
    return (f"Run {inputs.run_id} · {_count(len(inputs.rounds), 'round')} of tuning; the "
            f"report shows round {fmt_int(inputs.tables.round)}, the best")
