"""Exactly-once claims, seen as claims (not as stores).

Storing ignores duplicates, so "every item stored once" holds even when two
workers hold the same lease. Here each worker records what ``claim`` itself
returned: with row locking (``FOR UPDATE SKIP LOCKED``) the sets are disjoint;
without it, workers that start together take the same rows.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest

import storage

from .workload import MODEL, version

WORKERS, LIMIT, ITEMS = 8, 10, 400


@pytest.mark.parametrize("db_url", [
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    pytest.param("mariadb", marks=pytest.mark.mariadb, id="mariadb"),
], indirect=True)
def test_workers_claiming_together_get_disjoint_sets(db_url):
    with storage.open_store(db_url) as store:  # migrate once, before the workers
        store.add_file_versions([version(p) for p in range(ITEMS)])
    stores = [storage.open_store(db_url) for _ in range(WORKERS)]
    # every round starts all workers at once; enough rounds to drain the queue with room to spare
    rounds = ITEMS // (WORKERS * LIMIT) + 3
    barrier = threading.Barrier(WORKERS, timeout=120)
    claimed: list[list[int]] = [[] for _ in range(WORKERS)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(rounds):
                barrier.wait()
                got = stores[n].claim(MODEL, worker=f"w{n}", limit=LIMIT, lease_seconds=3600)
                assert len(got) <= LIMIT
                claimed[n].extend(p.version_id for p in got)
        except BaseException as e:  # noqa: BLE001 - reported below, and the barrier released
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        for s in stores:
            s.close()
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors

    every = Counter(v for ids in claimed for v in ids)
    twice = {v: n for v, n in every.items() if n > 1}
    assert not twice, f"{len(twice)} versions claimed by more than one worker"
    assert len(every) == ITEMS  # and between them they took every version
    assert sum(1 for ids in claimed if ids) >= 2  # the work really was split
    with storage.open_store(db_url) as store:
        assert store.claim(MODEL, worker="late", limit=LIMIT) == []  # all leased, none left over


@pytest.mark.parametrize("db_url", [
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    pytest.param("mariadb", marks=pytest.mark.mariadb, id="mariadb"),
], indirect=True)
def test_rows_another_worker_is_claiming_are_skipped_not_waited_for(db_url):
    """docs: "concurrent workers take different rows instead of queueing on the same ones"
    (``SKIP LOCKED``). Worker A's claim is left uncommitted, its rows locked; worker B must get
    the next rows at once. Without SKIP LOCKED, B waits on A's locks until the lock timeout
    (5 s, set here only so that the failure is an error, not a hang)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from storage.claims import add_tasks, claim_tasks

    with storage.open_store(db_url) as store:
        store.add_file_versions([version(p) for p in range(20)])
        engine = store.engine
        with Session(engine) as setup, setup.begin():
            assert add_tasks(setup, model_id=MODEL, limit=100) == 20
        with Session(engine) as a, Session(engine) as b:
            a.begin()
            held = claim_tasks(a, model_id=MODEL, worker="a", limit=5, lease_seconds=600, max_claims=10)
            b.begin()
            if engine.dialect.name == "postgresql":
                b.execute(text("SET LOCAL lock_timeout = '5s'"))
            else:
                b.execute(text("SET SESSION innodb_lock_wait_timeout = 5"))
            got = claim_tasks(b, model_id=MODEL, worker="b", limit=5, lease_seconds=600, max_claims=10)
            assert len(held) == len(got) == 5
            assert not {p.version_id for p in held} & {p.version_id for p in got}
            b.rollback()
            a.rollback()


@pytest.mark.parametrize("name, is_mariadb, version, expected", [
    ("postgresql", False, (9, 5), True),
    ("mysql", True, (10, 6, 0), True),      # MariaDB 10.6: "SKIP LOCKED" added (MariaDB KB, SELECT)
    ("mysql", True, (10, 5, 99), False),
    ("mariadb", True, (10, 6), True),       # SQLAlchemy's mariadb:// dialect name
    ("mysql", False, (8, 0, 1), True),      # MySQL 8.0.1: NOWAIT and SKIP LOCKED (MySQL 8.0 release notes)
    ("mysql", False, (8, 0, 0), False),
    ("mysql", False, None, False),          # version unknown: never assume it
    ("sqlite", False, (3, 45), False),
])
def test_skip_locked_only_where_the_server_has_it(name, is_mariadb, version, expected):
    """The version rule of :func:`storage.claims.supports_skip_locked`, for servers this test run
    does not have (MySQL, MariaDB < 10.6): a dialect as SQLAlchemy describes it."""
    from types import SimpleNamespace

    from storage.claims import supports_skip_locked

    dialect = SimpleNamespace(name=name, server_version_info=version, is_mariadb=is_mariadb)
    session = SimpleNamespace(get_bind=lambda: SimpleNamespace(dialect=dialect))
    assert supports_skip_locked(session) is expected
