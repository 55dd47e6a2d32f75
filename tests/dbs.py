"""Database servers for tests: a fresh, uniquely named database per test, dropped afterwards.

Other test folders import the fixtures into their ``conftest.py``::

    from tests.dbs import (db_url, mariadb_server, migrated_db_url,  # noqa: F401
                           postgres_server, shared_databases)

``db_url`` is parametrized over SQLite, PostgreSQL and MariaDB and yields the
URL of an empty database of its own. ``migrated_db_url`` is cheaper: on each
server one database of this session's own, migrated once and emptied of rows
before every test (a fresh SQLite file each time). The servers come from
``NSFWBOT_TEST_POSTGRES_URL`` / ``NSFWBOT_TEST_MARIADB_URL`` (admin URLs;
defaults: the local servers on 127.0.0.1:5432 and :3306). When a server is
not reachable, a throwaway one is started from the installed binaries
(``initdb``/``pg_ctl``, ``mariadb-install-db``/``mariadbd``) in a temporary
directory; when that fails too, the tests needing it FAIL with the reason:
CI must never pass without having run them. Other helpers' tests use the same
servers concurrently, so nothing here touches a database it did not create.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["DatabaseServer", "postgres_server", "mariadb_server", "db_url", "migrated_db_url",
           "shared_databases", "BACKENDS", "start_throwaway_postgres"]

POSTGRES_ADMIN = os.environ.get("NSFWBOT_TEST_POSTGRES_URL",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN = os.environ.get("NSFWBOT_TEST_MARIADB_URL",
                               "mysql+pymysql://root@127.0.0.1:3306/mysql")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


@dataclass
class DatabaseServer:
    """A server we may create databases on, and the throwaway process behind it, if any."""

    kind: str  # "postgresql" | "mariadb"
    admin_url: str
    process_dir: Path | None = None
    stop_command: list[str] | None = None
    start_command: list[str] | None = None  # throwaway servers: start again after stop_command
    created: list[str] = field(default_factory=list)

    def create_database(self, prefix: str = "nsfwbot_test") -> str:
        """Create an empty database with a name nobody else uses; return its URL."""
        name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
        # the server's default collation on purpose (case-insensitive on MariaDB, like
        # ToolsDB): the migrations must choose what they need themselves
        self._admin(f"CREATE DATABASE {name}")
        self.created.append(name)
        if self.kind == "postgresql":
            # test data need not survive a power cut; commits stay atomic and ordered
            self._admin(f"ALTER DATABASE {name} SET synchronous_commit = off")
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        if name not in self.created:
            raise ValueError(f"{name} was not created by this test session")
        if self.kind == "postgresql":
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            self._admin(f"DROP DATABASE IF EXISTS {name}")
        self.created.remove(name)

    def stop(self) -> None:
        for name in list(self.created):
            try:
                self.drop_database(make_url(self.admin_url).set(database=name)
                                   .render_as_string(hide_password=False))
            except Exception:  # noqa: BLE001 - best effort at session end
                pass
        if self.stop_command:
            subprocess.run(self.stop_command, capture_output=True, timeout=60)
        if self.process_dir:
            shutil.rmtree(self.process_dir, ignore_errors=True)

    def _admin(self, sql: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()


def _reachable(url: str) -> str | None:
    """None when an admin connection works, else the reason."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "start our own"
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _unprivileged_user() -> str | None:
    """PostgreSQL and MariaDB refuse to run as root: pick a system user to run them as."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "mysql", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _as_user(user: str | None, command: list[str]) -> list[str]:
    if user is None:
        return command
    runuser = shutil.which("runuser") or shutil.which("sudo")
    if runuser is None:
        raise RuntimeError("running as root without runuser/sudo to drop privileges")
    return [runuser, "-u", user, "--", *command]


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (reason := _reachable(url)) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the throwaway server did not answer: {reason}")
        time.sleep(0.3)


def _start_postgres() -> DatabaseServer:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        raise RuntimeError("initdb/pg_ctl not on PATH (Debian: postgresql)")
    base = Path(tempfile.mkdtemp(prefix="nsfwbot-pg-"))
    user = _unprivileged_user()
    if user:
        shutil.chown(base, user)
    data, port = base / "data", _free_port()
    subprocess.run(_as_user(user, [initdb, "-D", str(data), "-U", "postgres", "--auth=trust",
                                   "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    start = _as_user(user, [pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
                            "start"])
    subprocess.run(start, check=True, capture_output=True, timeout=120)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    _wait_for(url, 30)
    return DatabaseServer("postgresql", url, process_dir=base, start_command=start,
                          stop_command=_as_user(user, [pg_ctl, "-D", str(data), "-m", "immediate",
                                                       "-w", "stop"]))


def _start_mariadb() -> DatabaseServer:
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = (shutil.which("mariadbd") or shutil.which("mysqld")
              or next((p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if Path(p).exists()),
                      None))
    if not (install and server):
        raise RuntimeError("mariadb-install-db/mariadbd not found (Debian: mariadb-server)")
    base = Path(tempfile.mkdtemp(prefix="nsfwbot-mariadb-"))
    user = "root" if os.geteuid() == 0 else None  # as root, mariadbd wants --user=root
    data, port, sock = base / "data", _free_port(), base / "mysqld.sock"
    subprocess.run([install, "--no-defaults", f"--datadir={data}",
                    "--auth-root-authentication-method=normal", "--skip-test-db",
                    *([f"--user={user}"] if user else [])],
                   check=True, capture_output=True, timeout=180)
    process = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={data}", f"--port={port}", f"--socket={sock}",
         "--bind-address=127.0.0.1", f"--pid-file={base / 'mysqld.pid'}",
         "--innodb-flush-log-at-trx-commit=2", *([f"--user={user}"] if user else [])],
        stdout=subprocess.DEVNULL, stderr=open(base / "log", "wb"))
    url = f"mysql+pymysql://root@127.0.0.1:{port}/mysql"
    try:
        _wait_for(url, 60)
    except RuntimeError:
        process.kill()
        raise
    return DatabaseServer("mariadb", url, process_dir=base, stop_command=["kill", str(process.pid)])


def start_throwaway_postgres() -> DatabaseServer:
    """A PostgreSQL server of the caller's own, to stop and start (``stop()`` removes it)."""
    return _start_postgres()


