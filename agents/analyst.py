"""Analyst: a short reading of one round's results, leading with cross-model agreement.

The deterministic text is built only from formatted table values. With an Anthropic key the
prose may come from Claude instead (see :mod:`agents.llm`), checked by the Proofreader.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from agents.scoring import failed_models, holdout_smape_by_model
from agents.warehouse import RoundTables
from prism_mmm.formatting import fmt_int, fmt_pct, fmt_roi

MAX_WORDS = 400
MAX_LISTED_UNCERTAIN = 6  # keep the note short when there are many channels
MAX_MESSAGE_WORDS = 25  # model error messages can be long; the note must stay under the limit


@dataclass(frozen=True)
class Analysis:
    """The Analyst's output: prose plus the channel lists the Critic checks."""

    text: str
    confirmed: list[str]
    uncertain: list[str]
    recommended: list[str]  # confirmed channels with a positive mean ROI, best first


def analyse(tables: RoundTables) -> Analysis:
    """Summarise one round: agreement first, then confirmed vs uncertain channels, then fit."""
    agreement = tables.model_agreement.sort_values(["roi_mean", "channel"],
                                                   ascending=[False, True])
    is_confirmed = agreement["confirmed"].fillna(False).astype(bool) if len(agreement) else []
    confirmed = agreement[is_confirmed] if len(agreement) else agreement
    uncertain = (agreement[~is_confirmed] if len(agreement) else agreement).sort_values(
        ["roi_cv", "channel"], ascending=[False, True], na_position="first")
    recommended = [r.channel for r in confirmed.itertuples() if r.roi_mean > 0]
    ranges = _roi_ranges(tables.channel_roi)

    lines = [_lead(agreement, confirmed)]
    if len(confirmed):
        lines.append("Confirmed channels (mean ROI across models; lowest to highest model "
                     "estimate):")
        lines += [f"- {r.channel}: ROI {fmt_roi(r.roi_mean)} ({_range(ranges, r.channel)}), "
                  f"CV {fmt_pct(r.roi_cv)}." for r in confirmed.itertuples()]
    if len(uncertain):
        lines.append("Uncertain channels (models disagree; do not move budget on these yet):")
        lines += [f"- {r.channel}: {_uncertain_reason(r)}; model estimates "
                  f"{_range(ranges, r.channel)}."
                  for r in uncertain.head(MAX_LISTED_UNCERTAIN).itertuples()]
        rest = list(uncertain["channel"].iloc[MAX_LISTED_UNCERTAIN:])
        if rest:
            lines.append(f"- also uncertain: {', '.join(rest)}.")
    lines.append(_fit_line(tables))
    failed = failed_models(tables)
    if failed:
        lines.append(f"Model failures: {', '.join(failed)} did not produce usable results "
                     f"({_failure_messages(tables, failed)}); agreement is limited to the "
                     "models that ran.")
    lines.append("ROI figures are associations under model assumptions, not causal proof.")
    return Analysis(text="\n".join(lines), confirmed=list(confirmed["channel"]) if len(
        confirmed) else [], uncertain=list(uncertain["channel"]) if len(uncertain) else [],
        recommended=recommended)


def word_count(text: str) -> int:
    return len(text.split())


def _lead(agreement: pd.DataFrame, confirmed: pd.DataFrame) -> str:
    if agreement.empty:
        return ("Cross-model agreement: not available (model_agreement is empty), so no "
                "channel can be called confirmed.")
    names = ", ".join(confirmed["channel"]) if len(confirmed) else "none"
    return (f"Cross-model agreement: {fmt_int(len(confirmed))} of {fmt_int(len(agreement))} "
            f"channels confirmed (same sign, ROI CV below 50%, every model ok): {names}.")


def _roi_ranges(channel_roi: pd.DataFrame) -> dict[str, tuple[float, float]]:
    if channel_roi.empty:
        return {}
    grouped = channel_roi.dropna(subset=["roi"]).groupby("channel")["roi"]
    return {ch: (lo, hi) for ch, lo, hi in zip(grouped.min().index, grouped.min(), grouped.max())}


def _range(ranges: dict[str, tuple[float, float]], channel: str) -> str:
    if channel not in ranges:
        return "no model estimate"
    low, high = ranges[channel]
    return f"{fmt_roi(low)} to {fmt_roi(high)}"


def _uncertain_reason(row: object) -> str:
    if not row.sign_agreement:
        return "models disagree on the sign"
    if pd.isna(row.roi_cv):
        return "CV not available"
    if row.roi_cv >= 0.5:
        return f"CV {fmt_pct(row.roi_cv)}"
    return f"CV {fmt_pct(row.roi_cv)} but not every model ran"


def _fit_line(tables: RoundTables) -> str:
    smape = holdout_smape_by_model(tables)
    if smape.empty:
        return "Fit: no holdout metrics available."
    metrics = tables.model_fit_metrics
    holdout_weeks = metrics.loc[metrics["split"] == "holdout", "n_weeks"].max()
    parts = ", ".join(f"{model} {fmt_pct(value)}" for model, value in smape.items())
    return (f"Fit (secondary to agreement): holdout sMAPE {parts} over "
            f"{fmt_int(holdout_weeks)} holdout weeks.")


def _failure_messages(tables: RoundTables, failed: list[str]) -> str:
    messages = []
    for frame in (tables.mmm_runs, tables.model_fit_metrics):
        if frame.empty:
            continue
        rows = frame[frame["model"].isin(failed) & frame["message"].notna()]
        messages += [f"{r.model}: {_shorten(str(r.message))}" for r in rows.itertuples()]
    unique = list(dict.fromkeys(messages))
    return "; ".join(unique) if unique else "no error message recorded"


def _shorten(message: str) -> str:
    """Cut at a word boundary, so no number is cut in half."""
    words = message.split()
    return message if len(words) <= MAX_MESSAGE_WORDS else " ".join(
        words[:MAX_MESSAGE_WORDS]) + " …"
