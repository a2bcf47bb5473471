"""The ``prism`` command. Each subcommand lives in ``prism_mmm/commands/<name>.py`` and exposes
``register(subparsers)``; imports are lazy so ``prism --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from prism_mmm.project import ProjectNotFoundError

COMMANDS = {
    "run": "install-free demo: build warehouse, fit models, run the loop, write the report",
    "init": "profile a CSV and write prism.yml",
    "build": "validate input and run dbt build (seeds, models, tests)",
    "optimize": "optimise a budget scenario from the latest fitted models",
    "loop": "run the agent improvement loop",
    "report": "write the portfolio report of a built run (no agent loop)",
    "knowledge": "sync/push the knowledge layer (Notion or local YAML)",
    "app": "start the Streamlit app",
    "bench": "benchmark the Bayesian engine against pymc-marketing",
}


class PrismError(Exception):
    """An error the user can act on: printed without a traceback, exit code 2."""


def _command_name(argv: list[str]) -> str | None:
    """The subcommand: the first word that is neither an option nor --project-dir's value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--project-dir":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="prism", description="PrismMMM: MMM in the warehouse")
    parser.add_argument(
        "--project-dir", default=None,
        help="the PrismMMM project (default: the nearest folder with dbt_project.yml, from the "
        "current directory upwards; or PRISM_PROJECT_DIR)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    name = _command_name(argv)
    for command, help_text in COMMANDS.items():
        if command == name:
            module = importlib.import_module(f"prism_mmm.commands.{command.replace('-', '_')}")
            module.register(subparsers)
        else:
            subparsers.add_parser(command, help=help_text)
    args = parser.parse_args(argv)
    if args.project_dir:
        # Every later step (dbt's child process and the Python models included) reads it.
        os.environ["PRISM_PROJECT_DIR"] = str(Path(args.project_dir).resolve())
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except (PrismError, ProjectNotFoundError) as exc:
        print(f"prism {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run as `python -m prism_mmm.cli` this module is __main__; use the imported copy so the
    # PrismError the commands raise is the class main() catches.
    from prism_mmm.cli import main as package_main

    sys.exit(package_main())
