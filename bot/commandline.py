"""A bot subcommand declared as data: the one command style of the project, plus ``wiki``.

The generic pieces (:func:`arg`, the parser builder) live in
:mod:`classifiers.commandline`, so ``python -m bot`` and ``python -m classifiers``
declare and parse commands the same way. Command modules (``bot.review.commands``,
``bot.learning``) declare their own ``COMMANDS`` with these names and never
import ``bot.cli``.
"""
from __future__ import annotations

from dataclasses import dataclass

from classifiers.commandline import Command as _Command
from classifiers.commandline import arg

__all__ = ["Command", "arg"]


@dataclass(frozen=True)
class Command(_Command):
    """A subcommand: ``function(settings=..., **arguments) -> exit code`` (keyword-only).

    :param wiki: the command talks to the wiki (pywikibot's global options are read first)
    """

    wiki: bool = False
