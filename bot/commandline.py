"""A subcommand declared as data: :class:`Command` and :func:`arg`.

``bot.cli`` turns a list of commands into argparse subparsers; command modules
(``bot.review.commands``, ``bot.learning``) declare their own ``COMMANDS``
with these two names and never import ``bot.cli``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Command", "arg"]


def arg(*flags: str, **kwargs) -> tuple[tuple[str, ...], dict]:
    """One ``add_argument`` call, declared as data: ``(flags, keyword arguments)``."""
    return flags, kwargs


@dataclass(frozen=True)
class Command:
    """A subcommand: ``function(settings=..., **arguments) -> exit code`` (keyword-only).

    :param arguments: :func:`arg` declarations of the command's own options
    :param wiki: the command talks to the wiki (pywikibot's global options are read first)
    """

    name: str
    function: Callable[..., int]
    help: str
    arguments: tuple = ()
    wiki: bool = False
