"""Keeping a long backfill's memory flat (glibc only; a no-op elsewhere).

Downloads, decoding and inference run in thread pools, and glibc gives every
thread that allocates its own malloc arena (up to 8 per core). Freed memory
stays in those arenas, so RSS creeps up over thousands of files although the
Python heap is flat. Two arenas and a ``malloc_trim`` after each scoring round
keep it flat (measured: docs/performance.md, "Bot end to end"), which also
matters for a 512 MiB Toolforge job.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

__all__ = ["limit_malloc_arenas", "release_free_memory"]

_M_ARENA_MAX = -8  # from glibc's malloc.h


@functools.cache  # find_library runs ldconfig: once per process, not once per scoring round
def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (call before threads start; ``MALLOC_ARENA_MAX`` in the
    environment wins). Returns True when it took effect."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _libc()
    return bool(libc and libc.mallopt(_M_ARENA_MAX, arenas) == 1)


def release_free_memory() -> None:
    """Give freed heap pages back to the OS."""
    libc = _libc()
    if libc:
        libc.malloc_trim(0)
