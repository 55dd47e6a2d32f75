"""Storage tests run on SQLite, PostgreSQL and MariaDB alike (``db_url`` is parametrized)."""
from __future__ import annotations

import pytest

import storage
from tests.dbs import (db_url, mariadb_server, migrated_db_url,  # noqa: F401 - fixtures
                       postgres_server, shared_databases)


@pytest.fixture
def store(migrated_db_url):  # noqa: F811 - the imported fixture
    """A store on each backend, with no rows (tests needing an empty schema use db_url)."""
    with storage.open_store(migrated_db_url) as opened:
        yield opened
