"""Deadlocks and serialization failures are retried, on the real servers (issue 13).

Two transactions lock two cursor rows in opposite orders, with a barrier
between their first and second lock, so the server must pick a deadlock victim.
The victim's whole transaction runs again; both finish.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

import storage
from storage import StorageError

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["postgresql", "mariadb"])
def server_url(request):
    url = request.getfixturevalue("postgres_server" if request.param == "postgresql"
                                  else "mariadb_server").create_database()
    storage.upgrade(url)
    with storage.open_store(url) as opened:
        opened.set_cursor("a", {"n": 0})
        opened.set_cursor("b", {"n": 0})
    return url


def _locker(store, first: str, second: str, barrier: threading.Barrier, attempts: list):
    def work(session):
        attempts.append(first)
        lock = "SELECT name FROM cursors WHERE name = :n FOR UPDATE"
        session.execute(text(lock), {"n": first})
        if attempts.count(first) == 1:  # only the first attempt waits for the other one
            barrier.wait(timeout=30)
        session.execute(text(lock), {"n": second})
        session.execute(text("UPDATE cursors SET updated_at = updated_at WHERE name = :n"), {"n": second})
        return first

    return lambda: store._run(work)  # noqa: SLF001 - the transaction wrapper is what is tested


def race(url: str) -> tuple[list[str], list[BaseException]]:
    """Two stores lock the two cursors in opposite orders; returns (attempts, errors raised)."""
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    errors: list[BaseException] = []
    with storage.open_store(url) as one, storage.open_store(url) as two:
        jobs = [_locker(one, "a", "b", barrier, attempts), _locker(two, "b", "a", barrier, attempts)]

        def run(job):
            try:
                job()
            except BaseException as e:  # noqa: BLE001 - the caller checks them
                errors.append(e)

        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    return attempts, errors


def test_a_deadlock_victim_runs_again_and_both_finish(server_url):
    attempts, errors = race(server_url)
    assert not errors, errors
    assert len(attempts) == 3, attempts  # one of the two ran twice: the server's deadlock victim


def test_a_conflict_that_never_ends_is_a_storage_error(server_url, monkeypatch):
    """Past the retries, the operator gets the database error (exit 4), never a traceback."""
    import storage.store as store_module

    monkeypatch.setattr(store_module, "_RETRIES", 1)
    _, errors = race(server_url)
    assert len(errors) == 1 and isinstance(errors[0], StorageError), errors
    assert "deadlock" in str(errors[0]) or "conflict" in str(errors[0])
