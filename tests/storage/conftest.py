"""Storage tests run on SQLite, PostgreSQL and MariaDB alike (``db_url`` is parametrized)."""
from __future__ import annotations

import pytest

import storage
from tests.dbs import db_url, mariadb_server, postgres_server  # noqa: F401 - fixtures


@pytest.fixture
def store(db_url):  # noqa: F811 - the imported fixture
    with storage.open_store(db_url) as opened:
        yield opened
