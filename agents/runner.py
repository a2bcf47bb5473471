"""The agent loop: explorer, then per round tuner -> build -> analyst -> critic -> score.

Round 1 explores the data and fits the configuration as configured (the baseline). Each later
round starts from the best configuration so far, applies exactly one Tuner change, rebuilds
the models with ``dbt build`` and keeps the change only when the score improves. A Critic
REVISE gives the Tuner one more attempt in the same round (attempt 2), addressing the failed
checks. The loop stops after ``rounds`` rounds, after two rounds in a row without improvement,
or when the Tuner has nothing untried left; the Reporter then writes the report of the best
round and the Proofreader checks it.

Everything the loop knows is in the warehouse (``agent_rounds``, ``agent_decisions``,
``critic_checks``), so an interrupted loop resumes from the tables: a round is marked
``running`` when it starts; everything it records is kept in memory and written together with
its ``completed`` (or ``stopped``) status in one swap of the warehouse file
(:func:`prism_mmm.warehouse.finish_round`), so a round's rows are all there or none are. On
restart a round still ``running`` is deleted and redone from scratch. Finished rounds are
never redone. Every write goes through :mod:`prism_mmm.warehouse` (copy, write, swap), so the
app and BI readers are never blocked by the loop and never see half a round.

The model build is a function ``(cfg, run_id, round, overrides) -> None``: ``dbt build`` of
``+tag:mmm_results`` (:class:`DbtBuilder`). Unit tests of the loop's control flow pass a builder
that writes fixture tables; `prism loop` and its SIGKILL/resume test always run the real one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from agents import analyst, critic, explorer, reporter, scoring, tuner
from agents.llm import ProseOutcome, write_prose
from agents.proofreader import build_trace_set, proofread
from agents.warehouse import DataTables, RoundTables, load_data, load_round
from prism_mmm import warehouse
from prism_mmm.config import PrismConfig, deep_merge, load_config
from prism_mmm.formatting import fmt_pct

Builder = Callable[[PrismConfig, str, int, dict[str, Any]], None]
COMPLETED, STOPPED, RUNNING = "completed", "stopped", warehouse.ROUND_RUNNING
FINAL_ACTIONS = ("baseline", "keep", "revert")  # the one decision that closes a round
REJECTED_ACTIONS = ("revert", "superseded")  # changes the Tuner must never propose again
MAX_ROUNDS_WITHOUT_IMPROVEMENT = 2


class DbtBuilder:
    """Fit the three models and write their result tables for (run_id, round).

    ``build_warehouse`` builds into a copy and swaps it in only on success, so a loop killed
    mid-build leaves the warehouse (agent tables included) as it was. dbt runs in this
    process so the Bayesian model's compiled sampler is reused from round to round instead
    of being recompiled by every new dbt process (measured in bench/).

    The data layer (everything upstream of the fits, with its data tests) is built only when
    this builder has not built it already from the same settings and files
    (:func:`prism_mmm.build.data_layer_identity`): a round whose change touches only the
    models' settings refits on the data the loop loaded, instead of rebuilding and retesting
    it; a knowledge sync that changed the YAML, or an edited input file, rebuilds it.
    ``data_layer``: the identity of a data layer already built before the loop (``prism run``).
    """

    def __init__(self, data_layer: str | None = None) -> None:
        self._data_layer = data_layer

    def __call__(self, cfg: PrismConfig, run_id: str, round_: int,
                 overrides: dict[str, Any]) -> None:
        from prism_mmm.build import build_warehouse, data_layer_identity

        current = data_layer_identity(cfg)
        select = "tag:mmm_results" if current == self._data_layer else "+tag:mmm_results"
        scored = deep_merge(overrides, {"validation": {"origins": cfg.agents.cv_origins}})
        build_warehouse(cfg, run_id, round_, config_overrides=scored, select=select,
                        in_process=True)
        self._data_layer = current


@dataclass(frozen=True)
class LoopState:
    """What the tables say about a run so far."""

    rounds: pd.DataFrame  # agent_rounds rows, completed or stopped
    decisions: pd.DataFrame

    @property
    def completed(self) -> pd.DataFrame:
        return self.rounds[self.rounds["status"] == COMPLETED] if len(self.rounds) else self.rounds

    @property
    def stopped(self) -> bool:
        return bool(len(self.rounds)) and (self.rounds["status"] == STOPPED).any()

    @property
    def next_round(self) -> int:
        return int(self.rounds["round"].max()) + 1 if len(self.rounds) else 1

    @property
    def best(self) -> pd.Series | None:
        """The best completed round (highest score; the earliest on ties)."""
        done = self.completed.dropna(subset=["score"])
        if done.empty:
            return None
        return done.sort_values(["score", "round"], ascending=[False, True]).iloc[0]

    @property
    def best_overrides(self) -> dict[str, Any]:
        best = self.best
        return {} if best is None else json.loads(best["config_json"] or "{}")

    @property
    def rejected(self) -> set[str]:
        if self.decisions.empty:
            return set()
        rows = self.decisions[(self.decisions["agent"] == "tuner")
                              & self.decisions["action"].isin(REJECTED_ACTIONS)]
        return {i for i in map(tuner.identity_from_description, rows["what"]) if i}

    @property
    def rounds_without_improvement(self) -> int:
        finals = self.decisions[self.decisions["action"].isin(FINAL_ACTIONS)] if len(
            self.decisions) else self.decisions
        streak = 0
        for _, row in finals.sort_values(["round", "step"]).iterrows():
            streak = streak + 1 if row["action"] == "revert" else 0
        return streak


@dataclass(frozen=True)
class LoopResult:
    run_id: str
    best_round: int
    best_score: float
    report_path: Path
    pptx_path: Path
    proof_ok: bool
    proof_summary: str
    failed_models: tuple[str, ...] = ()  # in the reported round: the CLI exits non-zero


@dataclass
class _Attempt:
    tables: RoundTables
    analysis: analyst.Analysis
    checks: list[critic.Check]
    verdict: str


@dataclass
class LoopRunner:
    """Runs (or resumes) the loop for one run id.

    Parameters
    ----------
    run_id
        Identity of the run; all rows carry it.
    rounds
        Maximum number of rounds.
    duckdb_path
        Warehouse file (the same one the builder writes).
    reports_dir
        ``reports/``; the report goes to ``reports/<run_id>/``.
    config_path
        ``prism.yml`` (``None``: ``PRISM_CONFIG`` or the project default).
    builder
        Fits the models for (cfg, run_id, round, overrides).
    echo
        Receives one progress line per step.
    llm_max_retries
        Anthropic client retries (tests use 0).
    fixed_overrides
        Settings every round keeps under the Tuner's changes (``prism loop --series`` fixes
        ``data.only_series`` to one series of a portfolio).
    """

    run_id: str
    rounds: int
    duckdb_path: Path
    reports_dir: Path
    config_path: Path | None = None
    builder: Builder = field(default_factory=DbtBuilder)
    echo: Callable[[str], None] = print
    llm_max_retries: int = 2
    fixed_overrides: dict[str, Any] = field(default_factory=dict)
    # What the round in progress has recorded, written with its final status (all or nothing).
    _decisions: list[dict] = field(default_factory=list, init=False, repr=False)
    _checks: list[dict] = field(default_factory=list, init=False, repr=False)

    # --- public ----------------------------------------------------------------------------

    def run(self) -> LoopResult:
        """Run the remaining rounds, then report on the best round."""
        self._discard_unfinished()
        state = self._state()
        ran_rounds = False
        while not self._should_stop(state):
            self._round(state.next_round, state)
            ran_rounds = True
            state = self._state()
        if state.best is None:
            raise RuntimeError(f"run {self.run_id}: no completed round to report on")
        if not ran_rounds and len(state.completed):
            self.echo(f"run {self.run_id}: {len(state.completed)} round(s) already done")
        return self._report(state)

    def resolve(self, overrides: dict[str, Any]) -> PrismConfig:
        return load_config(self.config_path, self._with_fixed(overrides))

    def _with_fixed(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return deep_merge(overrides, self.fixed_overrides)

    # --- state -----------------------------------------------------------------------------

    @contextmanager
    def _con(self) -> Iterator[Any]:
        """A short-lived read-only connection (writes go through prism_mmm.warehouse)."""
        with warehouse.connect_read(self.duckdb_path) as con:
            yield con

    def _agent_table(self, con: Any, name: str, round_: int | None = None) -> pd.DataFrame:
        """Rows of one agent table for this run; typed and empty before the loop wrote any."""
        frame = warehouse.read_table(con, name, self.run_id, round_)
        if frame.empty and not len(frame.columns):
            return pd.DataFrame(columns=list(warehouse.AGENT_TABLES[name]))
        return frame

    def _state(self) -> LoopState:
        with self._con() as con:
            rounds = self._agent_table(con, "agent_rounds")
            decisions = self._agent_table(con, "agent_decisions")
        return LoopState(rounds=rounds, decisions=decisions)

    def _discard_unfinished(self) -> None:
        """Delete every row of rounds that never finished (killed mid-round)."""
        warehouse.discard_unfinished_rounds(self.duckdb_path, self.run_id)

    def _should_stop(self, state: LoopState) -> bool:
        if state.stopped or state.next_round > self.rounds:
            return True
        if state.rounds_without_improvement >= MAX_ROUNDS_WITHOUT_IMPROVEMENT:
            self.echo(f"stopping: {MAX_ROUNDS_WITHOUT_IMPROVEMENT} rounds without improvement")
            return True
        return False

    # --- one round -------------------------------------------------------------------------

    def _refresh_knowledge(self, round_: int) -> None:
        """With a Notion token and database ids, sync the knowledge layer before the round's
        build (as the seed system did; the build loads the snapshot into ``knowledge_*``) and
        record what changed. A failed sync keeps the previous snapshot and says so."""
        from prism_mmm.knowledge.check import dataset_problems
        from prism_mmm.knowledge.local import knowledge_directory
        from prism_mmm.knowledge.notion import NotionSyncError, database_ids, sync
        from prism_mmm.knowledge.schema import KnowledgeError

        token = os.environ.get("NOTION_TOKEN", "").strip()
        cfg = self.resolve({})
        try:
            configured = token and all(database_ids(cfg.knowledge.notion).values())
            if not configured:
                return
            report = sync(cfg.knowledge, token, knowledge_directory(cfg),
                          dataset=cfg.data.dataset, check=partial(dataset_problems, cfg))
        except (NotionSyncError, KnowledgeError, OSError) as exc:
            self._record(round_, {"agent": "knowledge", "action": "knowledge_sync_failed",
                                  "what": "kept the previous knowledge snapshot",
                                  "why": str(exc)[:2000]})
            self.echo(f"round {round_}/{self.rounds} · knowledge sync failed: previous "
                      "snapshot kept")
            return
        self._record(round_, {"agent": "knowledge", "action": "knowledge_sync",
                              "what": report.summary()[:2000],
                              "why": "Notion is configured: knowledge refreshed before the build"
                                     + ("" if report.changed else " (no change)")})
        self.echo(f"round {round_}/{self.rounds} · knowledge synced from Notion"
                  + (" (changed)" if report.changed else " (no change)"))

    def _round(self, round_: int, state: LoopState) -> None:
        self._decisions, self._checks = [], []
        warehouse.start_round(self.duckdb_path, self.run_id, round_, _now())
        self._refresh_knowledge(round_)
        data = self._data()
        if round_ == 1 and not data.data_readiness.empty:
            self._explore(round_, data)

        best_score = None if state.best is None else float(state.best["score"])
        base = state.best_overrides
        change = None
        if round_ >= 2:
            best_tables = self._load_round(int(state.best["round"]))
            change = self._timed(round_, "tuner", lambda: self._choose(
                round_, base, best_tables, data, state.rejected))
            if change is None:
                self._record(round_, {"agent": "tuner", "action": "no_change",
                                      "what": "no untried configuration change left",
                                      "why": "every candidate was tried and reverted"})
                self._finish(round_, STOPPED, None, best_score, None, base)
                self.echo(f"round {round_}/{self.rounds} · tuner has nothing left to try")
                return
            self._record(round_, _proposal(change, attempt=1))

        overrides = base if change is None else deep_merge(base, change.as_overrides())
        attempt = self._attempt(round_, 1, overrides, data)
        if round_ == 1 and data.data_readiness.empty:
            data = self._data()  # the build created the EDA marts
            self._explore(round_, data)
        if attempt.verdict == critic.REVISE:
            excluded = state.rejected | ({change.identity} if change else set())
            revision = self._timed(round_, "tuner (revision)", lambda: self._choose(
                round_, base, attempt.tables, data, excluded, attempt.checks))
            failed = [c.check_name for c in attempt.checks if c.status == "fail"]
            if revision is None:
                self._record(round_, {
                    "agent": "tuner", "action": "no_revision",
                    "what": "no configuration change addresses the failed checks",
                    "why": f"failed: {', '.join(failed)}; reported as caveats"})
            else:
                if change is not None:
                    self._record(round_, {
                        "agent": "tuner", "action": "superseded", "what": change.describe(),
                        "why": f"Critic asked for a revision ({', '.join(failed)})",
                        "kept": False})
                self._record(round_, _proposal(revision, attempt=2))
                change = revision
                overrides = deep_merge(base, change.as_overrides())
                attempt = self._attempt(round_, 2, overrides, data)

        parts = self._timed(round_, "score", lambda: scoring.score_parts(attempt.tables))
        score = parts.score
        kept = scoring.improves(score, best_score)
        final = {
            "agent": "tuner", "action": "baseline" if change is None else (
                "keep" if kept else "revert"),
            "what": "baseline configuration" if change is None else change.describe(),
            "why": _score_reason(parts, score, best_score, kept),
            "kept": kept, "score_before": best_score, "score_after": score,
        }
        new_best = score if kept else best_score
        self._finish(round_, COMPLETED, score, new_best, attempt.verdict, overrides, final,
                     parts.mean_smape if parts.smape_split == "cv" else None)
        self.echo(f"round {round_}/{self.rounds} · {'kept' if kept else 'reverted'} · score "
                  f"{score:.3f} (best {new_best:.3f})")

    def _attempt(self, round_: int, attempt: int, overrides: dict[str, Any],
                 data: DataTables) -> _Attempt:
        cfg = self.resolve(overrides)
        self._timed(round_, "dbt build" if isinstance(self.builder, DbtBuilder) else "build",
                    lambda: self.builder(cfg, self.run_id, round_, self._with_fixed(overrides)))
        tables = self._load_round(round_)
        analysis = self._timed(round_, "analyst", lambda: self._analyse(round_, tables, data, cfg))
        checks = self._timed(round_, "critic", lambda: critic.review(tables, data, analysis))
        verdict = critic.verdict(checks)
        self._checks += [{"run_id": self.run_id, "round": round_, "attempt": attempt, **c.row()}
                         for c in checks]
        failed = [f"{c.check_name}: {c.reason}" for c in checks if c.status == "fail"]
        self._record(round_, {"agent": "critic", "action": "verdict", "what": verdict,
                              "why": "; ".join(failed) or "no check failed"})
        return _Attempt(tables, analysis, checks, verdict)

    def _choose(self, round_: int, base: dict[str, Any], tables: RoundTables, data: DataTables,
                excluded: set[str], failed_checks: list[critic.Check] | None = None,
                ) -> tuner.Change | None:
        """The Tuner's one change (Claude's pick among the candidates when a key is set)."""
        candidates = tuner.eligible(base, self.resolve, tables, excluded, failed_checks)
        if not candidates:
            return None
        choice = tuner.choose(candidates, _payload(tables, data), self.resolve(base).agents,
                              self.llm_max_retries)
        if choice.decision:
            self._record(round_, choice.decision)
        return choice.change

    def _analyse(self, round_: int, tables: RoundTables, data: DataTables,
                 cfg: PrismConfig) -> analyst.Analysis:
        analysis = analyst.analyse(tables)
        trace = build_trace_set(tables, data)
        identifiers = self._identifiers(tables, cfg)

        def check(text: str) -> str | None:
            if analyst.word_count(text) >= analyst.MAX_WORDS:
                return f"{analyst.word_count(text)} words (limit {analyst.MAX_WORDS})"
            proof = proofread(text, trace, identifiers)
            return None if proof.ok else proof.summary()

        outcome = write_prose(
            f"an analysis of this round under {analyst.MAX_WORDS} words that separates "
            "confirmed channels from uncertain ones", _payload(tables, data), analysis.text,
            check, cfg.agents, self.llm_max_retries)
        self._record_prose(round_, outcome, "analyst")
        proof = proofread(outcome.text, trace, identifiers)
        self._record(round_, {"agent": "analyst", "action": "analysis", "what": outcome.text,
                              "why": f"proofread: {proof.summary()}", "kept": proof.ok})
        return analyst.Analysis(outcome.text, analysis.confirmed, analysis.uncertain,
                                analysis.recommended)

    def _explore(self, round_: int, data: DataTables) -> None:
        findings = self._timed(round_, "explorer", lambda: explorer.explore(data))
        for finding in findings:
            self._record(round_, finding)

    # --- report ----------------------------------------------------------------------------

    def _report(self, state: LoopState) -> LoopResult:
        best = state.best
        best_round = int(best["round"])
        out_dir = self.reports_dir / self.run_id
        label = f"report (round {best_round})"
        started = time.perf_counter()
        tables = self._load_round(best_round)
        data = self._data()
        cfg = self.resolve(state.best_overrides)
        with self._con() as con:
            checks = self._agent_table(con, "critic_checks", best_round)
            decisions = self._agent_table(con, "agent_decisions")
            # Every round's: a lift test's fits before the Tuner had it calibrate them.
            lift_history = warehouse.read_table(con, "experiment_lifts", self.run_id)
        # This report's rows replace the previous report's (written at the end, in one swap).
        decisions = decisions[~decisions["agent"].isin(warehouse.REPORT_AGENTS)].reset_index(
            drop=True)
        checks = checks[checks["attempt"] == checks["attempt"].max()] if len(checks) else checks
        rounds = state.completed
        inputs = reporter.ReportInputs(
            run_id=self.run_id, cfg=cfg, tables=tables, data=data,
            analysis=analyst.analyse(tables), rounds=rounds, decisions=decisions,
            checks=checks, verdict=str(best["verdict"]), lift_history=lift_history)
        trace = build_trace_set(tables, data, {
            "agent_rounds": rounds, "critic_checks": checks,
            "agent_decisions": decisions[["round", "score_before", "score_after"]],
            "experiment_lifts_history": lift_history})
        identifiers = [*self._identifiers(tables, cfg, lift_history), str(out_dir)]

        def check(text: str) -> str | None:
            if problem := reporter.summary_problem(text):
                return problem
            proof = proofread(text, trace, identifiers)
            return None if proof.ok else proof.summary()

        outcome = write_prose(
            reporter.SUMMARY_TASK,
            _payload(tables, data), reporter.executive_summary(inputs), check, cfg.agents,
            self.llm_max_retries)
        report = reporter.write_report(inputs, out_dir, outcome.text)
        # The final attempt's analysis: an earlier attempt's tables were replaced by the rebuild.
        analyses = decisions[(decisions["round"] == best_round)
                             & (decisions["action"] == "analysis")].sort_values("step")["what"]
        prose = "\n".join([report.markdown, report.slide_text, *analyses.tail(1)])
        proof = proofread(prose, trace, identifiers)
        rows = [r for r in [outcome.decision("reporter")] if r]
        rows += [
            {"agent": "reporter", "action": "report", "what": str(report.markdown_path),
             "why": f"best round {best_round} of {len(rounds)}; also {report.pptx_path.name}"},
            {"agent": "proofreader", "action": "proofread",
             "what": "pass" if proof.ok else "fail", "why": proof.summary(), "kept": proof.ok},
        ]
        done = decisions.loc[decisions["round"] == best_round, "step"]
        first_step = int(done.max()) + 1 if len(done) else 1
        warehouse.replace_report_decisions(self.duckdb_path, self.run_id, [
            {"run_id": self.run_id, "round": best_round, "step": first_step + i,
             "created_at": _now(), **row} for i, row in enumerate(rows)])
        self.echo(f"{label} · {time.perf_counter() - started:.1f} s")
        self.echo(f"proofreader · {proof.summary()}")
        return LoopResult(self.run_id, best_round, float(best["score"]), report.markdown_path,
                          report.pptx_path, proof.ok, proof.summary(),
                          tuple(scoring.failed_models(tables)))

    # --- helpers ---------------------------------------------------------------------------

    def _timed(self, round_: int, step: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = fn()
        self.echo(f"round {round_}/{self.rounds} · {step} · {time.perf_counter() - started:.1f} s")
        return result

    def _load_round(self, round_: int) -> RoundTables:
        with self._con() as con:
            return load_round(con, self.run_id, round_)

    def _data(self) -> DataTables:
        with self._con() as con:
            return load_data(con, self.resolve({}).data.only_series)

    def _identifiers(self, tables: RoundTables, cfg: PrismConfig,
                     lift_history: pd.DataFrame | None = None) -> list[str]:
        """Names whose digits are not figures: run id, brand, channels, models and lift test
        ids (``geo_search_2024``)."""
        channels = list(tables.channel_roi["channel"].unique()) if len(tables.channel_roi) else []
        experiments = [str(e) for frame in (tables.experiment_lifts, lift_history)
                       if frame is not None and len(frame) for e in frame["experiment_id"].unique()]
        return [self.run_id, cfg.data.brand, *cfg.data.only_series, *cfg.channels, *channels,
                *scoring.MODELS,
                *dict.fromkeys(experiments)]

    def _record(self, round_: int, row: dict) -> None:
        self._record_many(round_, [row])

    def _record_many(self, round_: int, rows: list[dict]) -> None:
        """Keep decisions of the round in progress; :meth:`_finish` writes them."""
        step = len(self._decisions)
        self._decisions += [{"run_id": self.run_id, "round": round_, "step": step + i + 1,
                             "created_at": _now(), **row} for i, row in enumerate(rows)]

    def _record_prose(self, round_: int, outcome: ProseOutcome, agent: str) -> None:
        row = outcome.decision(agent)
        if row:
            self._record(round_, row)

    def _finish(self, round_: int, status: str, score: float | None, best: float | None,
                verdict: str | None, overrides: dict[str, Any], final: dict | None = None,
                cv_smape: float | None = None) -> None:
        """Close a round: everything it recorded, its final decision and its status are
        written in one swap."""
        if final:
            self._record(round_, final)
        warehouse.finish_round(
            self.duckdb_path, self.run_id, round_, self._decisions, self._checks,
            {"status": status, "finished_at": _now(), "score": score, "best_score": best,
             "cv_smape": cv_smape,
             "verdict": verdict, "config_json": json.dumps(overrides, sort_keys=True)})
        self._decisions, self._checks = [], []


def _proposal(change: tuner.Change, attempt: int) -> dict:
    return {"agent": "tuner", "action": "propose", "what": change.describe(),
            "why": f"attempt {attempt}: {change.hypothesis}"}


def _score_reason(parts: scoring.ScoreParts, score: float, best: float | None,
                  kept: bool) -> str:
    smape = "n/a" if parts.mean_smape is None else fmt_pct(parts.mean_smape)
    text = (f"mean {parts.smape_split} sMAPE {smape}, confirmed share {fmt_pct(parts.confirmed_share)}, "
            f"gates failed {parts.failed_gates} / warned {parts.warned_gates}, failed models "
            f"{parts.failed_models}: score {score:.3f}")
    if best is None:
        return text + " (first round: the baseline)"
    return text + (f" beats best {best:.3f}" if kept else f" does not beat best {best:.3f}")


def _payload(tables: RoundTables, data: DataTables) -> dict[str, list[dict]]:
    """The table contents an LLM may use (records; nothing else)."""
    frames = {
        "model_agreement": tables.model_agreement, "channel_roi": tables.channel_roi,
        "model_fit_metrics": tables.model_fit_metrics, "bayes_gates": tables.bayes_gates,
        "budget_scenarios": tables.budget_scenarios, "data_readiness": data.data_readiness,
    }
    return {name: frame.to_dict(orient="records") for name, frame in frames.items()
            if frame is not None and len(frame)}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
