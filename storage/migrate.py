"""Alembic, driven from code: the migrations ship inside the package.

``upgrade(engine)`` brings any database to the newest revision; it is what
:func:`storage.open_store` and ``python -m bot db upgrade`` run. Several
workers starting at once are serialised by a database lock, so only one of
them migrates.

Developers add a revision after changing :mod:`storage.schema` with::

    python -m storage.migrate revision -m "what changed" [--url sqlite:///tmp/dev.sqlite3]
"""
from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from .errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["MIGRATIONS_DIR", "HEAD_REVISION", "alembic_config", "head_revision",
           "current_revision", "upgrade_engine"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: the newest revision in migrations/versions (a test checks it against Alembic's own
#: view): known without importing Alembic, so an up-to-date database opens fast
HEAD_REVISION = "0005"
_LOCK_NAME = "commons_nsfw_bot_migrate"
_LOCK_KEY = 7_361_029_114  # any constant: the PostgreSQL advisory lock of this schema


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return HEAD_REVISION


def current_revision(connection: Connection) -> str | None:
    """The database's revision (None: empty database), read with plain SQL."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``, one process at a time.

    SQLite can answer "database is locked" at once, without waiting its busy
    timeout, when processes race on a new file (SQLITE_BUSY is returned instead of
    waiting where waiting could deadlock); trying the whole step again is SQLite's
    documented remedy, so a few quick retries come before the error.
    """
    for attempt in range(5):
        try:
            return _upgrade_once(engine, revision)
        except OperationalError as exc:
            if engine.dialect.name != "sqlite" or "locked" not in str(exc).lower() or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def _upgrade_once(engine: Engine, revision: str) -> None:
    if revision == "head":
        # the common case, without taking any lock: already migrated
        with engine.connect().execution_options(sqlite_immediate=False) as connection:
            if current_revision(connection) == head_revision():
                return
    with engine.connect() as connection, _migration_lock(connection):
        if revision == "head" and current_revision(connection) == head_revision():
            connection.rollback()
            return
        from alembic import command

        command.upgrade(alembic_config(connection), revision)
        connection.commit()


@contextlib.contextmanager
def _migration_lock(connection: Connection):
    name = connection.dialect.name
    if name == "postgresql":
        # session-level: DDL commits inside alembic must not drop it
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            connection.commit()
    elif name in ("mysql", "mariadb"):
        got = connection.execute(text("SELECT GET_LOCK(:n, 120)"), {"n": _LOCK_NAME}).scalar()
        connection.commit()
        if got != 1:
            raise StorageError("another process has been migrating the database for 2 minutes")
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
            connection.commit()
    else:
        # SQLite: the engine begins every transaction with BEGIN IMMEDIATE, and
        # SQLite's DDL is transactional, so the migration holds the write lock
        yield


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m storage.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision from storage.schema")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--url", default="sqlite:////tmp/storage-autogenerate.sqlite3",
                     help="a scratch database at the current head")
    args = parser.parse_args()
    from alembic import command

    from .engine import make_engine
    engine = make_engine(args.url)
    upgrade_engine(engine)
    with engine.connect() as connection:
        command.revision(alembic_config(connection), message=args.message, autogenerate=True)


if __name__ == "__main__":
    _main()
