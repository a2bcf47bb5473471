"""Readers under load: the warehouse stays readable, and every read is one complete run, while
``prism build`` and ``prism loop`` write it.

``python -m bench load`` (or :func:`run_load` from a test) copies the project, builds it once,
then starts reader processes that query the result tables in a loop — the app's own queries
(``streamlit_app/data.py``, its cache cleared before every pass so each query really reads)
and a BI client's plain read-only ``select … from channel_roi where (run_id, round) =
latest`` with no retry at all — while successive ``prism build`` and ``prism loop`` rounds
run. Each read is checked where it happens:

- it returns one complete run: every model's rows for every channel of that run;
- the agent tables are all-or-nothing: a ``running`` round has no rows yet, a finished one
  has its closing decision and its critic checks;
- it does not fail, on a lock or otherwise (the BI reader has no retry, so a lock would show).

Afterwards every run a reader saw must be one that a writer produced, in the order they were
produced (old, then new; never back). Results: ``bench/results/load_<stamp>.md`` and
``load_latest.md`` (reads per second, worst and 99th-percentile read latency).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The repository holding bench/ and the app (not bench.core.REPO, which needs a project
# around the current directory: these helpers also run from a temporary one).
REPO = Path(__file__).resolve().parent.parent


# Tiny but real fits: this measures the readers, not the models.
LOAD_SETTINGS = {
    "bayes": {"sampling": {"chains": 2, "draws": 60, "tune": 60}},
    "ridge": {"n_boot": 5},
    "nls": {"n_boot": 3, "n_starts": 1},
    "agents": {"cv_origins": 1},
}
READER_PAUSE_S = 0.05  # a dashboard or BI client reconnecting every 50 ms
USABLE_STATUSES = ("ok", "warning")
BI_LATEST_RUN = """
select run_id, "round" from mmm_runs group by run_id, "round"
order by max(finished_at) desc, "round" desc limit 1
"""
BI_LATEST = f"""
with latest as ({BI_LATEST_RUN})
select c.run_id, c."round", c.model, c.channel, c.roi
from channel_roi as c inner join latest using (run_id, "round")
"""
AGENT_SUMMARY = """
select r.run_id, r."round", r.status,
       (select count(*) from agent_decisions d
        where d.run_id = r.run_id and d."round" = r."round") as n_decisions,
       (select count(*) from agent_decisions d where d.run_id = r.run_id
        and d."round" = r."round" and d.action in ('baseline', 'keep', 'revert')) as n_final,
       (select count(*) from critic_checks c
        where c.run_id = r.run_id and c."round" = r."round") as n_checks
