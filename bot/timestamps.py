"""MediaWiki timestamps (ISO 8601 strings such as ``2026-11-29T16:32:00Z``, pywikibot
``Timestamp`` objects, naive or aware datetimes) as aware UTC datetimes: the one form
cursors, logs and storage compare."""
from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["as_utc"]


def as_utc(ts: str | datetime) -> datetime:
    """``ts`` as an aware UTC datetime; a naive one is taken to be UTC (MediaWiki's are).

    :raises ValueError: a string that is not ISO 8601
    """
    if not isinstance(ts, datetime):
        ts = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)
