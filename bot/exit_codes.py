"""Exit codes of ``python -m bot`` (for cron and systemd; see docs/operator.md).

====  ==============================================================
0     done
1     done, but some files failed (stored with the reason; retried later)
2     usage or configuration error
3     another run holds the lock (this one did nothing)
4     database unavailable (down, locked, too old)
5     wiki unavailable, account blocked, or the stop page is set
====  ==============================================================

A module of its own so that command modules (``bot.review.commands``,
``bot.learning``, ``bot.localwiki.demo``) can return them without importing
``bot.cli``, which imports them.
"""
from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_FAILURES", "EXIT_USAGE", "EXIT_LOCKED", "EXIT_DATABASE", "EXIT_WIKI"]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_DATABASE = 4
EXIT_WIKI = 5
