"""The ``prism`` command. Each subcommand lives in ``prism_mmm/commands/<name>.py`` and exposes
``register(subparsers)``; imports are lazy so ``prism --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "run": "install-free demo: build warehouse, fit models, run the loop, write the report",
    "init": "profile a CSV and write prism.yml",
    "build": "validate input and run dbt build (seeds, models, tests)",
    "optimize": "optimise a budget scenario from the latest fitted models",
    "loop": "run the agent improvement loop",
    "knowledge": "sync/push the knowledge layer (Notion or local YAML)",
    "app": "start the Streamlit app",
    "bench": "benchmark the Bayesian engine against pymc-marketing",
}


class PrismError(Exception):
    """An error the user can act on: printed without a traceback, exit code 2."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="prism", description="PrismMMM: MMM in the warehouse")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    name = next((a for a in argv if not a.startswith("-")), None)
    for command, help_text in COMMANDS.items():
        if command == name:
            module = importlib.import_module(f"prism_mmm.commands.{command.replace('-', '_')}")
            module.register(subparsers)
        else:
            subparsers.add_parser(command, help=help_text)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except PrismError as exc:
        print(f"prism {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run as `python -m prism_mmm.cli` this module is __main__; use the imported copy so the
    # PrismError the commands raise is the class main() catches.
    from prism_mmm.cli import main as package_main

    sys.exit(package_main())
