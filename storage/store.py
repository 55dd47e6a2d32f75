"""The store: every write is one short transaction, idempotent, and retried on deadlock.

Callers pass and get plain records (:mod:`storage.records`). Each public
method is one transaction: it either happened completely or not at all, so a
crash between two calls loses nothing and a repeated call duplicates nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .engine import default_url, describe, is_transaction_conflict, make_engine, storage_errors
from .errors import StorageError
from .ingest import IngestMixin
from .migrate import current_revision, head_revision, upgrade_engine
from .review import ReviewMixin
from .runs import RunsMixin
from .scoring import ScoringMixin
from .signatures import SignaturesMixin

__all__ = ["Store", "open_store", "upgrade"]

T = TypeVar("T")

_RETRIES = 5


def open_store(url: str | None = None, *, data_dir: Path | None = None,
               busy_timeout: float = 30.0, migrate: bool = True) -> Store:
    """Open (and migrate) the bot's database.

    :param url: SQLAlchemy URL; None means SQLite at ``data_dir/bot.sqlite3``
    :param data_dir: the bot's data directory (needed when ``url`` is None)
    :param busy_timeout: seconds to wait for a lock held by another process
    :param migrate: apply pending Alembic migrations (the default); without it a
        database that is not at the newest revision is an error
    :raises StorageError: the database is down, locked, corrupt or too old
    """
    if url is None:
        if data_dir is None:
            raise StorageError("open_store needs a database URL or the bot's data directory")
        url = default_url(data_dir)
    store = Store(make_engine(url, busy_timeout=busy_timeout))
    try:
        if migrate:
            store.upgrade()
        else:
            store.check_revision()
    except BaseException:
        store.close()
        raise
    return store


def upgrade(url: str) -> str:
    """Migrate the database at ``url`` to the newest revision; returns that revision."""
    store = open_store(url)
    store.close()
    return head_revision()


class Store(IngestMixin, ScoringMixin, SignaturesMixin, ReviewMixin, RunsMixin):
    """The bot's memory. Thread-safe; one per process (each holds a connection pool).

    Its methods come by concern, one module each: :mod:`storage.ingest` (file
    versions, cursors), :mod:`storage.scoring` (claims, scores, failures), :mod:`storage.signatures` (match signatures, matches),
    :mod:`storage.review` (review entries, verdicts, labelled versions) and
    :mod:`storage.runs` (runs, status). This class opens and closes the
    database and runs each method's work as one transaction (:meth:`_run`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = describe(engine.url)
        self.dialect = engine.dialect.name

    # --- lifecycle --------------------------------------------------------

    def upgrade(self) -> None:
        """Apply pending migrations (several processes may call this at once)."""
        with storage_errors(self.url):
            upgrade_engine(self.engine)

    def check_revision(self) -> None:
        current = self.revision()
        if current != head_revision():
            raise StorageError(f"database {self.url} is at revision {current}, the code needs "
                               f"{head_revision()}: run `python -m bot db upgrade`")

    def revision(self) -> str | None:
        with storage_errors(self.url), self._reader() as connection:
            return current_revision(connection)

    def _reader(self):
        return self.engine.connect().execution_options(sqlite_immediate=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work`` in one transaction; retry it whole when the server chose it as a
        deadlock victim or failed its serialization (:func:`~storage.engine.is_transaction_conflict`).

        :raises StorageError: the database is unavailable, or the conflict outlived the retries
        """
        with storage_errors(self.url):  # classifies only what the retries did not absorb
            for attempt in range(_RETRIES):
                try:
                    with self.engine.connect() as connection:
                        if self.dialect == "sqlite":
                            connection = connection.execution_options(sqlite_immediate=write)
                        with Session(bind=connection, expire_on_commit=False) as session:
                            with session.begin():
                                return work(session)
                except DBAPIError as exc:
                    if attempt + 1 < _RETRIES and is_transaction_conflict(exc):
                        time.sleep(0.05 * 2 ** attempt)
                        continue
                    raise
        raise AssertionError("unreachable")
