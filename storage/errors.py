"""The one exception callers of :mod:`storage` need to handle."""
from __future__ import annotations

__all__ = ["StorageError"]

#: exit statuses from BSD's sysexits.h, so cron mails and systemd can tell
#: "try again later" (down, locked) from "a human must look" (corrupt).
EX_TEMPFAIL = 75
EX_DATAERR = 65


class StorageError(RuntimeError):
    """The database cannot be used: down, locked, corrupt or misconfigured.

    The message is meant for an operator (it names the database, never a
    password) and ``exit_status`` is what a command should exit with.
    Nothing was written by the operation that raised it.
    """

    def __init__(self, message: str, *, exit_status: int = EX_TEMPFAIL) -> None:
        super().__init__(message)
        self.exit_status = exit_status
