"""``prism app``: start the Streamlit app on the warehouse (read-only)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from prism_mmm.cli import PrismError
from prism_mmm.project import project_dir
from prism_mmm.warehouse import warehouse_path

APP_SCRIPT = "streamlit_app/app.py"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app",
        help="start the Streamlit app",
        description="Serve the PrismMMM app (results, budget optimiser, report) on the "
        "warehouse in PRISM_DUCKDB_PATH. The app only reads: run `prism build` / `prism loop` "
        "while it is open and reload the page to see new results.",
    )
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (8501)")
    parser.add_argument(
        "--address",
        default="localhost",
        help="address to bind; 0.0.0.0 serves other machines (default: localhost only)",
    )
    parser.set_defaults(func=_run)


def streamlit_command(port: int, address: str) -> list[str]:
    """The ``streamlit run`` command line for the app (headless, no usage statistics)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(project_dir() / APP_SCRIPT),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", address,
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    root = project_dir()
    if not (root / APP_SCRIPT).exists():
        raise PrismError(f"{root / APP_SCRIPT} not found: is PRISM_PROJECT_DIR the project?")
    database = warehouse_path()
    if not database.exists():
        print(f"Note: {database} does not exist yet; the app will ask you to run `prism build`.")
    # Resolved paths, so the app reads the same files whatever directory it runs from.
    env = {**os.environ, "PRISM_PROJECT_DIR": str(root), "PRISM_DUCKDB_PATH": str(database)}
    print(f"PrismMMM app on http://{args.address}:{args.port} (Ctrl+C to stop)")
    try:
        return subprocess.run(
            streamlit_command(args.port, args.address), cwd=root, env=env, check=False
        ).returncode
    except KeyboardInterrupt:
        return 0
