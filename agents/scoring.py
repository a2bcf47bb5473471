"""The round score: one number, higher is better, that decides whether a change is kept.

    score = W_FIT * fit + W_AGREEMENT * agreement
            - GATE_FAIL_PENALTY * failed_gates - GATE_WARN_PENALTY * warned_gates
            - MODEL_FAIL_PENALTY * failed_models

fit        = 1 - min(mean sMAPE over models with status ok/warning, 1); 0 if none. The sMAPE
             is the rolling-origin CV score (``model_fit_metrics`` split 'cv', measured on
             training weeks only) when the round has one, as every loop round does, so that
             keeping or reverting a change never looks at the final holdout; else the holdout.
             sMAPE is a fraction (0.13 = 13%), so ``fit`` is in [0, 1].
agreement  = confirmed channels / channels in ``model_agreement`` (0 if the table is empty).
gates      = ``bayes_gates`` rows with status 'fail' / 'warn'.
failed_models = models whose ``model_fit_metrics`` (or ``mmm_runs``) status is 'failed', or
             that wrote no fit metrics at all.

Agreement weighs as much as fit because the product's claim is "the models agree", not
"one model fits well": a report leads with agreement, not with MAPE. A failed gate costs about as
much as losing agreement on a channel out of eight; a failed model costs more than any gain in
fit can buy back, so a change that breaks a model is never kept. The score is monotonic in
each part: lower sMAPE, more confirmed channels, fewer failed/warned gates or models never
lower it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from agents.warehouse import RoundTables
from prism_mmm.models import model_names

MODELS = model_names()  # every registered model is expected to fit; a missing one counts as failed
W_FIT = 0.5
W_AGREEMENT = 0.5
GATE_FAIL_PENALTY = 0.06
GATE_WARN_PENALTY = 0.02
MODEL_FAIL_PENALTY = 0.5
IMPROVEMENT_EPSILON = 1e-6  # below this a "better" score is rounding noise, not improvement


@dataclass(frozen=True)
class ScoreParts:
    """The inputs of the score, kept so a decision can say why a round won or lost."""

    mean_smape: float | None
    smape_split: str  # 'cv' or 'holdout': where mean_smape was measured
    confirmed_share: float
    failed_gates: int
    warned_gates: int
    failed_models: int

    @property
    def score(self) -> float:
        smape = self.mean_smape
        fit = 0.0 if smape is None else 1.0 - min(max(smape, 0.0), 1.0)
        return (
            W_FIT * fit
            + W_AGREEMENT * self.confirmed_share
            - GATE_FAIL_PENALTY * self.failed_gates
            - GATE_WARN_PENALTY * self.warned_gates
            - MODEL_FAIL_PENALTY * self.failed_models
        )


def failed_models(tables: RoundTables) -> list[str]:
    """Models with status 'failed' anywhere, or with no fit metrics at all (never silent)."""
    failed = set()
    for frame in (tables.model_fit_metrics, tables.mmm_runs):
        if not frame.empty:
            failed |= set(frame.loc[frame["status"] == "failed", "model"])
    fitted = set(tables.model_fit_metrics["model"]) if not tables.model_fit_metrics.empty else set()
    failed |= set(MODELS) - fitted
    return sorted(failed)


def holdout_smape_by_model(tables: RoundTables, split: str = "holdout") -> pd.Series:
    """sMAPE on ``split`` ('holdout' or 'cv') per model that did not fail (index: model)."""
    metrics = tables.model_fit_metrics
    if metrics.empty:
        return pd.Series(dtype=float)
    rows = metrics[(metrics["split"] == split) & (metrics["status"] != "failed")]
    rows = rows[~rows["model"].isin(failed_models(tables))]
    return rows.set_index("model")["smape"].dropna().sort_index()


def score_split(tables: RoundTables) -> str:
    """'cv' when the round has rolling-origin CV scores (every loop round), else 'holdout'."""
    metrics = tables.model_fit_metrics
    return "cv" if len(metrics) and (metrics["split"] == "cv").any() else "holdout"


def score_parts(tables: RoundTables) -> ScoreParts:
    """Read the parts of the score from one round's tables."""
    split = score_split(tables)
    smape = holdout_smape_by_model(tables, split)
    agreement = tables.model_agreement
    confirmed = float(agreement["confirmed"].fillna(False).astype(bool).mean()) if len(
        agreement) else 0.0
    gates = tables.bayes_gates
    return ScoreParts(
        mean_smape=float(smape.mean()) if len(smape) else None,
        smape_split=split,
        confirmed_share=confirmed,
        failed_gates=int((gates["status"] == "fail").sum()) if len(gates) else 0,
        warned_gates=int((gates["status"] == "warn").sum()) if len(gates) else 0,
        failed_models=len(failed_models(tables)),
    )


def improves(score: float, best: float | None) -> bool:
    """Keep a change only when it beats the best score so far by more than rounding noise."""
    return best is None or score > best + IMPROVEMENT_EPSILON