from agent_rounds as r
"""


# -- one reader process ---------------------------------------------------------------------
def _complete_run_problem(frame, runs, expected_models: int) -> str | None:
    """Why one run's channel_roi rows are not complete (None when they are): every model in
    ``mmm_runs`` has a row (a failed fit has a failed status and no ROI rows), every fitted
    model has every channel."""
    if len(runs) != expected_models:
        return f"partial run: {len(runs)} of {expected_models} models in mmm_runs"
    fitted = set(runs.loc[runs["status"].isin(USABLE_STATUSES), "model"])
    if not fitted:
        return None
    if frame.empty:
        return "no channel_roi rows for the latest run"
    per_model = frame.groupby("model")["channel"].nunique()
    channels = frame["channel"].nunique()
    if set(per_model.index) != fitted or (per_model != channels).any():
        return (f"partial run: channels per model {per_model.to_dict()} of {channels}, fitted "
                f"{sorted(fitted)}")
    if len(frame) != len(fitted) * channels:
        return f"partial run: {len(frame)} rows for {len(fitted)} x {channels}"
    return None


def _agent_problem(rows: list[tuple]) -> str | None:
    for run_id, round_, status, n_decisions, n_final, n_checks in rows:
        if status == "running" and (n_decisions or n_checks):
            return f"round {run_id}/{round_} is running but already has rows"
        if status == "completed" and (n_final != 1 or n_checks == 0):
            return (f"round {run_id}/{round_} completed with {n_final} closing decisions and "
                    f"{n_checks} critic checks")
    return None


def _bi_read(path: str, expected_models: int) -> tuple[str | None, str | None]:
    import duckdb

    with duckdb.connect(path, read_only=True) as con:  # a BI tool: no retry
        roi = con.execute(BI_LATEST).df()
        run_id, round_ = con.execute(BI_LATEST_RUN).fetchall()[0]
        runs = con.execute('select model, status from mmm_runs where run_id = ? and '
                           '"round" = ?', [run_id, round_]).df()
        problem = _complete_run_problem(roi, runs, expected_models)
        if problem is None and len(roi) and (roi["run_id"] != run_id).any():
            problem = f"channel_roi rows of {set(roi['run_id'])} for latest run {run_id}"
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        if problem is None and "agent_rounds" in tables:
            problem = _agent_problem(con.execute(AGENT_SUMMARY).fetchall())
    return f"{run_id}/{round_}", problem


class _AppReader:
    """The app's query functions, as the pages call them."""

    def __init__(self) -> None:
        sys.path.insert(0, str(REPO / "streamlit_app"))
        import streamlit as st
        from streamlit.logger import set_log_level

        import data

        set_log_level("error")  # outside `streamlit run` every cached call warns otherwise
        self.data, self.st = data, st

    def read(self, expected_models: int) -> list[tuple[str, float, str | None, str | None]]:
        data = self.data
        self.st.cache_data.clear()  # every pass reads the file, not the cache
        out = []

        def timed(name, fn):
            started = time.perf_counter()
            result = fn()
            out.append([name, time.perf_counter() - started, None, None])
            return result

        history = timed("app:runs", data.runs)
        run_id, round_ = str(history["run_id"].iloc[0]), int(history["round"].iloc[0])
        # the sidebar's default: the run's first series
        series = timed("app:run_series", lambda: data.run_series_ids(run_id, round_))
        key = data.RunKey(run_id, round_, series[0])
        run = f"{key.run_id}/{key.round}"
        roi = timed("app:channel_roi", lambda: data.channel_roi(key))
        models = timed("app:run_models", lambda: data.run_models(key))
        timed("app:fit_metrics", lambda: data.fit_metrics(key))
        timed("app:agreement", lambda: data.agreement(key))
        timed("app:budget_scenarios", lambda: data.budget_scenarios(key))
        timed("app:response_curves", lambda: data.response_curves(key))
        problem = _complete_run_problem(roi, models, expected_models)
        for row in out:
            row[2] = run
        next(row for row in out if row[0] == "app:channel_roi")[3] = problem
        return [tuple(row) for row in out]


def reader_main(kind: str, path: str, out_path: str, stop_path: str, expected_models: int,
                pause: float) -> int:
    """Read until ``stop_path`` exists; one JSON line per read in ``out_path``."""
    app = _AppReader() if kind == "app" else None
    with open(out_path, "a", buffering=1) as out:
        while not os.path.exists(stop_path):
            started = time.time()
            t0 = time.perf_counter()
            try:
                if app is not None:
                    records = app.read(expected_models)
                else:
                    run, problem = _bi_read(path, expected_models)
                    records = [("bi:channel_roi_latest", time.perf_counter() - t0, run, problem)]
                for name, latency, run, problem in records:
                    out.write(json.dumps({"t": started, "kind": name, "latency": latency,
                                          "run": run, "problem": problem}) + "\n")
            except Exception as exc:  # noqa: BLE001 - recorded and counted as an error, never hidden
                out.write(json.dumps({"t": started, "kind": kind, "latency":
                                      time.perf_counter() - t0, "run": None, "problem": None,
                                      "error": f"{type(exc).__name__}: {exc}"}) + "\n")
            time.sleep(pause)
    return 0


