"""Input size: peak memory of the data layer on the largest input the limits allow.

``python -m bench size`` writes a wide weekly CSV at all three limits of ``prism.yml``
(``data.max_input_rows`` rows, ``data.max_input_columns`` columns, just under
``data.max_input_bytes``; 20 channels and 2 controls configured, the other columns an
export's extras), then measures in fresh processes, each its own peak RSS including children:

- the validation ``prism build`` runs before dbt (:func:`prism_mmm.ingest.validate_file`);
- ``prism build --select +tag:data_layer`` (validation, copy, dbt: staging to the EDA marts);
- the same checks on a 20-series x 5-year daily long file (the portfolio shape), which today's
  single-series data layer refuses with a clear error before dbt.

Results: ``bench/results/size_<stamp>.md`` and ``size_latest.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

# The repository holding bench/ and the app (not bench.core.REPO, which needs a project
# around the current directory: these helpers also run from a temporary one).
REPO = Path(__file__).resolve().parent.parent
N_CHANNELS, N_CONTROLS = 20, 2


def write_wide_csv(path: Path, rows: int, columns: int, max_bytes: int,
                   seed: int = 7) -> dict[str, Any]:
    """A valid weekly CSV of ``rows`` x ``columns`` under ``max_bytes``; returns the prism.yml
    ``data`` section for it. Weeks run back from 2024 (50,000 weeks start in the 11th
    century: the limits, not the calendar, are what is measured)."""
    rng = random.Random(seed)
    names = ["week", "revenue", *[f"ch_{i + 1}" for i in range(N_CHANNELS)],
             *[f"ctl_{i + 1}" for i in range(N_CONTROLS)]]
    extras = [f"extra_{i + 1}" for i in range(columns - len(names))]
    start = dt.date(2024, 1, 1) - dt.timedelta(weeks=rows - 1)
    # width per extra cell, so the file ends just under the byte limit
    fixed = 10 + 8 + (N_CHANNELS + N_CONTROLS) * 9 + columns
    width = max(1, min(12, (max_bytes * 0.97 / rows - fixed) // max(len(extras), 1)))
    filler = "7" * int(width)
    with open(path, "w", newline="") as out:
        out.write(",".join(names + extras) + "\n")
        for k in range(rows):
            cells = [(start + dt.timedelta(weeks=k)).isoformat(),
                     f"{1e6 + rng.random() * 1e5:.0f}",
                     *(f"{rng.random() * 1e4:.2f}" for _ in range(N_CHANNELS)),
                     *(f"{rng.random() * 30 - 5:.2f}" for _ in range(N_CONTROLS)),
                     *([filler] * len(extras))]
            out.write(",".join(cells) + "\n")
    return {"source": "csv", "path": str(path), "date_column": "week", "kpi": "revenue",
            "channels": names[2:2 + N_CHANNELS], "controls": names[2 + N_CHANNELS:]}


def write_long_csv(path: Path, series: int = 20, years: int = 5) -> dict[str, Any]:
    """The portfolio shape: one row per series and day, 8 channels."""
    rng = random.Random(11)
    channels = [f"ch_{i + 1}" for i in range(8)]
    days = 365 * years + years // 4
    start = dt.date(2020, 1, 1)
    with open(path, "w", newline="") as out:
        out.write(",".join(["date", "series", "revenue", *channels]) + "\n")
        for s in range(series):
            out.writelines(",".join([(start + dt.timedelta(days=d)).isoformat(), f"brand_{s}",
                                    f"{1e5 + rng.random() * 1e4:.0f}",
                                    *(f"{rng.random() * 1e3:.2f}" for _ in channels)]) + "\n" for d in range(days))
    return {"source": "csv", "path": str(path), "date_column": "date", "kpi": "revenue",
            "channels": channels}


def measure(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run ``command`` from a fresh measuring process; its peak RSS (children included)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.size", "measure", "--", *command],
                          cwd=cwd, env=env, capture_output=True, text=True, check=False)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["seconds"] = time.perf_counter() - started
    return report


def _measure_main(command: list[str]) -> int:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    lines = [line for line in (done.stdout + done.stderr).strip().splitlines()
             if "RuntimeWarning" not in line and line.strip()]  # runpy's notice about dbt
    tail = lines[-3:]
    print(json.dumps({"exit": done.returncode, "peak_rss_mb": peak, "tail": tail}))
    return 0


VALIDATE = ("import sys; from prism_mmm.config import load_config; "
            "from prism_mmm.ingest import InputError, validate_file\n"
            "cfg = load_config(sys.argv[1])\n"
            "try:\n    frame = validate_file(cfg.data.path, cfg); print('rows', len(frame))\n"
            "except InputError as exc:\n    print('InputError:', str(exc)[:300]); sys.exit(2)")


def run_size_measurements(project_dir: Path, work: Path, log=print) -> list[dict[str, Any]]:
    """Every measurement of the module docstring, in ``project_dir`` (a project copy)."""
    from prism_mmm.config import DataConfig

    limits = {name: DataConfig.model_fields[name].default
              for name in ("max_input_rows", "max_input_columns", "max_input_bytes")}
    config_path = project_dir / "prism.yml"
    base = yaml.safe_load(config_path.read_text())
    env = {**os.environ, "PRISM_PROJECT_DIR": str(project_dir), "PRISM_CONFIG":
           str(config_path), "PRISM_DUCKDB_PATH": str(project_dir / "warehouse" /
                                                      "prism.duckdb"), "PYTHONPATH": str(REPO)}
    results = []
    wide = work / "wide.csv"
    data = write_wide_csv(wide, limits["max_input_rows"], limits["max_input_columns"],
                          limits["max_input_bytes"])
    long = work / "long.csv"
    long_data = write_long_csv(long)
    for label, csv_path, data_cfg, steps in (
        (f"wide {limits['max_input_rows']:,} rows x {limits['max_input_columns']} columns",
         wide, data, ("validate", "data layer")),
        ("long 20 series x 5 years daily", long, long_data, ("validate", "data layer")),
    ):
        config_path.write_text(yaml.safe_dump({**base, "data": data_cfg}))
        size = csv_path.stat().st_size
        for step in steps:
            log(f"[size] {label}: {step} ...")
            command = ([sys.executable, "-c", VALIDATE, str(config_path)] if step == "validate"
                       else [sys.executable, "-m", "prism_mmm.cli", "build", "--select",
                             "+tag:data_layer", "--run-id", "size"])
            report = measure(command, env, project_dir)
            results.append({"input": label, "bytes": size, "step": step, **report})
            log(f"[size]   exit {report['exit']}, peak RSS {report['peak_rss_mb']:.0f} MiB, "
                f"{report['seconds']:.1f} s; {report['tail'][-1] if report['tail'] else ''}")
    config_path.write_text(yaml.safe_dump(base))
    return results


def run_size_bench(results_dir: Path, log=print) -> list[dict[str, Any]]:
    from tests.project import copy_project

    work = Path(tempfile.mkdtemp(prefix="prism-bench-size-"))
    try:
        project = copy_project(work / "project")
        results = run_size_measurements(project.project_dir, work, log=log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["# Input size and peak memory", "",
             (f"{time.strftime('%Y-%m-%d %H:%M:%S')}; cpus {os.cpu_count()}; load avg "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}. Peak RSS of a fresh process "
             "and its children (dbt included)."), "",
             "| input | bytes | step | exit | peak RSS (MiB) | seconds | last line |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        last = (r["tail"][-1] if r["tail"] else "").replace("|", "\\|")[:120]
        lines.append(f"| {r['input']} | {r['bytes']:,} | {r['step']} | {r['exit']} | "
                     f"{r['peak_rss_mb']:.0f} | {r['seconds']:.1f} | {last} |")
    text = "\n".join(lines) + "\n"
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (results_dir / f"size_{stamp}.md", results_dir / "size_latest.md"):
        path.write_text(text)
    log(text)
    return results


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "measure" and sys.argv[2] == "--":
        sys.exit(_measure_main(sys.argv[3:]))
    sys.exit("usage: python -m bench.size measure -- COMMAND...")
