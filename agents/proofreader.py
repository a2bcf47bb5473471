"""Proofreader: every number in the prose must trace to a table value.

A number traces when some table value, shown at the number's displayed precision, gives it:
``|value - number| <= half a unit of the last displayed digit`` (``13.1%`` matches a fraction
0.1312 or a percentage 13.12; ``LCU 1.23M`` matches 1,226,000; ``1,234`` matches 1234.4).
Signs are ignored (prose says "down 12%" for -0.12). Dates must equal a date in the tables;
years, round numbers and counts are numbers like any other and must trace too. Identifiers
(run id, channel and model names) are removed before reading, written both as ids and as a
reader sees them (``prism_mmm.formatting.fmt_name``: ``tv_2019`` and ``TV 2019``).

What counts as a table value (nothing else does):

- every numeric cell of the round's result tables, the EDA marts, Business Context and the
  loop's own tables (``agent_rounds``, ``agent_decisions`` scores, ``critic_checks`` values,
  the run's ``experiment_lifts`` of every round: a lift test before calibration);
  ``response_curves`` only at the current-spend point, the one point prose cites;
- numbers written inside text cells produced upstream of the prose: model error messages
  (``mmm_runs.message``, ``model_fit_metrics.message``), why a lift test could not be
  evaluated (``experiment_lifts.message``), ``data_readiness.reasons``,
  ``critic_checks.threshold``, Business Context values; the numeric leaves of configuration
  JSON (``mmm_runs.config_json``, ``agent_rounds.config_json``);
- simple aggregates prose states as facts: row counts (per table, and per value of each
  categorical column), per-model sums of ``channel_roi`` share / spend / contribution, total
  weeks per model, the number of failed models and of models, budget changes per channel
  (optimal - current, and relative change), per-scenario totals, and each scenario's uplift
  over the same model's ``current`` scenario (``expected_kpi`` difference, and relative to the
  current figure; the uplift's interval is a table column, ``uplift_kpi_low/high``);
- dates and their years.

``STRUCTURAL_NUMBERS`` is the explicit allow-list of numbers that are definitions, not data.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.numbers import NumberToken, extract_numbers
from agents.scoring import MODELS, failed_models
from agents.warehouse import DataTables, RoundTables
from prism_mmm.formatting import fmt_name

STRUCTURAL_NUMBERS = {
    "90%": "interval mass of every published interval (prism_mmm.models.base.INTERVAL_MASS)",
    "50%": "CV threshold that defines a confirmed channel (docs/TABLES.md model_agreement)",
}
TEXT_COLUMNS = {
    "mmm_runs": ("message",),
    "model_fit_metrics": ("message",),
    "data_readiness": ("reasons",),
    "critic_checks": ("threshold",),
    "knowledge_business_context": ("value",),
    "experiment_lifts": ("message",),  # why a lift test could not be evaluated (its dates)
}
# Configuration stored as JSON text: its numeric leaves are table values (a Tuner change cites them).
JSON_COLUMNS = {"mmm_runs": ("config_json",), "agent_rounds": ("config_json",)}
MAX_CATEGORIES = 30  # columns with more distinct values are identifiers, not categories


@dataclass(frozen=True)
class TraceSet:
    """Sorted absolute table values and the ISO dates found in the tables."""

    values: tuple[float, ...]
    dates: frozenset[str]

    def traces(self, token: NumberToken) -> bool:
        if token.is_date:
            return token.text in self.dates
        if token.text in STRUCTURAL_NUMBERS:
            return True
        targets = [token.scaled]
        if token.suffix == "%":
            targets.append(token.scaled / 100)  # a percentage of a stored fraction
        tolerances = [token.tolerance, token.tolerance / 100]
        return any(self._near(x, tol) for x, tol in zip(targets, tolerances))

    def _near(self, x: float, tol: float) -> bool:
        i = bisect.bisect_left(self.values, x - tol)
        return i < len(self.values) and self.values[i] <= x + tol


@dataclass(frozen=True)
class ProofResult:
    """Outcome of one proofreading: passes only when nothing is untraced."""

    checked: int
    untraced: list[str]

    @property
    def ok(self) -> bool:
        return not self.untraced

    def summary(self) -> str:
        if self.ok:
            return f"all {self.checked} numbers trace to table values"
        return (f"{len(self.untraced)} of {self.checked} numbers do not trace to any table "
                f"value: {', '.join(self.untraced)}")


def build_trace_set(
    tables: RoundTables, data: DataTables, loop_tables: dict[str, pd.DataFrame] | None = None
) -> TraceSet:
    """Collect the table values prose may cite (see module docstring)."""
    frames: dict[str, pd.DataFrame] = {
        "mmm_runs": tables.mmm_runs, "model_fit_metrics": tables.model_fit_metrics,
        "channel_roi": tables.channel_roi, "model_agreement": tables.model_agreement,
        "bayes_gates": tables.bayes_gates,
        "bayes_parameter_summary": tables.bayes_parameter_summary,
        "response_curves": _current_points(tables.response_curves),
        "budget_scenarios": tables.budget_scenarios,
        "experiment_lifts": tables.experiment_lifts,
        "eda_channel_summary": data.eda_channel_summary, "eda_vif": data.eda_vif,
        "eda_anomalies": data.eda_anomalies, "data_readiness": data.data_readiness,
        "knowledge_business_context": data.knowledge_business_context,
        **(loop_tables or {}),
    }
    values: list[float] = []
    dates: set[str] = set()
    for name, frame in frames.items():
        if frame is None or frame.empty:
            continue
        values += _numeric_cells(frame)
        values += _counts(frame)
        for column in TEXT_COLUMNS.get(name, ()):
            if column in frame:
                values += [t.scaled for text in frame[column].dropna().astype(str)
                           for t in extract_numbers(text) if not t.is_date]
                dates |= {t.text for text in frame[column].dropna().astype(str)
                          for t in extract_numbers(text) if t.is_date}
        for column in JSON_COLUMNS.get(name, ()):
            if column in frame:
                values += [v for text in frame[column].dropna() for v in _json_numbers(text)]
        dates |= _dates(frame)
    values += _aggregates(tables)
    values += [float(d[:4]) for d in dates]
    clean = sorted({abs(v) for v in values if v is not None and np.isfinite(v)})
    return TraceSet(values=tuple(clean), dates=frozenset(dates))


def proofread(text: str, trace: TraceSet, identifiers: Iterable[str] = ()) -> ProofResult:
    """Check every number in ``text``; ``identifiers`` (run id, channel and file names) are
    removed first so digits inside names are not read as numbers."""
    names = {str(n) for n in identifiers if n}
    # A name as the report writes it ("TV 2019") holds digits that are not figures either.
    names |= {label for label in map(fmt_name, names) if any(c.isdigit() for c in label)}
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, " ")
    tokens = extract_numbers(text)
    untraced = list(dict.fromkeys(t.text for t in tokens if not trace.traces(t)))
    return ProofResult(checked=len(tokens), untraced=untraced)


def _current_points(curves: pd.DataFrame) -> pd.DataFrame:
    if curves.empty or "is_current_spend" not in curves:
        return curves
    return curves[curves["is_current_spend"].fillna(False).astype(bool)]


def _json_numbers(text: str) -> list[float]:
    try:
        stack = [json.loads(text)]
    except (TypeError, ValueError):
        return []
    out = []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack += item.values()
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out.append(float(item))
    return out


def _numeric_cells(frame: pd.DataFrame) -> list[float]:
    numeric = frame.select_dtypes(include="number")
    return [float(v) for v in numeric.to_numpy().ravel() if pd.notna(v)]


def _counts(frame: pd.DataFrame) -> list[float]:
    counts = [float(len(frame))]
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continue
        distinct = series.dropna().astype(str)
        if 0 < distinct.nunique() <= MAX_CATEGORIES:
            counts += [float(n) for n in distinct.value_counts()]
            counts.append(float(distinct.nunique()))
    return counts


def _dates(frame: pd.DataFrame) -> set[str]:
    out: set[str] = set()
    for column in frame.columns:
        series = frame[column].dropna()
        if series.empty:
            continue
        if pd.api.types.is_datetime64_any_dtype(series) or isinstance(
                series.iloc[0], (dt.date, dt.datetime, pd.Timestamp)):
            out |= {str(v)[:10] for v in series}
    return {d for d in out if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)}


def _aggregates(tables: RoundTables) -> list[float]:
    out: list[float] = []
    roi = tables.channel_roi
    if len(roi):
        sums = roi.groupby("model")[["share", "spend", "contribution"]].sum()
        out += [float(v) for v in sums.to_numpy().ravel()]
    metrics = tables.model_fit_metrics
    if len(metrics):
        out += [float(v) for v in metrics.groupby("model")["n_weeks"].sum()]
    budget = tables.budget_scenarios
    if len(budget):
        change = budget["optimal_spend"] - budget["current_spend"]
        relative = change / budget["current_spend"].where(budget["current_spend"] != 0)
        out += [float(v) for v in pd.concat([change, relative]).dropna()]
        totals = budget.groupby("scenario_id")[["current_spend", "optimal_spend"]].sum()
        out += [float(v) for v in totals.to_numpy().ravel()]
        out += _uplifts(budget)
    failed = failed_models(tables)
    models = set(MODELS) | (set(tables.mmm_runs["model"]) if len(tables.mmm_runs) else set())
    out += [float(len(failed)), float(len(models))]
    return out


def _uplifts(budget: pd.DataFrame) -> list[float]:
    """Each scenario's expected KPI against the same model's ``current`` scenario."""
    if not {"model", "scenario", "expected_kpi"} <= set(budget.columns):
        return []
    first = budget.groupby(["model", "scenario"], sort=False)["expected_kpi"].first()
    out: list[float] = []
    for (model, scenario), kpi in first.items():
        current = first.get((model, "current"))
        if current is None or scenario == "current" or pd.isna(current):
            continue
        out.append(float(kpi - current))
        if current != 0:
            out.append(float((kpi - current) / current))
    return out