# -- the scenario ---------------------------------------------------------------------------
@dataclass
class LoadResult:
    reads: int
    seconds: float
    reads_per_s: float
    worst_latency_s: float
    p99_latency_s: float
    median_latency_s: float
    errors: list[str]
    lock_errors: int
    partial: list[str]
    out_of_order: list[str]
    unknown_runs: list[str]
    runs_seen: list[str]
    produced: list[str]
    writers: list[dict[str, Any]] = field(default_factory=list)
    pause: float = READER_PAUSE_S
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # reads, median, worst

    @property
    def ok(self) -> bool:
        return not (self.errors or self.partial or self.out_of_order or self.unknown_runs)

    def summary(self) -> str:
        return (f"{self.reads} reads in {self.seconds:.1f} s ({self.reads_per_s:.1f}/s) by "
                f"readers pausing {self.pause * 1000:.0f} ms; worst latency "
                f"{self.worst_latency_s * 1000:.0f} ms, p99 {self.p99_latency_s * 1000:.0f} ms, "
                f"median {self.median_latency_s * 1000:.1f} ms; errors {len(self.errors)} "
                f"(lock {self.lock_errors}), partial runs {len(self.partial)}, out of order "
                f"{len(self.out_of_order)}, runs seen {self.runs_seen}; writers "
                + ", ".join(f"{w['command']} {w['seconds']:.0f} s" for w in self.writers))


def current_run(path: Path) -> str:
    import duckdb

    from prism_mmm.warehouse import latest_run

    with duckdb.connect(str(path), read_only=True) as con:
        ref = latest_run(con)
    return f"{ref.run_id}/{ref.round}"


def run_load(project_dir: Path, duckdb_path: Path, builds: int = 3, loop_rounds: int = 1,
             app_readers: int = 2, bi_readers: int = 2, expected_models: int = 3,
             pause: float = READER_PAUSE_S, timeout: float = 1800.0, log=print) -> LoadResult:
    """Readers on an already built warehouse while ``builds`` x ``prism build`` and then a
    ``prism loop`` of ``loop_rounds`` rounds run (each a fresh process, as a user runs them)."""
    env = {**os.environ, "PRISM_PROJECT_DIR": str(project_dir), "PRISM_DUCKDB_PATH":
           str(duckdb_path), "PRISM_CONFIG": str(project_dir / "prism.yml"),
           "PYTHONPATH": str(REPO)}
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("NOTION_TOKEN", None)
    work = Path(tempfile.mkdtemp(prefix="prism-load-"))
    stop = work / "stop"
    produced = [current_run(duckdb_path)]
    readers = []
    for i, kind in enumerate(["app"] * app_readers + ["bi"] * bi_readers):
        out = work / f"reader-{i}.jsonl"
        readers.append((out, subprocess.Popen(
            [sys.executable, "-m", "bench.load", "reader", kind, str(duckdb_path), str(out),
             str(stop), str(expected_models), str(pause)], cwd=REPO, env=env)))
    writers: list[dict[str, Any]] = []
    started = time.time()
    deadline = time.monotonic() + timeout
    try:
        time.sleep(2.0)  # readers warm up on the old run first
        steps = [["build", "--run-id", f"load-build-{k + 1}"] for k in range(builds)]
        if loop_rounds:
            steps.append(["loop", "--rounds", str(loop_rounds), "--run-id", "load-loop"])
        for argv in steps:
            log(f"[load] prism {' '.join(argv)} under {len(readers)} readers ...")
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "prism_mmm.cli", *argv], cwd=project_dir,
                                  env=env, capture_output=True, text=True, check=False,
                                  timeout=max(deadline - time.monotonic(), 1))
            writers.append({"command": "prism " + " ".join(argv), "exit": done.returncode,
                            "seconds": time.perf_counter() - t0,
                            "tail": (done.stdout + done.stderr)[-2000:]})
            if done.returncode not in (0, 1):  # 1: the loop's proofreader flagged the report
                raise RuntimeError(f"prism {' '.join(argv)} failed: {writers[-1]['tail']}")
            produced.append(current_run(duckdb_path))
        time.sleep(1.0)  # readers see the last run too
    finally:
        stop.touch()
        for _, proc in readers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    seconds = time.time() - started
    result = _evaluate(readers, produced, seconds, writers)
    result.pause = pause
    return result


