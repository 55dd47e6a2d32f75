"""Engines for the three supported databases, and errors an operator can act on.

SQLite is opened in WAL mode with a busy timeout, and every writing
transaction starts with ``BEGIN IMMEDIATE`` so two writers queue on the
database lock instead of one failing half-way with "database is locked".
"""
from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from .errors import EX_DATAERR, StorageError

__all__ = ["SQLITE_FILENAME", "default_url", "make_engine", "describe", "storage_errors",
           "insert_ignoring", "is_transaction_conflict"]

SQLITE_FILENAME = "bot.sqlite3"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{Path(data_dir) / SQLITE_FILENAME}"


def describe(url: str | URL) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def make_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """An engine for ``url`` with the settings the store relies on.

    :param busy_timeout: seconds a SQLite writer waits for the lock (also the
        server-side lock wait on MariaDB/PostgreSQL, so a stuck peer gives an error, not a hang)
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"invalid database URL {url!r}: {exc}", exit_status=EX_DATAERR) from None
    backend = parsed.get_backend_name()
    kwargs: dict = {}
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StorageError("an in-memory SQLite database would forget everything; give a file",
                               exit_status=EX_DATAERR)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": busy_timeout}
    elif backend == "postgresql":
        kwargs["connect_args"] = {
            "connect_timeout": 10,
            # a peer holding a row we wait for must not hang us forever
            "options": f"-c lock_timeout={int(busy_timeout * 1000)}",
        }
        kwargs["pool_pre_ping"] = True
    elif backend in ("mysql", "mariadb"):
        wait = max(1, int(busy_timeout))
        kwargs["connect_args"] = {"connect_timeout": 10, "charset": "utf8mb4",
                                  "init_command": f"SET innodb_lock_wait_timeout={wait}"}
        # ToolsDB closes idle connections: recycle before it does
        kwargs["pool_pre_ping"] = True
        # REPEATABLE READ's gap locks would make concurrent claims and task inserts wait on
        # each other; every transaction here is short and reads what it locks
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["pool_recycle"] = 300
    else:
        raise StorageError(f"unsupported database {backend!r}: use sqlite, postgresql+psycopg or "
                           "mysql+pymysql", exit_status=EX_DATAERR)
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"no driver for {describe(parsed)}: {exc} "
                           "(install the 'postgres' or 'mariadb' extra)", exit_status=EX_DATAERR) from None
    if backend == "sqlite":
        _configure_sqlite(engine, busy_timeout)
    return engine


def insert_ignoring(dialect: str, table: Table, keys: list[str]):
    """INSERT that skips rows whose unique ``keys`` already exist."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    return mysql.insert(table).prefix_with("IGNORE")


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # take transaction control away from the sqlite3 module (see "begin")
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits, never corrupts
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("sqlite_immediate", True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def storage_errors(url: str | URL):
    """Turn driver errors about the database itself into :class:`StorageError`.

    Programming errors (a bad query, a constraint we did not expect) pass
    through unchanged: they are bugs, not operating conditions.
    """
    try:
        yield
    except StorageError:
        raise
    except DBAPIError as exc:
        error = _classify(exc, describe(url))
        if error is None:
            raise
        raise error from exc
    except sqlite3.DatabaseError as exc:  # raised outside SQLAlchemy's wrapping (e.g. on connect)
        raise StorageError(f"database {describe(url)} is corrupt or not a SQLite file: {exc}",
                           exit_status=EX_DATAERR) from exc


#: SQLSTATE 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL, appendix A)
_PG_CONFLICTS = ("40P01", "40001")
#: ER_LOCK_DEADLOCK, ER_CHECKREAD (record changed since last read) (MariaDB error codes)
_MARIADB_CONFLICTS = (1213, 1020)


def is_transaction_conflict(exc: DBAPIError) -> bool:
    """The server rolled this transaction back to break a deadlock or keep it serializable:
    running the same transaction again is the documented remedy."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_CONFLICTS:
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in _MARIADB_CONFLICTS


def _classify(exc: DBAPIError, where: str) -> StorageError | None:
    if is_transaction_conflict(exc):  # checked first: a deadlock's text says "blocked by process"
        return StorageError(f"database {where}: a transaction kept conflicting with another worker's "
                            f"(deadlock or serialization failure, retried): {exc.orig}".splitlines()[0])
    text = str(exc.orig) if exc.orig is not None else str(exc)
    low = text.lower()
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__
    if "locked" in low or "lock wait timeout" in low or "lock timeout" in low or "busy" in low:
        return StorageError(f"database {where} is locked by another process "
                            f"(waited the busy timeout): {first_line}")
    if ("not a database" in low or "malformed" in low or "corrupt" in low
            or "file is encrypted" in low):
        return StorageError(f"database {where} is corrupt or not a database: {first_line}",
                            exit_status=EX_DATAERR)
    if exc.connection_invalidated or any(
            word in low for word in ("connect", "connection", "server", "refused", "timeout",
                                     "unable to open", "readonly", "read-only", "disk i/o",
                                     "no such file", "unknown database", "access denied",
                                     "authentication")) or (
            "database" in low and "does not exist" in low):
        return StorageError(f"database {where} is unavailable: {first_line}")
    return None