def _server(kind: str) -> DatabaseServer:
    admin, start = ((POSTGRES_ADMIN, _start_postgres) if kind == "postgresql"
                    else (MARIADB_ADMIN, _start_mariadb))
    reason = _reachable(admin)
    if reason is None:
        return DatabaseServer(kind, admin)
    try:
        return start()
    except Exception as exc:  # noqa: BLE001 - reported below, loudly
        pytest.fail(f"{kind} tests could NOT run: {make_url(admin).render_as_string()} is not "
                    f"reachable ({reason}) and starting a throwaway server failed: {exc}",
                    pytrace=False)


@pytest.fixture(scope="session")
def postgres_server():
    server = _server("postgresql")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server():
    server = _server("mariadb")
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """The URL of an empty database of this test's own, on each of the three backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    server = request.getfixturevalue(
        "postgres_server" if request.param == "postgresql" else "mariadb_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture(scope="session")
def shared_databases():
    """backend -> (URL, engine) of this session's migrated database on that server."""
    found: dict[str, tuple[str, object]] = {}
    yield found
    for _, engine in found.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def migrated_db_url(request, tmp_path, shared_databases):
    """The URL of a migrated database with no rows (ids are not reset), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    import storage
    from storage.schema import Base

    if request.param not in shared_databases:
        server = request.getfixturevalue(
            "postgres_server" if request.param == "postgresql" else "mariadb_server")
        url = server.create_database()
        storage.upgrade(url)
        shared_databases[request.param] = (url, create_engine(url))
    url, engine = shared_databases[request.param]
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    yield url
