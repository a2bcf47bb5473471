"""Run a prism operation and SIGKILL this very process at a chosen point (test harness only).

    python -m tests.reliability.killpoint FUNCTION N [DELAY] -- MODE ARGS...

When the main thread is about to make its N-th call to ``os.FUNCTION`` (``pread``: a chunk
of the staging copy, ``replace``: the swap, ``fsync``: the staging file then the directory
after the swap, ...), the process sends itself a real SIGKILL, after DELAY seconds if given.
``sys.setprofile`` sees the call from outside the product code, which has no test hooks.
N = 0 runs without killing. MODE is one of:

- ``cli ARGS``: ``prism ARGS`` (e.g. ``build --select ...``);
- ``write VALUE``: one :func:`prism_mmm.warehouse.write_transaction` appending VALUE to a
  ``kill_marker`` table;
- ``loop RUN_ID ROUNDS``: :class:`agents.runner.LoopRunner` with the fixture builder of
  ``tests/agents`` (real loop writes, stand-in model fits).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path


def arm(function: str, occurrence: int, delay: float = 0.0) -> None:
    target = getattr(os, function)
    seen = 0

    def kill() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def profile(frame, event, arg):
        nonlocal seen
        if event == "c_call" and arg is target:
            seen += 1
            if seen == occurrence:
                sys.setprofile(None)
                print(f"killpoint: os.{function} call {occurrence}", flush=True)
                if delay:
                    threading.Timer(delay, kill).start()
                else:
                    kill()

    if occurrence > 0:
        sys.setprofile(profile)


def main(argv: list[str]) -> int:
    split = argv.index("--")
    spec, (mode, *args) = argv[:split], argv[split + 1:]
    arm(spec[0], int(spec[1]), float(spec[2]) if len(spec) > 2 else 0.0)
    if mode == "cli":
        from prism_mmm.cli import main as prism

        return prism(args)
    if mode == "write":
        from prism_mmm.warehouse import write_transaction

        with write_transaction() as con:
            con.execute("create table if not exists kill_marker (value integer)")
            con.execute("insert into kill_marker values (?)", [int(args[0])])
        return 0
    if mode == "loop":
        from agents.runner import LoopRunner
        from tests.agents import fixture_warehouse

        path = Path(os.environ["PRISM_DUCKDB_PATH"])
        LoopRunner(run_id=args[0], rounds=int(args[1]), duckdb_path=path,
                   reports_dir=path.parent / "reports", config_path=path.parent / "none.yml",
                   builder=fixture_warehouse.build, echo=lambda line: print(line, flush=True),
                   llm_max_retries=0).run()
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
