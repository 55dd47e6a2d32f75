"""Values made to fit a column, and ``IN (...)`` lists made to fit a server.

A malformed value from the wiki (a 300-character user name, a NaN duration)
must never make a write fail, so strings are cut to their column's declared
length and non-finite numbers become NULL.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TypeVar

from sqlalchemy.orm import InstrumentedAttribute

__all__ = ["CHUNK", "MESSAGE_MAX", "chunks", "fit", "finite"]

T = TypeVar("T")

CHUNK = 400          # rows per IN (...) list: well under every server's parameter limit
MESSAGE_MAX = 4000   # error messages are for humans; a traceback's first 4000 characters will do


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def fit(column: InstrumentedAttribute, value: str | None) -> str | None:
    """``value`` cut to ``column``'s declared length (a strict server would reject the
    row, a lax one truncate silently); None stays None.

    :param column: a ``String(n)`` column of :mod:`storage.schema`, e.g. ``FileVersion.mime``
    """
    if value is None:
        return None
    return value[:column.type.length]


def finite(value) -> float | None:
    """A float, or None for missing and non-finite values (JSON and the servers refuse NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
