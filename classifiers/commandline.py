"""Subcommands declared as data: one :class:`Command` per command, arguments as :func:`arg` calls.

    COMMANDS = [
        Command("score", score, "score files", arguments=(
            arg("paths", nargs="+", metavar="PATH"),
            arg("--threshold", type=float, default=0.8))),
    ]
    raise SystemExit(run_commands(COMMANDS, prog="python -m classifiers", description="..."))

A command's ``function`` is called with keyword-only arguments, one per
argument ``dest``, and returns an exit code. It imports what it needs inside
its body, so that building the parser (and choosing a light command) never
pays for another command's heavy imports (torch for ``train``).

A command-line program that needs more per command (``python -m bot`` marks
commands that talk to a wiki) subclasses :class:`Command` with its own fields.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["arg", "Command", "EXIT_OK", "EXIT_USAGE", "build_parser", "command_arguments", "run_commands"]

EXIT_OK, EXIT_USAGE = 0, 2

#: the parser attribute that carries the chosen :class:`Command`
_COMMAND = "_command"


def arg(*flags: str, **kwargs) -> tuple[tuple[str, ...], dict]:
    """One ``ArgumentParser.add_argument(*flags, **kwargs)`` call, declared as data."""
    return flags, kwargs


@dataclass(frozen=True)
class Command:
    """A subcommand: ``function(**arguments) -> exit code``, with keyword-only arguments.

    :param help: one line for the program's command list (and the description when none is given)
    :param arguments: :func:`arg` declarations, added in order to the command's parser
    :param description: longer text for ``COMMAND --help`` (shown as written)
    """

    name: str
    function: Callable[..., int]
    help: str
    arguments: tuple = ()
    description: str | None = None


def build_parser(commands: Sequence[Command], *, prog: str, description: str | None = None,
                 epilog: str | None = None, parents: Sequence[argparse.ArgumentParser] = ()
                 ) -> argparse.ArgumentParser:
    """A parser with one subparser per command; parsing sets ``_command`` to the chosen :class:`Command`.

    :param parents: parsers whose options every command also accepts (before or after its name)
    """
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog, parents=list(parents))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        p = sub.add_parser(command.name, help=command.help, description=command.description or command.help,
                           formatter_class=argparse.RawDescriptionHelpFormatter, parents=list(parents))
        for flags, kwargs in command.arguments:
            p.add_argument(*flags, **kwargs)
        p.set_defaults(**{_COMMAND: command})
    return parser


def command_arguments(args: argparse.Namespace, *, exclude: Sequence[str] = ()) -> dict:
    """The parsed values for the chosen command's function (without ``command`` and ``_command``)."""
    return {key: value for key, value in vars(args).items() if key not in ("command", _COMMAND, *exclude)}


def run_commands(commands: Sequence[Command], argv: Sequence[str] | None = None, *, prog: str,
                 description: str | None = None, epilog: str | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command.

    :returns: the command's exit code; 0 for ``--help``, 2 for a usage error, and 2 when the
        command needs a module that is not installed (that command alone is unavailable; the
        message names the extra that provides it, :mod:`classifiers.extras`)
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(commands, prog=prog, description=description, epilog=epilog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    command: Command = getattr(args, _COMMAND)
    try:
        return int(command.function(**command_arguments(args)) or EXIT_OK)
    except ModuleNotFoundError as e:
        from .extras import refusal

        # one line naming the extra to install, not a traceback
        print(f"{prog} {command.name}: {refusal(command.name, e)}", file=sys.stderr)
        return EXIT_USAGE
