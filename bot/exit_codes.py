"""Exit codes of ``python -m bot`` (for cron and systemd; see docs/operator.md).

====  ==============================================================
0     done
1     done, but some files failed (stored with the reason; retried later)
2     usage or configuration error
3     another run holds the lock (this one did nothing)
4     database unavailable (down, locked, too old), or the data directory read-only or full
5     wiki unavailable, account blocked, or the stop page is set
====  ==============================================================

A module of its own so that command modules (``bot.review.commands``,
``bot.learning``, ``bot.localwiki.demo``) can return them without importing
``bot.cli``, which imports them.
"""
from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_FAILURES", "EXIT_USAGE", "EXIT_LOCKED", "EXIT_DATABASE", "EXIT_WIKI", "EXIT_DISK",
           "summary_line", "DISK_ERRNOS", "disk_problem"]

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_DATABASE = 4
#: the data directory is read-only or full: like the database, "retry later, alert if it persists"
EXIT_DISK = 4
EXIT_WIKI = 5

#: longest summary line: one glance in a cron mail, details go on the lines below it
SUMMARY_WIDTH = 240


def summary_line(text: str) -> str:
    """``text`` as the one summary line every exit prints: UTC time first, first line only, bounded."""
    from datetime import datetime, timezone

    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    if len(first) > SUMMARY_WIDTH:
        first = first[:SUMMARY_WIDTH - 3] + "..."
    return f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {first}"


def _disk_errnos() -> frozenset[int]:
    import errno

    return frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM})


#: OSErrors that mean "the data directory cannot be written": read-only, full, over quota, not ours
DISK_ERRNOS = _disk_errnos()


def disk_problem(error: OSError) -> str:
    """``error`` as the operator reads it: the reason and the path."""
    import os

    reason = error.strerror or os.strerror(error.errno or 0)
    return f"{reason}: {error.filename}" if error.filename else reason
