"""One ``run`` at a time per data directory (cron may start the next pass before the last ends),
and the journal of the leases the lock holder claimed."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["RunLock", "LockHeld", "LeaseJournal"]

log = logging.getLogger(__name__)


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
        #: claimed leases of the lock holder (see :class:`LeaseJournal`)
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


class LeaseJournal:
    """The version ids a locked process has claimed, so that its successor can give them back.

    Leases of a killed worker come back by themselves when they expire; but a
    ``run`` holds the run lock, so when the next ``run`` gets the lock the
    previous one is certainly dead and its leases can be released at once
    (nothing waits ``lease_seconds``). One JSON line per claimed batch.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def record(self, worker: str, model_id: str, version_ids) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps({"worker": worker, "model": model_id, "ids": list(version_ids)}) + "\n")
            f.flush()  # SIGKILL keeps what the OS has; a power cut only makes us wait for the lease

    def recover(self, store) -> int:
        """Release what a dead predecessor claimed; returns how many leases were given back."""
        if not self.path.exists():
            return 0
        released = 0
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by the kill
            released += store.release(entry["ids"], entry["model"], worker=entry["worker"])
        self.clear()
        if released:
            log.info("released %d leases of a previous, interrupted run", released)
        return released

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