def _evaluate(readers, produced: list[str], seconds: float, writers) -> LoadResult:
    order = {run: i for i, run in enumerate(produced)}
    records, errors, partial, out_of_order, unknown = [], [], [], [], set()
    for out, _ in readers:
        last = -1
        for line in out.read_text().splitlines():
            record = json.loads(line)
            records.append(record)
            if record.get("error"):
                errors.append(record["error"])
                continue
            if record["problem"]:
                partial.append(f"{record['run']}: {record['problem']}")
            run = record["run"]
            if run not in order:
                unknown.add(str(run))
                continue
            if order[run] < last:
                out_of_order.append(f"{out.name}: saw {run} after {produced[last]}")
            last = max(last, order[run])
    latencies = sorted(r["latency"] for r in records)
    by_kind: dict[str, list[float]] = {}
    for record in records:
        by_kind.setdefault(record["kind"], []).append(record["latency"])
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
    return LoadResult(
        reads=len(records), seconds=seconds, reads_per_s=len(records) / seconds,
        worst_latency_s=latencies[-1] if latencies else 0.0, p99_latency_s=p99,
        median_latency_s=statistics.median(latencies) if latencies else 0.0,
        errors=errors, lock_errors=sum("lock" in e.lower() for e in errors), partial=partial,
        out_of_order=out_of_order, unknown_runs=sorted(unknown),
        runs_seen=[r for r in produced if any(rec.get("run") == r for rec in records)],
        produced=produced, writers=writers,
        by_kind={kind: {"reads": len(v), "median_ms": statistics.median(v) * 1000,
                        "worst_ms": max(v) * 1000} for kind, v in sorted(by_kind.items())})


def run_load_bench(results_dir: Path, builds: int = 3, loop_rounds: int = 1,
                   log=print) -> LoadResult:
    """The load scenario on a fresh copy of the project; writes ``load_<stamp>.md``."""
    import shutil

    from tests.project import build, copy_project

    work = Path(tempfile.mkdtemp(prefix="prism-bench-load-"))
    try:
        project = copy_project(work / "project", LOAD_SETTINGS)
        log("[load] initial build ...")
        build(project, run_id="load-initial")
        result = run_load(project.project_dir, project.duckdb_path, builds, loop_rounds, log=log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(result.summary())
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    lines = [
        "# Readers under load", "",
        (f"{time.strftime('%Y-%m-%d %H:%M:%S')}; cpus {os.cpu_count()}; load avg "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; 2 app readers + 2 BI readers, "
        f"each pausing {READER_PAUSE_S * 1000:.0f} ms between reads; writers one after "
        f"another: {builds} x `prism build` then `prism loop --rounds {loop_rounds}` "
        f"(fits at {LOAD_SETTINGS})."), "",
        "| measure | value |", "|---|---|",
        f"| reads | {result.reads} |",
        f"| seconds | {result.seconds:.1f} |",
        f"| reads per second | {result.reads_per_s:.1f} |",
        f"| worst read latency (ms) | {result.worst_latency_s * 1000:.0f} |",
        f"| p99 read latency (ms) | {result.p99_latency_s * 1000:.0f} |",
        f"| median read latency (ms) | {result.median_latency_s * 1000:.1f} |",
        f"| errors (of which on a lock) | {len(result.errors)} ({result.lock_errors}) |",
        f"| partial runs seen | {len(result.partial)} |",
        f"| reads out of order (new, then old) | {len(result.out_of_order)} |",
        f"| runs seen / produced | {len(result.runs_seen)} / {len(result.produced)} |", "",
        "| query | reads | median ms | worst ms |", "|---|---|---|---|",
        *[f"| {kind} | {v['reads']} | {v['median_ms']:.0f} | {v['worst_ms']:.0f} |"
          for kind, v in result.by_kind.items()], "",
        "| writer | exit | seconds |", "|---|---|---|",
        *[f"| `{w['command']}` | {w['exit']} | {w['seconds']:.1f} |" for w in result.writers],
    ]
    text = "\n".join(lines) + "\n"
    for path in (results_dir / f"load_{stamp}.md", results_dir / "load_latest.md"):
        path.write_text(text)
    log(f"[load] wrote {results_dir / f'load_{stamp}.md'}")
    return result


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "reader":
        sys.exit(reader_main(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                             int(sys.argv[6]), float(sys.argv[7])))
    sys.exit("usage: python -m bench.load reader app|bi DUCKDB OUT STOP N_MODELS PAUSE")
