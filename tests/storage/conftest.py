"""Storage tests run on SQLite, PostgreSQL and MariaDB alike (``db_url`` is parametrized)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import storage
from tests.dbs import (db_url, mariadb_server, migrated_db_url,  # noqa: F401 - fixtures
                       postgres_server, shared_databases)


@pytest.fixture
def store(migrated_db_url):  # noqa: F811 - the imported fixture
    """A store on each backend, with no rows (tests needing an empty schema use db_url)."""
    with storage.open_store(migrated_db_url) as opened:
        yield opened


class Clock:
    """storage's ``utcnow``, frozen and moved by hand: leases and backoffs expire when the
    test says so, not when a loaded machine happens to get there."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    import storage.claims
    import storage.ingest
    import storage.review
    import storage.runs
    import storage.scoring

    fake = Clock()
    for module in (storage.claims, storage.ingest, storage.review, storage.runs, storage.scoring):
        monkeypatch.setattr(module, "utcnow", fake)
    return fake
