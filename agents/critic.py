"""Critic: checks one round's results and answers APPROVED or REVISE.

Every check returns pass / warn / fail with a reason, the measured value and the threshold.
Any ``fail`` makes the verdict REVISE (the runner then allows one revision in the same round).
Data limitations that no configuration change can fix (collinearity, sample size) still fail
when severe: the verdict must not hide them, and the report repeats them as caveats.

Thresholds (value compared, pass / warn / fail):

=========================  ==================================================================
cross_model_agreement      recommended channels need ROI CV < 0.5 and confirmed; warn when no
                           channel is confirmed (no cross-model signal at all)
prior_sensitivity          Bayesian ROI / Ridge ROI per channel; warn above 2
overfitting                train R² > 0.99 with < 156 train weeks -> fail; holdout sMAPE /
                           train sMAPE > 2 -> fail, > 1.5 -> warn
holdout_length             holdout weeks < 13 -> fail (a 4-week holdout made MAPE meaningless)
sign_correctness           any model ROI < -1e-6 -> fail; sign disagreement across models -> warn
contribution_plausibility  media share of KPI per model outside 0.05-0.80 -> fail
collinearity               max VIF > 10 -> fail, > 5 -> warn
sample_size                total weeks < 52 -> fail; train weeks < 10 per channel -> warn
convergence_gates          any bayes gate fail -> fail, warn -> warn
model_failures             a failed or missing model -> fail; status 'warning' -> warn
roi_plausibility           (only with Business Context ranges) a confirmed channel's mean ROI
                           outside [roi_low, roi_high] -> fail; any model outside -> warn
experiment_agreement       (only with lift tests) a model's implied lift more than 3 standard
                           errors from the measured lift -> fail, more than 2 -> warn
=========================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from agents.analyst import Analysis
from agents.scoring import failed_models
from agents.warehouse import DataTables, RoundTables
from prism_mmm.calibration import PASS_Z, WARN_Z
from prism_mmm.formatting import fmt_int, fmt_num, fmt_pct, fmt_roi
from prism_mmm.models import model_label

AGREEMENT_CV = 0.5
PRIOR_RATIO = 2.0
# prior_sensitivity compares the one model with knowledge-based ROI priors against a model fitted
# without priors: a much higher ROI in the first suggests the prior, not the data, set it.
PRIOR_MODEL, NO_PRIOR_MODEL = "bayes", "ridge"
# Only the Bayesian model writes convergence gates (bayes_gates).
GATED_MODEL = "bayes"
OVERFIT_R2 = 0.99
OVERFIT_FEW_WEEKS = 156
HOLDOUT_RATIO_WARN = 1.5
HOLDOUT_RATIO_FAIL = 2.0
MIN_HOLDOUT_WEEKS = 13
MEDIA_SHARE_RANGE = (0.05, 0.80)
VIF_WARN, VIF_FAIL = 5.0, 10.0
MIN_WEEKS = 52
WEEKS_PER_CHANNEL = 10
SIGN_TOLERANCE = 1e-6  # |ROI| below this is a zero coefficient, not a negative effect

APPROVED, REVISE = "APPROVED", "REVISE"


@dataclass(frozen=True)
class Check:
    """One critic check, as written to ``critic_checks``."""

    check_name: str
    status: str  # 'pass' | 'warn' | 'fail'
    reason: str
    value: float | None
    threshold: str
    channels: tuple[str, ...] = ()  # channels the check is about (feeds the Tuner)
    models: tuple[str, ...] = ()  # models the check is about (feeds the Tuner)

    def row(self) -> dict:
        return {"check_name": self.check_name, "status": self.status, "reason": self.reason,
                "value": self.value, "threshold": self.threshold}


def review(tables: RoundTables, data: DataTables, analysis: Analysis) -> list[Check]:
    """Run every check on one round."""
    checks = [
        _agreement(tables, analysis), _prior_sensitivity(tables), _overfitting(tables),
        _holdout_length(tables), _signs(tables), _contribution(tables), _collinearity(data),
        _sample_size(tables, data), _gates(tables), _model_failures(tables),
        _roi_plausibility(tables, data), _experiment_agreement(tables),
    ]
    return [c for c in checks if c is not None]


def verdict(checks: list[Check]) -> str:
    return REVISE if any(c.status == "fail" for c in checks) else APPROVED


def _agreement(tables: RoundTables, analysis: Analysis) -> Check:
    name, threshold = "cross_model_agreement", f"roi_cv < {AGREEMENT_CV}"
    agreement = tables.model_agreement.set_index("channel") if len(
        tables.model_agreement) else pd.DataFrame()
    if agreement.empty:
        return Check(name, "fail", "model_agreement is empty: no cross-model comparison",
                     None, threshold)
    bad = [ch for ch in analysis.recommended if ch not in agreement.index
           or not bool(agreement.loc[ch, "confirmed"])
           or not agreement.loc[ch, "roi_cv"] < AGREEMENT_CV]
    if bad:
        worst = agreement.reindex(bad)["roi_cv"].max()
        return Check(name, "fail", f"recommended without agreement: {', '.join(bad)}",
                     _num(worst), threshold, channels=tuple(bad))
    n_confirmed = int(agreement["confirmed"].fillna(False).astype(bool).sum())
    if n_confirmed == 0:
        worst = agreement["roi_cv"].min()
        return Check(name, "warn", "no channel is confirmed by all models; lowest CV "
                     f"{_pct(worst)}", _num(worst), threshold,
                     channels=tuple(agreement.sort_values("roi_cv").index[:1]))
    worst = agreement.loc[analysis.recommended, "roi_cv"].max() if analysis.recommended else None
    return Check(name, "pass", f"{fmt_int(n_confirmed)} of {fmt_int(len(agreement))} channels "
                 "confirmed; every recommended channel is among them", _num(worst), threshold)


def _prior_sensitivity(tables: RoundTables) -> Check | None:
    prior, reference = PRIOR_MODEL, NO_PRIOR_MODEL
    name = "prior_sensitivity"
    threshold = f"{prior}/{reference} ROI <= {fmt_num(PRIOR_RATIO, 0)}"
    roi = _roi_wide(tables)
    if not {prior, reference} <= set(roi.columns):
        return None
    pairs = roi[[prior, reference]].dropna()
    pairs = pairs[pairs[prior] > 0]
    if pairs.empty:
        return Check(name, "pass", f"no positive {model_label(prior)} ROI to compare", None,
                     threshold)
    ratio = (pairs[prior] / pairs[reference].where(pairs[reference] > 0)).fillna(float("inf"))
    high = ratio[ratio > PRIOR_RATIO].sort_values(ascending=False)
    if high.empty:
        return Check(name, "pass", f"{model_label(prior)} ROI within twice "
                     f"{model_label(reference)}'s on every channel", _num(ratio.max()), threshold)
    listed = ", ".join(f"{ch} {prior} {fmt_roi(pairs.loc[ch, prior])} vs {reference} "
                       f"{fmt_roi(pairs.loc[ch, reference])}" for ch in high.index)
    return Check(name, "warn", f"priors may drive these ROIs: {listed}",
                 _num(high.iloc[0]), threshold, channels=tuple(high.index))


def _overfitting(tables: RoundTables) -> Check:
    name = "overfitting"
    threshold = (f"train R² <= {OVERFIT_R2} with < {OVERFIT_FEW_WEEKS} weeks; "
                 f"holdout/train sMAPE <= {fmt_num(HOLDOUT_RATIO_FAIL, 0)}")
    metrics = tables.model_fit_metrics
    ok = metrics[~metrics["model"].isin(failed_models(tables))] if len(metrics) else metrics
    if ok.empty:
        return Check(name, "warn", "no fit metrics from a working model", None, threshold)
    wide = ok.pivot_table(index="model", columns="split", values=["r2", "smape", "n_weeks"])
    problems, warns, worst_ratio, models = [], [], None, []
    for model in wide.index:
        r2_train = wide.loc[model].get(("r2", "train"))
        weeks = wide.loc[model].get(("n_weeks", "train"))
        if r2_train is not None and r2_train > OVERFIT_R2 and weeks < OVERFIT_FEW_WEEKS:
            problems.append(f"{model} train R² {fmt_num(r2_train, 3)} on "
                            f"{fmt_int(weeks)} weeks")
            models.append(model)
        train, holdout = wide.loc[model].get(("smape", "train")), wide.loc[model].get(
            ("smape", "holdout"))
        if train is None or holdout is None or pd.isna(train) or pd.isna(holdout) or train <= 0:
            continue
        ratio = holdout / train
        worst_ratio = ratio if worst_ratio is None else max(worst_ratio, ratio)
        text = (f"{model} holdout sMAPE {_pct(holdout)} vs train {_pct(train)}")
        if ratio > HOLDOUT_RATIO_FAIL:
            problems.append(text)
            models.append(model)
        elif ratio > HOLDOUT_RATIO_WARN:
            warns.append(text)
    status = "fail" if problems else "warn" if warns else "pass"
    reason = "; ".join(problems + warns) or "holdout error in line with train error"
    return Check(name, status, reason, _num(worst_ratio), threshold, models=tuple(models))


def _holdout_length(tables: RoundTables) -> Check | None:
    metrics = tables.model_fit_metrics
    holdout = metrics[metrics["split"] == "holdout"] if len(metrics) else metrics
    if holdout.empty:
        return None
    weeks = holdout["n_weeks"].min()
    status = "fail" if weeks < MIN_HOLDOUT_WEEKS else "pass"
    reason = (f"holdout of {fmt_int(weeks)} weeks is too short for a stable error"
              if status == "fail" else f"holdout of {fmt_int(weeks)} weeks")
    return Check("holdout_length", status, reason, float(weeks), f">= {MIN_HOLDOUT_WEEKS}")


def _signs(tables: RoundTables) -> Check:
    name, threshold = "sign_correctness", "roi >= 0"
    roi = tables.channel_roi.dropna(subset=["roi"]) if len(tables.channel_roi) else pd.DataFrame()
    if roi.empty:
        return Check(name, "warn", "no channel ROI to check", None, threshold)
    negative = roi[roi["roi"] < -SIGN_TOLERANCE].sort_values("roi")
    if len(negative):
        listed = ", ".join(f"{r.model} {r.channel} {fmt_roi(r.roi)}"
                           for r in negative.itertuples())
        return Check(name, "fail", f"negative media ROI: {listed}", _num(negative["roi"].min()),
                     threshold, channels=tuple(dict.fromkeys(negative["channel"])),
                     models=tuple(dict.fromkeys(negative["model"])))
    agreement = tables.model_agreement
    split = agreement[~agreement["sign_agreement"].fillna(True).astype(bool)] if len(
        agreement) else agreement
    if len(split):
        return Check(name, "warn", f"models disagree on the sign: {', '.join(split['channel'])}",
                     _num(roi["roi"].min()), threshold, channels=tuple(split["channel"]))
    return Check(name, "pass", "every model ROI is non-negative", _num(roi["roi"].min()),
                 threshold)


def _contribution(tables: RoundTables) -> Check:
    name = "contribution_plausibility"
    low, high = MEDIA_SHARE_RANGE
    threshold = f"{low}-{high}"
    roi = tables.channel_roi
    if roi.empty:
        return Check(name, "warn", "no channel contributions", None, threshold)
    share = roi[~roi["model"].isin(failed_models(tables))].groupby("model")["share"].sum()
    outside = share[(share < low) | (share > high)]
    if len(outside):
        listed = ", ".join(f"{m} {_pct(v)}" for m, v in outside.items())
        worst = outside.iloc[(outside - (low + high) / 2).abs().argmax()]
        return Check(name, "fail", f"media share of KPI implausible: {listed}", float(worst),
                     threshold, models=tuple(outside.index))
    listed = ", ".join(f"{m} {_pct(v)}" for m, v in share.items())
    return Check(name, "pass", f"media share of KPI: {listed}",
                 _num(share.max()) if len(share) else None, threshold)


def _collinearity(data: DataTables) -> Check | None:
    vif = data.eda_vif
    if vif.empty:
        return None
    top = vif.sort_values("vif", ascending=False).iloc[0]
    status = "fail" if top["vif"] > VIF_FAIL else "warn" if top["vif"] > VIF_WARN else "pass"
    flagged = vif[vif["vif"] > VIF_WARN].sort_values("vif", ascending=False)
    reason = (f"max VIF {fmt_num(top['vif'])} ({top['channel']})" if flagged.empty else
              "collinear channels: " + ", ".join(f"{r.channel} VIF {fmt_num(r.vif)}"
                                                 for r in flagged.itertuples()))
    return Check("collinearity", status, reason, float(top["vif"]),
                 f"<= {fmt_num(VIF_WARN, 0)} pass, > {fmt_num(VIF_FAIL, 0)} fail",
                 channels=tuple(flagged["channel"]))


def _sample_size(tables: RoundTables, data: DataTables) -> Check | None:
    metrics = tables.model_fit_metrics
    train = metrics.loc[metrics["split"] == "train", "n_weeks"] if len(metrics) else pd.Series(
        dtype=float)
    if train.empty:
        return None
    n_channels = len(tables.model_agreement) or tables.channel_roi["channel"].nunique()
    holdout = metrics.loc[metrics["split"] == "holdout", "n_weeks"]
    total = train.max() + (holdout.max() if len(holdout) else 0)
    needed = WEEKS_PER_CHANNEL * n_channels
    threshold = f">= {MIN_WEEKS} weeks; >= {WEEKS_PER_CHANNEL} train weeks per channel"
    if total < MIN_WEEKS:
        return Check("sample_size", "fail", f"{fmt_int(total)} weeks: less than a year, "
                     "seasonality and media cannot be separated", float(total), threshold)
    status = "warn" if train.max() < needed else "pass"
    return Check("sample_size", status, f"{fmt_int(train.max())} train weeks for "
                 f"{fmt_int(n_channels)} channels", float(train.max()), threshold)


def _gates(tables: RoundTables) -> Check | None:
    gates = tables.bayes_gates
    if gates.empty:
        if GATED_MODEL in failed_models(tables):
            return None  # reported by model_failures
        return Check("convergence_gates", "warn", "no Bayesian gate results recorded", None,
                     "0 failed gates")
    failed, warned = gates[gates["status"] == "fail"], gates[gates["status"] == "warn"]
    status = "fail" if len(failed) else "warn" if len(warned) else "pass"
    listed = "; ".join(f"{r.gate} {r.metric} {fmt_num(r.value)} ({r.status}, threshold "
                       f"{fmt_num(r.threshold)})"
                       for r in pd.concat([failed, warned]).itertuples())
    reason = listed or f"all {fmt_int(len(gates))} gates pass"
    return Check("convergence_gates", status, reason, float(len(failed) + len(warned)),
                 "0 failed gates", models=(GATED_MODEL,) if status != "pass" else ())


def _model_failures(tables: RoundTables) -> Check:
    failed = failed_models(tables)
    runs = tables.mmm_runs
    warning = sorted(set(runs.loc[runs["status"] == "warning", "model"]) - set(failed)) if len(
        runs) else []
    if failed:
        return Check("model_failures", "fail", f"failed or missing: {', '.join(failed)}",
                     float(len(failed)), "0 failed models", models=tuple(failed))
    if warning:
        return Check("model_failures", "warn", f"finished with warnings: {', '.join(warning)}",
                     0.0, "0 failed models", models=tuple(warning))
    return Check("model_failures", "pass", "every model fitted", 0.0, "0 failed models")


def _roi_plausibility(tables: RoundTables, data: DataTables) -> Check | None:
    context = data.knowledge_business_context
    if context.empty:
        return None
    ranges = context[(context["key"] == "expected_roi") & context["channel"].notna()]
    if ranges.empty:
        return None
    bounds = ranges.set_index("channel")[["roi_low", "roi_high"]]
    threshold = "Business Context expected ROI range"
    agreement = tables.model_agreement.set_index("channel") if len(
        tables.model_agreement) else pd.DataFrame(columns=["roi_mean", "confirmed"])
    fails, warns, channels = [], [], []
    for channel, (low, high) in bounds.iterrows():
        if channel in agreement.index and bool(agreement.loc[channel, "confirmed"]):
            mean = agreement.loc[channel, "roi_mean"]
            if not low <= mean <= high:
                fails.append(f"{channel} mean ROI {fmt_roi(mean)} outside {fmt_roi(low)}-"
                             f"{fmt_roi(high)}")
                channels.append(channel)
        roi = tables.channel_roi
        rows = roi[(roi["channel"] == channel) & ((roi["roi"] < low) | (roi["roi"] > high))] if len(
            roi) else roi
        warns += [f"{r.model} {channel} ROI {fmt_roi(r.roi)} outside {fmt_roi(low)}-"
                  f"{fmt_roi(high)}" for r in rows.itertuples()]
    status = "fail" if fails else "warn" if warns else "pass"
    reason = "; ".join(fails + warns) or "every ROI inside its expected range"
    return Check("roi_plausibility", status, reason, float(len(fails) + len(warns)), threshold,
                 channels=tuple(channels))


def _experiment_agreement(tables: RoundTables) -> Check | None:
    """Each model's implied lift against each lift test (``experiment_lifts``): |z| <= 2 pass,
    <= 3 warn, beyond (or a test no model could evaluate) fail. No experiments: no check."""
    lifts = tables.experiment_lifts
    if lifts.empty:
        return None
    lifts = lifts[~lifts["model"].isin(failed_models(tables))]
    threshold = f"|z| <= {fmt_num(PASS_Z, 0)} (warn <= {fmt_num(WARN_Z, 0)})"
    notes = {status: [f"{r.model} {r.experiment_id} ({r.channel}): " + (
        f"z {fmt_num(r.z_score, 2)}" if pd.notna(r.z_score) else str(r.message))
        for r in lifts[lifts["status"] == status].itertuples()] for status in ("fail", "warn")}
    status = "fail" if notes["fail"] else "warn" if notes["warn"] else "pass"
    reason = "; ".join(notes["fail"] + notes["warn"]) or (
        f"every model within {fmt_num(PASS_Z, 0)} standard errors of all "
        f"{lifts['experiment_id'].nunique()} experiments")
    worst = lifts["z_score"].abs().max()
    channels = tuple(sorted(set(lifts.loc[lifts["status"] == "fail", "channel"])))
    return Check("experiment_agreement", status, reason, _num(worst), threshold,
                 channels=channels,
                 models=tuple(sorted(set(lifts.loc[lifts["status"] != "pass", "model"]))))


def _roi_wide(tables: RoundTables) -> pd.DataFrame:
    roi = tables.channel_roi
    if roi.empty:
        return pd.DataFrame()
    ok = roi[~roi["model"].isin(failed_models(tables))]
    return ok.pivot_table(index="channel", columns="model", values="roi")


def _num(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _pct(fraction: float) -> str:
    return fmt_pct(fraction)
