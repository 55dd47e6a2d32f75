"""Where a log reader stopped: the durable cursor of the upload, deletion and suppression logs.

The API orders log entries by (timestamp, logid), and a row can become visible
late with an earlier timestamp. So a reader resumes ``overlap`` before the
newest entry it stored and skips, by log id, the entries it already read in
that window. Stored as ``{"timestamp", "logid", "seen": {logid: timestamp}}``;
it only ever moves forward. (commons.md: "a durable cursor is that pair, with a
small overlap window on resume and de-duplication by logid".)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .timestamps import as_utc

__all__ = ["LogCursor", "iso"]


def iso(ts: datetime) -> str:
    """``2026-11-29T16:32:00Z``: the form the API and pywikibot's ``Timestamp`` read."""
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LogCursor:
    """The newest ``(timestamp, logid)`` read and the log ids read within the overlap before it."""

    newest: tuple[datetime, int] | None = None
    seen: dict[int, datetime] = field(default_factory=dict)

    @classmethod
    def load(cls, value: dict | None) -> LogCursor:
        """From a stored cursor (None or ``{}``: nothing read yet)."""
        if not value:
            return cls()
        return cls(newest=(as_utc(value["timestamp"]), int(value.get("logid", 0))),
                   seen={int(i): as_utc(t) for i, t in value.get("seen", {}).items()})

    def start(self, *, overlap: timedelta, first: datetime) -> datetime:
        """Where to read from: ``overlap`` before the newest entry, or ``first`` the first time."""
        return first if self.newest is None else self.newest[0] - overlap

    def read(self, logid: int, ts: datetime) -> bool:
        """Note an entry; False when it was read before (inside the overlap window)."""
        if logid in self.seen:
            return False
        self.seen[logid] = ts
        if self.newest is None or (ts, logid) > self.newest:
            self.newest = (ts, logid)
        return True

    def state(self, *, overlap: timedelta) -> dict | None:
        """The value to store (log ids older than the window are dropped); None before any entry."""
        if self.newest is None:
            return None
        horizon = self.newest[0] - overlap
        self.seen = {i: t for i, t in self.seen.items() if t >= horizon}
        return {"timestamp": iso(self.newest[0]), "logid": self.newest[1],
                "seen": {str(i): iso(t) for i, t in sorted(self.seen.items())}}
