"""``python -m classifiers COMMAND``: a registry of subcommands, each imported only when chosen.

A command module provides ``configure_parser(parser)`` and ``run(args) -> int``.
Importing only the chosen one keeps ``score`` free of what others need (torch
for ``train``), and a missing or broken module breaks only its own command.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "score": "classifiers.score_command",
    "evaluate": "classifiers.evaluate",
    "train": "classifiers.train",
}


def _installed(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ImportError:
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m classifiers",
                                     description="Score, evaluate and train NSFW image classifiers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, module_name in COMMANDS.items():
        if not _installed(module_name):
            continue
        sub = commands.add_parser(name, help=f"see: python -m classifiers {name} --help")
        if name == chosen:
            try:
                module = importlib.import_module(module_name)
            except ImportError as e:
                print(f"python -m classifiers {name}: unavailable ({e})", file=sys.stderr)
                return 2
            sub.description = (module.__doc__ or "").strip() or None
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
            module.configure_parser(sub)
            sub.set_defaults(run=module.run)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)
