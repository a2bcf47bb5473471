"""Tuner (round >= 2): exactly one configuration change per attempt, with a hypothesis.

Candidates come from a fixed, ordered list driven by the diagnostics of the configuration the
round starts from (the best round so far: the next round starts from the best config, so its
diagnostics are the ones a change should address):

1. holdout shorter than 13 weeks -> 13 (never below 13);
2. Bayesian convergence gates warn/fail, or the Bayesian model failed -> raise
   ``bayes.sampling.target_accept`` (divergences, BFMI) / double ``bayes.sampling.tune``
   (R-hat, ESS);
3. a lift test the fits were only checked against and a model misses by more than 2
   standard errors -> calibrate with it (``calibration.experiments``);
4. the model's form, each move with the diagnostic that motivates it: a Student-t likelihood
   (g6 flags weeks with a high Pareto k), a longer adstock window (a posterior decay leaves
   more than 5% of a channel's effect beyond it), a tighter media-share prior (the Bayesian
   media share is above 80%), a piecewise-linear trend, logistic saturation;
5. Ridge attributes (almost) nothing to media -> shift its alpha grid down a decade; more
   than 80% of the KPI -> up a decade;
6. a model overfits (train R² > 0.99 on few weeks, out-of-sample sMAPE > 2x train) -> shift
   Ridge's alpha grid up a decade;
7. per channel, most disputed first (unconfirmed channels by ROI CV, then spend share):
   adstock decay (toward the Bayesian posterior decay when one is recorded, else -0.2 / +0.2),
   then Hill half-saturation (x0.5 / x2).

In a revision (the Critic said REVISE), only candidates addressing the failed checks are
eligible. A change already reverted (or rejected by the Critic) is never proposed again, nor
one that would leave the resolved configuration unchanged or invalid.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError

from agents.critic import MIN_HOLDOUT_WEEKS, OVERFIT_FEW_WEEKS, OVERFIT_R2, Check
from agents.llm import ask, llm_enabled
from agents.numbers import extract_numbers
from agents.scoring import failed_models, score_split
from agents.warehouse import RoundTables
from prism_mmm.calibration import PASS_Z
from prism_mmm.config import AgentsConfig, PrismConfig, deep_merge

TARGET_ACCEPT_STEPS = (0.9, 0.95, 0.98, 0.99)
MAX_TUNE = 4000
DECAY_STEP = 0.2
MAX_DECAY = 0.9
MIN_MEDIA_SHARE = 0.05
MAX_MEDIA_SHARE = 0.80
MIN_DECAY_MOVE = 0.05  # a posterior decay closer than this to the current one is no news
CARRYOVER_CUT = 0.05  # an adstock window should keep all but 5% of a channel's carry-over
MAX_LAG = 26
MEDIA_SHARE_PRIOR_FLOOR = 0.2  # never push the media-share prior's upper end below this
MAX_LLM_CANDIDATES = 8  # the candidates Claude chooses from (the first, most motivated ones)
MAX_HYPOTHESIS = 600
TUNER_SYSTEM_PROMPT = (
    "You are the Tuner of a marketing-mix-modelling loop. Pick exactly one configuration "
    "change from the numbered candidates, each motivated by a diagnostic: the one most likely "
    "to improve out-of-sample forecasts (rolling-origin CV) and the agreement between models, "
    "given the round's tables. Answer with a JSON object only: {\"choice\": <the candidate's "
    "number>, \"hypothesis\": \"<one or two sentences: why this change should help>\"}. In "
    "the hypothesis use only numbers written in the chosen candidate; never compute or invent one."
)
# overrides -> validated configuration (raises pydantic's ValidationError when invalid)
Resolver = Callable[[dict[str, Any]], PrismConfig]

SAMPLER_GATES = {"g4", "g7"}  # divergences, BFMI: a smaller step size helps
LENGTH_GATES = {"g2", "g3"}  # R-hat, ESS: longer warm-up helps


@dataclass(frozen=True)
class Change:
    """One configuration change: a dotted path in ``prism.yml`` and its new value."""

    path: str
    value: Any
    previous: Any
    hypothesis: str
    addresses: frozenset[str]  # critic checks this change is meant to fix

    @property
    def identity(self) -> str:
        """Stable key for "never repeat": path and JSON value."""
        return f"{self.path}={json.dumps(self.value, sort_keys=True)}"

    def describe(self) -> str:
        """The ``what`` of the decision row; :func:`identity_from_description` reads it back."""
        return (f"set {self.path} = {json.dumps(self.value, sort_keys=True)} "
                f"(was {json.dumps(self.previous, sort_keys=True)})")

    def as_overrides(self) -> dict[str, Any]:
        """The change as a nested dict for ``config_overrides``."""
        nested: Any = self.value
        for key in reversed(self.path.split(".")):
            nested = {key: nested}
        return nested


_DESCRIPTION = re.compile(r"^set (?P<path>\S+) = (?P<value>.+?) \(was .*\)$")


def identity_from_description(what: str) -> str | None:
    """Inverse of :meth:`Change.describe` (``None`` for other text)."""
    match = _DESCRIPTION.match(what or "")
    if not match:
        return None
    value = json.loads(match.group("value"))
    return f"{match.group('path')}={json.dumps(value, sort_keys=True)}"


def eligible(
    base_overrides: dict[str, Any],
    resolve: Resolver,
    diagnostics: RoundTables,
    excluded: Iterable[str] = (),
    failed_checks: list[Check] | None = None,
) -> list[Change]:
    """Every candidate that may be tried, in order of preference.

    Parameters
    ----------
    base_overrides
        Overrides of the configuration the round starts from (the best so far).
    resolve
        Turns overrides into a validated :class:`PrismConfig` (raises ``ValidationError``).
    diagnostics
        Result tables of the configuration ``base_overrides`` describes.
    excluded
        Identities of changes reverted or rejected before.
    failed_checks
        In a revision: the failed checks; only candidates addressing one are eligible.
    """
    cfg = resolve(base_overrides)
    excluded = set(excluded)
    wanted = {c.check_name for c in failed_checks or [] if c.status == "fail"}
    out: list[Change] = []
    for change in _candidates(cfg, diagnostics, failed_checks or []):
        if change.identity in excluded or change.value == change.previous:
            continue
        if failed_checks is not None and not (change.addresses & wanted):
            continue
        try:
            resolve(deep_merge(base_overrides, change.as_overrides()))
        except ValidationError:
            continue
        out.append(change)
        excluded.add(change.identity)  # the same change motivated twice is listed once
    return out


def propose(
    base_overrides: dict[str, Any],
    resolve: Resolver,
    diagnostics: RoundTables,
    excluded: Iterable[str] = (),
    failed_checks: list[Check] | None = None,
) -> Change | None:
    """The first eligible candidate (:func:`eligible`), or ``None`` when nothing is left."""
    candidates = eligible(base_overrides, resolve, diagnostics, excluded, failed_checks)
    return candidates[0] if candidates else None


@dataclass(frozen=True)
class Choice:
    """The change to try, and the ``agent_decisions`` row about Claude's part (``None`` when
    no LLM was asked)."""

    change: Change
    decision: dict | None


def choose(candidates: list[Change], tables: dict[str, Any], cfg: AgentsConfig,
           max_retries: int = 2) -> Choice:
    """With ``ANTHROPIC_API_KEY`` set, Claude picks one of ``candidates`` (the first
    ``MAX_LLM_CANDIDATES``) given the round's ``tables`` and writes its hypothesis; the answer
    must be the JSON object of ``TUNER_ANSWER``, name a listed candidate and use only numbers
    written in that candidate. Otherwise, or on any problem, the first candidate (the
    deterministic Tuner), with the reason recorded."""
    first = candidates[0]
    if not llm_enabled():
        return Choice(first, None)
    listed = candidates[:MAX_LLM_CANDIDATES]
    listing = [{"choice": i, "change": c.describe(), "diagnostic": c.hypothesis}
               for i, c in enumerate(listed)]
    prompt = (f"Candidates (JSON):\n{json.dumps(listing)}\n\n"
              f"Round tables (JSON):\n{json.dumps(tables, default=str)}")
    text, reason = ask(prompt, TUNER_SYSTEM_PROMPT, cfg, max_retries, max_tokens=400)
    if text is None:
        return Choice(first, _llm_fallback(first, reason))
    change, problem = _parse_choice(text, listed)
    if change is None:
        return Choice(first, _llm_fallback(first, f"answer rejected: {problem}"))
    return Choice(change, {
        "agent": "tuner", "action": "llm_choice",
        "what": f"Claude chose {change.path} from {len(listed)} candidates",
        "why": "accepted: a listed change, every number of its hypothesis from the candidate"})


def _llm_fallback(first: Change, reason: str | None) -> dict:
    return {"agent": "tuner", "action": "llm_fallback",
            "what": "the deterministic Tuner's first candidate used instead of Claude's choice",
            "why": reason or "no answer"}


def _parse_choice(text: str, listed: list[Change]) -> tuple[Change | None, str]:
    body = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        answer = json.loads(body)
    except ValueError:
        return None, "not a JSON object"
    if not isinstance(answer, dict) or set(answer) != {"choice", "hypothesis"}:
        return None, 'not {"choice": <number>, "hypothesis": <text>}'
    index, hypothesis = answer["choice"], answer["hypothesis"]
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(listed):
        return None, f"choice {index!r} is not one of 0-{len(listed) - 1}"
    if not isinstance(hypothesis, str) or not 0 < len(hypothesis.strip()) <= MAX_HYPOTHESIS:
        return None, f"the hypothesis must be 1-{MAX_HYPOTHESIS} characters of text"
    change = listed[index]
    allowed = {(t.text if t.is_date else (t.value, t.suffix))
               for t in extract_numbers(f"{change.describe()} {change.hypothesis}")}
    invented = [t.text for t in extract_numbers(hypothesis)
                if (t.text if t.is_date else (t.value, t.suffix)) not in allowed]
    if invented:
        return None, f"the hypothesis has numbers the candidate does not: {', '.join(invented)}"
    return dataclasses.replace(change, hypothesis=hypothesis.strip()), ""


def _candidates(cfg: PrismConfig, tables: RoundTables, checks: list[Check]) -> list[Change]:
    out: list[Change] = []
    if cfg.holdout_weeks < MIN_HOLDOUT_WEEKS:
        out.append(Change(
            "holdout_weeks", MIN_HOLDOUT_WEEKS, cfg.holdout_weeks,
            f"a {cfg.holdout_weeks}-week holdout makes the error noisy; {MIN_HOLDOUT_WEEKS} "
            "weeks (a quarter) gives a stable out-of-sample error", frozenset({"holdout_length",
                                                                              "overfitting"})))
    out += _sampler_candidates(cfg, tables)
    out += _calibration_candidates(cfg, tables)
    out += _structural_candidates(cfg, tables)
    out += _ridge_candidates(cfg, tables)
    for channel in _disputed_channels(tables, checks):
        out += _channel_candidates(cfg, tables, channel)
    return out


def _sampler_candidates(cfg: PrismConfig, tables: RoundTables) -> list[Change]:
    gates = tables.bayes_gates
    flagged = set(gates.loc[gates["status"] != "pass", "gate"]) if len(gates) else set()
    bayes_failed = "bayes" in failed_models(tables)
    out = []
    addresses = frozenset({"convergence_gates", "model_failures"})
    sampling = cfg.bayes.sampling
    target_accept = sampling.resolved_target_accept()
    if flagged & SAMPLER_GATES or bayes_failed:
        higher = [s for s in TARGET_ACCEPT_STEPS if s > target_accept]
        if higher:
            out.append(Change(
                "bayes.sampling.target_accept", higher[0], target_accept,
                f"gates {', '.join(sorted(flagged & SAMPLER_GATES)) or 'failed fit'} point to "
                "a step size too large for the posterior's curvature; a higher target_accept "
                "takes smaller steps and should remove divergences", addresses))
    at_top_step = not [s for s in TARGET_ACCEPT_STEPS if s > target_accept]
    # With target_accept already at its top step, a longer warm-up (better step size and
    # mass-matrix adaptation) is what is left to try against divergences too.
    if flagged & LENGTH_GATES or bayes_failed or (flagged & SAMPLER_GATES and at_top_step):
        tune = min(sampling.tune * 2, MAX_TUNE)
        if flagged & LENGTH_GATES or bayes_failed:
            why = (f"gates {', '.join(sorted(flagged & LENGTH_GATES)) or 'failed fit'} say the "
                   "chains have not mixed; a longer warm-up should bring R-hat down and ESS up")
        else:
            why = (f"gates {', '.join(sorted(flagged & SAMPLER_GATES))} persist at the top "
                   "target_accept; a longer warm-up adapts step size and mass matrix better")
        out.append(Change("bayes.sampling.tune", tune, sampling.tune, why, addresses))
    return out


def _calibration_candidates(cfg: PrismConfig, tables: RoundTables) -> list[Change]:
    """"Calibrate with experiment X" for each lift test the fits only checked against and at
    least one model disagrees with (beyond 2 standard errors): the test then enters every
    model's fit. Tests no model could evaluate (outside the data's weeks) are left out."""
    lifts = tables.experiment_lifts
    if not len(lifts) or "calibrated" not in lifts:
        return []
    current = list(cfg.calibration.experiments)
    checked_only = lifts[~lifts["calibrated"].astype(bool) & lifts["z_score"].notna()
                         & ~lifts["experiment_id"].isin(current)]
    out = []
    for experiment_id, rows in checked_only.groupby("experiment_id", sort=False):
        worst = rows.loc[rows["z_score"].abs().idxmax()]
        if abs(worst["z_score"]) <= PASS_Z:
            continue
        out.append(Change(
            "calibration.experiments", [*current, str(experiment_id)], current,
            f"{worst['model']} implies a lift of {worst['implied_lift']:.4g} for lift test "
            f"{experiment_id} ({worst['channel']}) against the measured "
            f"{worst['measured_lift']:.4g}, z = {worst['z_score']:.1f}; calibrating every model "
            "with the test should bring their implied lifts within 2 standard errors",
            frozenset({"experiment_agreement"})))
    return out


def _structural_candidates(cfg: PrismConfig, tables: RoundTables) -> list[Change]:
    """Changes of the model's form, each with the diagnostic that motivates it; the CV score
    decides whether the data agree."""
    out = []
    gates = tables.bayes_gates
    g6 = gates[(gates["gate"] == "g6") & ~gates["metric"].str.startswith("share")] if len(
        gates) else gates  # the max Pareto k row (the other is the share of weeks above 0.7)
    if cfg.bayes.likelihood == "normal" and len(g6) and (g6["status"] != "pass").any():
        out.append(Change(
            "bayes.likelihood", "student_t", "normal",
            f"g6: PSIS-LOO Pareto k up to {g6['value'].iloc[0]:.2f}, so a few weeks the normal "
            "likelihood cannot absorb pull the whole fit; Student-t tails down-weight them and "
            "should forecast the other weeks better",
            frozenset({"convergence_gates", "overfitting", "contribution_plausibility"})))
    for channel, decay in _posterior_decays(tables).items():
        left = decay ** cfg.transforms.max_lag
        if left > CARRYOVER_CUT:
            lag = min(MAX_LAG, math.ceil(math.log(CARRYOVER_CUT) / math.log(decay)))
            out.append(Change(
                "transforms.max_lag", lag, cfg.transforms.max_lag,
                f"{channel}'s posterior decay {decay:.2f} leaves {left:.0%} of its effect after "
                f"the {cfg.transforms.max_lag}-week adstock window, which cuts it off; a "
                f"{lag}-week window keeps the carry-over its ROI should include",
                frozenset({"cross_model_agreement", "prior_sensitivity"})))
            break
    share = tables.channel_roi.loc[tables.channel_roi["model"] == "bayes", "share"].sum() if len(
        tables.channel_roi) else 0.0
    prior = cfg.bayes.media_share
    if prior is not None and share > MAX_MEDIA_SHARE and prior[1] > MEDIA_SHARE_PRIOR_FLOOR:
        narrower = (prior[0], _round(max(prior[1] * 2 / 3, MEDIA_SHARE_PRIOR_FLOOR)))
        out.append(Change(
            "bayes.media_share", list(narrower), list(prior),
            f"the Bayesian model gives {share:.0%} of the KPI to media, above the plausible "
            f"{MAX_MEDIA_SHARE:.0%}, under a media-share prior up to {prior[1]:.0%}; a prior up "
            f"to {narrower[1]:.0%} should leave seasonal demand to the baseline",
            frozenset({"contribution_plausibility"})))
    if cfg.bayes.trend == "linear":
        out.append(Change(
            "bayes.trend", "piecewise", "linear",
            "a straight-line baseline cannot follow a change in growth, so media or controls "
            f"absorb the drift; a piecewise trend with {cfg.bayes.changepoints} changepoints "
            "lets the baseline bend", frozenset({"contribution_plausibility", "overfitting"})))
    if cfg.transforms.saturation == "hill":
        out.append(Change(
            "transforms.saturation", "logistic", "hill",
            "Hill curves need a half-saturation the data barely inform; a logistic curve "
            "(one shape parameter, saturation from the first unit of spend) may describe the "
            "returns with fewer weakly identified parameters",
            frozenset({"cross_model_agreement", "prior_sensitivity"})))
    return out


def _ridge_candidates(cfg: PrismConfig, tables: RoundTables) -> list[Change]:
    alphas = list(cfg.ridge.alphas)
    out = []
    roi = tables.channel_roi
    ridge_share = roi.loc[roi["model"] == "ridge", "share"].sum() if len(roi) else None
    if ridge_share is not None and "ridge" not in failed_models(tables) and (
            ridge_share < MIN_MEDIA_SHARE):
        out.append(Change(
            "ridge.alphas", [_round(a / 10) for a in alphas], alphas,
            "Ridge attributes almost nothing to media: its alpha grid regularises the channel "
            "coefficients to zero; a grid one decade lower should let media signal through",
            frozenset({"contribution_plausibility", "cross_model_agreement"})))
    if ridge_share is not None and "ridge" not in failed_models(tables) and (
            ridge_share > MAX_MEDIA_SHARE):
        out.append(Change(
            "ridge.alphas", [_round(a * 10) for a in alphas], alphas,
            "Ridge attributes an implausibly large share of the KPI to media; a grid one decade "
            "higher shrinks the channel coefficients toward a plausible share",
            frozenset({"contribution_plausibility", "overfitting"})))
    if _overfit_models(tables):
        out.append(Change(
            "ridge.alphas", [_round(a * 10) for a in alphas], alphas,
            f"{', '.join(_overfit_models(tables))} fit the training weeks much better than the "
            "holdout; a grid one decade higher regularises Ridge and should close the gap",
            frozenset({"overfitting", "contribution_plausibility"})))
    return out


def _overfit_models(tables: RoundTables) -> list[str]:
    metrics = tables.model_fit_metrics
    if metrics.empty:
        return []
    wide = metrics.pivot_table(index="model", columns="split", values=["r2", "smape", "n_weeks"])
    split = score_split(tables)  # the CV blocks in a loop round: never tune on the holdout
    out = []
    for model, row in wide.iterrows():
        r2, weeks = row.get(("r2", "train")), row.get(("n_weeks", "train"))
        train, holdout = row.get(("smape", "train")), row.get(("smape", split))
        memorises = r2 is not None and r2 > OVERFIT_R2 and weeks < OVERFIT_FEW_WEEKS
        gap = train is not None and holdout is not None and train > 0 and holdout / train > 2
        if memorises or gap:
            out.append(str(model))
    return out


def _disputed_channels(tables: RoundTables, checks: list[Check]) -> list[str]:
    """Channels to retune, most disputed first: channels named by failed checks, then
    unconfirmed channels by ROI CV (missing CV first), then by spend share."""
    named = [ch for c in checks if c.status == "fail" for ch in c.channels]
    agreement = tables.model_agreement
    if agreement.empty:
        return list(dict.fromkeys(named))
    unconfirmed = agreement[~agreement["confirmed"].fillna(False).astype(bool)]
    share = tables.channel_roi.groupby("channel")["spend"].mean() if len(
        tables.channel_roi) else pd.Series(dtype=float)
    ranked = unconfirmed.assign(
        cv=unconfirmed["roi_cv"].fillna(float("inf")),
        spend=unconfirmed["channel"].map(share).fillna(0.0),
    ).sort_values(["cv", "spend", "channel"], ascending=[False, False, True])
    return list(dict.fromkeys(named + list(ranked["channel"])))


def _channel_candidates(cfg: PrismConfig, tables: RoundTables, channel: str) -> list[Change]:
    current = cfg.transforms.for_channel(channel)
    addresses = frozenset({"cross_model_agreement", "prior_sensitivity", "sign_correctness",
                           "roi_plausibility", "overfitting"})
    out = []
    learned = _posterior_decay(tables, channel)
    decays = [] if learned is None or abs(learned - current["decay"]) < MIN_DECAY_MOVE else [
        _round(min(learned, MAX_DECAY))]
    decays += [_round(current["decay"] - DECAY_STEP), _round(current["decay"] + DECAY_STEP)]
    for decay in decays:
        if 0.0 <= decay <= MAX_DECAY:
            source = ("the Bayesian posterior decay" if learned is not None
                      and decay == decays[0] else "a different carry-over")
            out.append(Change(
                f"transforms.channels.{channel}.decay", decay, current["decay"],
                f"models disagree on {channel}; Ridge's fixed adstock decay "
                f"{current['decay']} may misplace its carry-over, and {source} ({decay}) should "
                "bring its ROI in line with the other models and lower holdout error",
                addresses))
    for half_sat in (_round(current["half_sat"] * 0.5), _round(current["half_sat"] * 2)):
        out.append(Change(
            f"transforms.channels.{channel}.half_sat", half_sat, current["half_sat"],
            f"models disagree on {channel}; a Hill half-saturation of {half_sat} instead of "
            f"{current['half_sat']} changes where its returns diminish and should bring the "
            "models' ROI closer", addresses))
    return out


def _posterior_decays(tables: RoundTables) -> dict[str, float]:
    """channel -> the Bayesian posterior mean decay (empty when the model failed)."""
    params = tables.bayes_parameter_summary
    if params.empty or "bayes" in failed_models(tables):
        return {}
    rows = params[params["channel"].notna()
                  & params["parameter"].str.contains("decay", case=False, na=False)]
    return {str(r.channel): float(r.mean) for r in rows.drop_duplicates("channel").itertuples()
            if 0.0 < r.mean < 1.0}


def _posterior_decay(tables: RoundTables, channel: str) -> float | None:
    return _posterior_decays(tables).get(channel)


def _round(value: float) -> float:
    """Round to 4 significant digits so repeated steps give stable, readable values."""
    return float(f"{value:.4g}")
