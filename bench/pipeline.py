"""Pipeline timing: ``dbt seed`` + ``dbt build`` of every model in a throwaway project copy.

``python -m bench pipeline`` copies the project (:func:`prism_mmm.project.copy_project`), runs
the real ``prism build`` machinery (:func:`prism_mmm.build.build_warehouse`) in a child process
and reports where the time goes:

- ``python + dbt startup``: ``dbt --version`` in a fresh interpreter (paid by every dbt call);
- per dbt invocation (seed, build): wall seconds, and the seconds dbt spent parsing the project
  (from its log: a full parse, or a partial one when nothing it depends on changed);
- per node, from ``target/run_results.json``: execution seconds (SQL models, tests, seeds,
  Python models), grouped into data layer / fits / tests / other;
- per fit: ``fit_seconds`` from ``model_fit_metrics``;
- ``import pymc + numpyro + prism_mmm.models.bayes`` in a fresh interpreter (paid once per dbt
  process that runs a Python model);
- peak RSS of the build (max over the child and its dbt subprocesses);
- the same build repeated in a new process under a new run id, as a second ``prism build`` on
  the same machine: dbt's partial parse and the fits whose inputs did not change are reused.

Nodes run on 3 dbt threads, so node seconds can add up to more than the wall time.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from bench.core import REPO, code_env
from bench.report import markdown_table

PARSE_START, PARSE_END = "Running with dbt=", "Found "


def _parse_seconds(log_text: str) -> float | None:
    """Seconds from dbt's start to the end of its parse, from the lines of one invocation in
    ``logs/dbt.log`` (``HH:MM:SS.ffffff`` stamps)."""
    stamps = {}
    for line in log_text.splitlines():
        match = re.search(r"(\d\d:\d\d:\d\d\.\d{6})", line)
        for key, marker in (("start", PARSE_START), ("end", PARSE_END)):
            if match and marker in line and key not in stamps:
                stamps[key] = datetime.strptime(match.group(1), "%H:%M:%S.%f")
    if len(stamps) < 2:
        return None
    return (stamps["end"] - stamps["start"]).total_seconds() % 86400


def _child(project_dir: Path, out: Path, run_id: str) -> int:
    """Run the build in ``project_dir`` timing each dbt call; write timings to ``out``."""
    sys.path.insert(0, str(REPO))
    from prism_mmm import build as build_module
    from prism_mmm.project import Project

    project = Project(project_dir, project_dir / "warehouse" / "prism.duckdb")
    calls: list[dict[str, Any]] = []
    original = build_module.run_dbt

    log_file = project_dir / "logs" / "dbt.log"

    def timed_run_dbt(command, *args, **kwargs):
        offset = log_file.stat().st_size if log_file.exists() else 0
        start = time.perf_counter()
        try:
            return original(command, *args, **kwargs)
        finally:
            seconds = time.perf_counter() - start
            results = project_dir / "target" / "run_results.json"
            nodes = []
            if results.exists():
                for r in json.loads(results.read_text())["results"]:
                    nodes.append({"unique_id": r["unique_id"], "status": r["status"],
                                  "execution_time": r["execution_time"]})
            with open(log_file, errors="replace") as log:
                log.seek(offset)
                parse = _parse_seconds(log.read())
            calls.append({"command": " ".join(command), "seconds": seconds, "nodes": nodes,
                          "parse": parse})

    build_module.run_dbt = timed_run_dbt
    start = time.perf_counter()
    project.build(run_id)
    total = time.perf_counter() - start
    import duckdb

    con = duckdb.connect(str(project.duckdb_path), read_only=True)
    try:
        fits = con.execute(
            'select "model", max("fit_seconds") as fit_seconds, max("status") as status '
            'from "model_fit_metrics" group by 1 order by 1').df()
    finally:
        con.close()
    out.write_text(json.dumps({"total": total, "calls": calls,
                               "fits": fits.to_dict(orient="records")}, default=float))
    return 0


def _build_in_child(project_dir: Path, out: Path, run_id: str,
                    env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Wall seconds and timings (:func:`_child`) of one build in a new process."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.pipeline", "child", str(project_dir), str(out),
                    run_id], cwd=str(REPO), env=env, check=True)
    return time.perf_counter() - start, json.loads(out.read_text())


def _fresh_seconds(code: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *code], cwd=str(REPO), env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def _group(unique_id: str) -> str:
    kind, _, name = unique_id.split(".", 2)
    name = name.split(".")[-1]
    if kind == "test" or kind == "unit_test":
        return "tests"
    if kind == "seed":
        return "seeds"
    if name.startswith("fit_"):
        return f"fit ({name})"
    if name.startswith("knowledge"):
        return "knowledge tables"
    if name in ("budget_scenarios", "eda_vif"):
        return f"python: {name}"
    return "data layer (SQL models)"


APP_LOAD = """
import time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({path!r}, default_timeout=600)
app.run()
print("APP", time.perf_counter() - start, len(app.exception))
"""


def _timed_run(args: list[str], env: dict[str, str], log) -> tuple[float, str]:
    """Wall seconds of a fresh process and its status (``ok`` or the tail of its output)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=str(REPO), env=env, text=True,
                          capture_output=True, check=False)
    seconds = time.perf_counter() - start
    status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: " + \
        (proc.stderr or proc.stdout)[-300:].replace("\n", " ")
    if proc.returncode:
        log(f"[pipeline]   failed: {status}")
    return seconds, status if proc.returncode else (proc.stdout.strip().splitlines() or ["ok"])[-1]


