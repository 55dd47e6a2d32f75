"""A database that is down, locked or corrupt: a clear StorageError, an exit status, no partial writes."""
from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys

import pytest

import storage
from storage import StorageError
from storage.errors import EX_DATAERR, EX_TEMPFAIL

from .workload import version


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_sqlite_default_is_one_wal_file_in_the_data_dir(tmp_path):
    store = storage.open_store(data_dir=tmp_path / "data")
    store.add_file_versions([version(1)])
    assert (tmp_path / "data" / "bot.sqlite3").is_file()
    with store.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    store.close()


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:{port}/nsfwbot",
    "mysql+pymysql://root:secret@127.0.0.1:{port}/nsfwbot",
])
def test_database_down(url):
    with pytest.raises(StorageError) as caught:
        storage.open_store(url.format(port=closed_port()))
    assert "unavailable" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert caught.value.exit_status == EX_TEMPFAIL


def test_missing_directory_permissions_or_bad_url(tmp_path):
    with pytest.raises(StorageError, match="invalid database URL"):
        storage.open_store("not a url")
    with pytest.raises(StorageError, match="in-memory"):
        storage.open_store("sqlite://")
    with pytest.raises(StorageError, match="unsupported"):
        storage.open_store("oracle://x@y/z")
    with pytest.raises(StorageError, match="data directory"):
        storage.open_store()


def test_locked_sqlite_gives_an_error_and_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    storage.open_store(url).close()
    holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    store = storage.open_store(url, busy_timeout=0.3, migrate=False)
    with pytest.raises(StorageError) as caught:
        store.add_file_versions([version(1)], cursor=("uploadlog", {"logid": 1}))
    assert "locked" in str(caught.value) and caught.value.exit_status == EX_TEMPFAIL
    holder.execute("ROLLBACK")
    holder.close()
    assert store.get_cursor("uploadlog") is None
    assert store.status().versions == 0
    store.close()


def test_corrupt_sqlite_file(tmp_path):
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not a database, it is a text file " * 200)
    with pytest.raises(StorageError) as caught:
        storage.open_store(f"sqlite:///{path}")
    assert "corrupt" in str(caught.value) and caught.value.exit_status == EX_DATAERR


def test_sqlite_damaged_after_writes(tmp_path):
    path = tmp_path / "bot.sqlite3"
    store = storage.open_store(f"sqlite:///{path}")
    store.add_file_versions([version(p) for p in range(600)])
    store.close()
    with sqlite3.connect(path) as connection:  # fold the WAL into the main file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    data[8192:len(data) - 4096] = b"\xa5" * (len(data) - 4096 - 8192)  # trash the pages
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError) as caught:
        reopened = storage.open_store(f"sqlite:///{path}")
        reopened.status()
    assert "corrupt" in str(caught.value)


def test_bot_style_exit_status(tmp_path):
    """What a command does with the error: one line on stderr and the exit status."""
    code = ("import sys, storage\n"
            "try:\n    storage.open_store(sys.argv[1])\n"
            "except storage.StorageError as e:\n    print(e, file=sys.stderr); sys.exit(e.exit_status)\n")
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    done = subprocess.run([sys.executable, "-c", code, f"sqlite:///{path}"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == EX_DATAERR
    assert "corrupt" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.postgres
@pytest.mark.slow
def test_server_going_down_mid_run_and_coming_back():
    from tests.dbs import start_throwaway_postgres

    try:
        server = start_throwaway_postgres()
    except Exception as exc:  # noqa: BLE001 - a failure, with the reason, never a skip
        pytest.fail(f"could not start a throwaway PostgreSQL (initdb/pg_ctl): {exc}", pytrace=False)
    try:
        url = server.create_database()
        # a crash of the server (immediate stop) must not lose what was committed
        server._admin(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET synchronous_commit = on")
        store = storage.open_store(url, busy_timeout=5)
        store.add_file_versions([version(1)], cursor=("uploadlog", {"logid": 1}))
        subprocess.run(server.stop_command, check=True, capture_output=True, timeout=60)
        with pytest.raises(StorageError) as caught:
            store.add_file_versions([version(2)], cursor=("uploadlog", {"logid": 2}))
        assert "unavailable" in str(caught.value) and caught.value.exit_status == EX_TEMPFAIL
        subprocess.run(server.start_command, check=True, capture_output=True, timeout=60)
        # the same store reconnects by itself; the failed write left nothing behind
        assert store.get_cursor("uploadlog") == {"logid": 1}
        assert store.status().versions == 1
        store.add_file_versions([version(2)], cursor=("uploadlog", {"logid": 2}))
        assert store.status().versions == 2
        store.close()
    finally:
        server.stop()


def test_a_write_transaction_takes_sqlites_write_lock_when_it_begins(tmp_path):
    """Writes begin IMMEDIATE on SQLite: a transaction that reads before it writes cannot be
    refused its write lock halfway (SQLITE_BUSY without waiting); reads take no write lock.
    Store._run is the one transaction primitive every Store method goes through."""
    import threading

    from sqlalchemy import text

    path = tmp_path / "bot.sqlite3"
    store = storage.open_store(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        for write, locked in ((True, True), (False, False)):
            inside, leave = threading.Event(), threading.Event()

            def work(session):
                session.execute(text("SELECT 1"))   # a read first, as most writes begin
                inside.set()
                assert leave.wait(60)

            # a write is the default: every Store method that changes rows passes nothing
            worker = threading.Thread(target=store._run, args=(work,), kwargs={} if write else {"write": False})
            worker.start()
            try:
                assert inside.wait(60)
                if locked:
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        other.execute("BEGIN IMMEDIATE")
                else:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("ROLLBACK")
            finally:
                leave.set()
                worker.join(60)
    finally:
        other.close()
        store.close()
