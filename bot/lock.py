"""One ``run`` at a time per data directory: cron may start the next pass before the last ends."""
from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["RunLock", "LockHeld"]


class LockHeld(RuntimeError):
    """Another process holds the run lock."""


class RunLock:
    """An exclusive, non-blocking lock on ``data_dir/run.lock`` (released by the OS if the holder dies,
    so a SIGKILLed run never blocks the next one).

    Several workers sharing one PostgreSQL/MariaDB database each use their own
    data directory: the database's leases, not this lock, split the work.
    """

    def __init__(self, data_dir: str | os.PathLike, name: str = "run.lock") -> None:
        self.path = Path(data_dir) / name
        self._lock = FileLock(str(self.path), timeout=0)
        #: claimed leases of the lock holder (see :class:`bot.pipeline.LeaseJournal`)
        self.journal_path = self.path.with_name(self.path.name + ".leases")

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout as e:
            raise LockHeld(f"another run holds {self.path}") from e
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()