def run_pipeline_bench(results_dir: Path, quick: bool = False, bayes: str = "full",
                       loop: bool = True, app: bool = True, log=print) -> dict[str, Any]:
    from prism_mmm.project import QUICK_SETTINGS, copy_project

    settings = QUICK_SETTINGS if (quick or bayes == "fast") else {}
    work = Path(tempfile.mkdtemp(prefix="prism-bench-pipeline-"))
    try:
        project = copy_project(REPO, work / "project", settings)
        env = {**code_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        log("[pipeline] python + dbt startup ...", flush=True)
        startup = _fresh_seconds(["-m", "dbt.cli.main", "--version"], env)
        imports = _fresh_seconds(["-c", "import pymc, numpyro, prism_mmm.models.bayes"], env)
        log("[pipeline] dbt seed + dbt build (real prism build machinery) ...", flush=True)
        wall, timings = _build_in_child(project.project_dir, work / "timings.json",
                                        "bench-pipeline", env)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        log("[pipeline] the same build again in a new process ...", flush=True)
        repeat_wall, repeat = _build_in_child(project.project_dir, work / "repeat.json",
                                              "bench-pipeline-repeat", env)
        extra = []
        project_env = {**env, **project.env(), "PRISM_CONFIG": str(project.project_dir / "prism.yml")}
        if app:
            log("[pipeline] app first page load (streamlit AppTest, fresh process) ...", flush=True)
            app_path = str(project.project_dir / "streamlit_app" / "app.py")
            seconds, status = _timed_run(["-c", APP_LOAD.format(path=app_path)], project_env, log)
            parts = status.split()
            if status.startswith("APP") and len(parts) == 3:
                status = f"render {float(parts[1]):.1f} s in AppTest, {parts[2]} exceptions"
            extra.append({"part": f"app first page load, fresh process ({status})",
                          "seconds": seconds})
        if loop:
            log("[pipeline] one loop round (prism loop --rounds 1) ...", flush=True)
            seconds, status = _timed_run(
                ["-m", "prism_mmm.cli", "loop", "--rounds", "1", "--run-id", "bench-loop"],
                project_env, log)
            extra.append({"part": "prism loop --rounds 1 (explore + 1 round incl. dbt build "
                          "+ report)" + ("" if "next:" in status else f" [{status[:80]}]"),
                          "seconds": seconds})
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = [{"part": "python + dbt startup (dbt --version, fresh process)", "seconds": startup},
            {"part": "import pymc + numpyro + prism_mmm.models.bayes (fresh process)",
             "seconds": imports}]
    for call in timings["calls"]:
        rows.append({"part": f"dbt {call['command']} (wall)", "seconds": call["seconds"]})
        if call.get("parse") is not None:
            rows.append({"part": f"  {call['command']}: dbt start + parse (full: a new project)",
                         "seconds": call["parse"]})
        nodes = pd.DataFrame(call["nodes"])
        if nodes.empty:
            continue
        nodes["group"] = nodes["unique_id"].map(_group)
        for group, seconds in nodes.groupby("group")["execution_time"].sum().items():
            rows.append({"part": f"  {call['command']}: {group} (node seconds)", "seconds": seconds})
        rows.append({"part": f"  {call['command']}: wall - node seconds (dbt startup/parse; "
                     "negative when 3 threads overlap nodes)",
                     "seconds": call["seconds"] - nodes["execution_time"].sum()})
    for fit in timings["fits"]:
        rows.append({"part": f"fit_seconds {fit['model']} (model_fit_metrics, {fit['status']})",
                     "seconds": fit["fit_seconds"]})
    rows.append({"part": "whole build (validate + seed + build + swap)", "seconds": timings["total"]})
    rows.append({"part": "whole build incl. child interpreter", "seconds": wall})
    for call in repeat["calls"]:
        if call.get("parse") is not None:
            rows.append({"part": f"repeat build, new process: dbt {call['command']} start + parse "
                         "(partial)", "seconds": call["parse"]})
    rows.append({"part": "repeat build, new process, new run id (fits with unchanged inputs "
                 "reused), incl. child interpreter", "seconds": repeat_wall})
    rows.extend(extra)
    table = pd.DataFrame(rows)
    header = (f"Pipeline timing {time.strftime('%Y-%m-%d %H:%M:%S')}; bayes settings: "
              f"{settings.get('bayes', 'prism.yml (4 x 1000/1000)')}; cpus {os.cpu_count()}; "
              f"load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
              f"peak RSS of the build {peak_mb:.0f} MiB (target < 4096)")
    text = header + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.1f}")
    log(text)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    md = "# Pipeline timing\n\n" + header + "\n\n" + markdown_table(table, ["part", "seconds"])
    paths = [results_dir / f"pipeline_{stamp}.csv", results_dir / f"pipeline_{stamp}.md",
             results_dir / "pipeline_latest.md"]
    table.assign(peak_rss_mb=peak_mb).to_csv(paths[0], index=False)
    paths[1].write_text(md + "\n")
    paths[2].write_text(md + "\n")
    log(f"[pipeline] wrote {', '.join(str(p) for p in paths)}")
    return {"table": table, "peak_rss_mb": peak_mb, "paths": paths}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        sys.exit(_child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]))
    sys.exit("usage: python -m bench.pipeline child PROJECT_DIR OUT_JSON RUN_ID")
