"""Processes killed with SIGKILL and workers sharing one database: nothing lost, nothing twice."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import storage
from storage.schema import File, FileVersion, Score, ScoreTask

from .workload import MODEL

REPO = Path(__file__).resolve().parents[2]


def workload(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.storage.workload", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def counts(store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(model))
                for name, model in (("files", File), ("versions", FileVersion),
                                    ("scores", Score))}


def test_sigkill_mid_write_loses_and_duplicates_nothing(db_url):
    batches, size = 20, 25
    rng = random.Random(4)
    storage.open_store(db_url).close()  # migrate once, outside the killing
    kills = 0
    # two kills on SQLite, the embedded default; one on each server keeps the budget
    for _ in range(2 if db_url.startswith("sqlite") else 1):
        writer = workload("ingest", db_url, "--batches", str(batches), "--batch-size", str(size))
        # kill it inside its write loop: after the n-th batch (n from the seeded rng) says its
        # versions are committed (a blocking read), then within ~10 ms, one or two transactions
        # of the 17+ left (scores of batch n, versions and cursor of batch n+1): the kill lands
        # mid-run under any load, at a seeded, varying point of the loop
        for _ in range(rng.randint(1, 3)):
            line = writer.stdout.readline()
            while line and not line.startswith("ingested "):
                line = writer.stdout.readline()
        if not line:  # finished (or failed) before we could kill it
            break
        time.sleep(rng.uniform(0.0, 0.01))  # jitter of the kill point, not synchronisation
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
        kills += writer.returncode == -signal.SIGKILL
        with storage.open_store(db_url) as store:
            cursor = store.get_cursor("crash-test")
            found = counts(store)
            # versions and cursor are one transaction: exactly the batches the cursor names
            assert found["versions"] == found["files"] == (cursor["batch"] + 1) * size
            assert found["scores"] <= found["versions"]
    assert kills >= 1, "the writer was never killed mid-run: the test proved nothing"
    finisher = workload("ingest", db_url, "--batches", str(batches), "--batch-size", str(size))
    _, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err
    with storage.open_store(db_url) as store:
        assert counts(store) == {"files": batches * size, "versions": batches * size,
                                 "scores": batches * size}
        assert store.get_cursor("crash-test") == {"batch": batches - 1}
        assert store.status(MODEL).pending == 0
        if store.dialect == "sqlite":
            with store.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_kill_after_any_commit_leaves_versions_and_cursor_together(tmp_path):
    """The deterministic twin of the random kill above: the writer kills itself right after
    its n-th commit, for every n of its first two batches; versions never run ahead of or
    behind the cursor, and a rerun finishes the job (SQLite, the embedded default)."""
    batches, size = 3, 4
    killed_at = []
    for n in range(1, 9):
        url = f"sqlite:///{tmp_path}/kill-{n}.sqlite"
        storage.open_store(url).close()
        writer = workload("ingest", url, "--batches", str(batches), "--batch-size", str(size),
                          "--die-after-commits", str(n))
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == -signal.SIGKILL, err
        killed_at.append(n)
        with storage.open_store(url) as store:
            cursor = store.get_cursor("crash-test") or {"batch": -1}
            found = counts(store)
            assert found["versions"] == found["files"] == (cursor["batch"] + 1) * size, n
        finisher = workload("ingest", url, "--batches", str(batches), "--batch-size", str(size))
        _, err = finisher.communicate(timeout=120)
        assert finisher.returncode == 0, err
        with storage.open_store(url) as store:
            assert counts(store) == dict.fromkeys(("files", "versions", "scores"), batches * size)
    assert killed_at == list(range(1, 9))


@pytest.mark.slow
@pytest.mark.parametrize("db_url", [
    pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql"),
    pytest.param("mariadb", marks=pytest.mark.mariadb, id="mariadb"),
], indirect=True)
def test_four_workers_score_every_item_exactly_once(db_url, tmp_path):
    items, lease = 2000, 2.0
    with storage.open_store(db_url) as store:
        from .workload import version
        store.add_file_versions([version(p) for p in range(items)])
    # the victim claims a batch and hangs; it is killed holding the lease
    victim = workload("score", db_url, "--worker", "victim", "--out", str(tmp_path / "victim"),
                      "--lease", str(lease), "--hang-after-claim")
    line = victim.stdout.readline()
    assert line.startswith("claimed "), victim.communicate()[1]
    held = {int(i) for i in line.split()[1:]}
    workers = [workload("score", db_url, "--worker", f"w{n}", "--out", str(tmp_path / f"w{n}"),
                        "--lease", str(lease), "--limit", "50") for n in range(3)]
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err

    stored = [int(x) for n in range(3) for x in (tmp_path / f"w{n}").read_text().split()]
    assert len(stored) == len(set(stored)) == items  # every item stored once, by one worker
    assert held <= set(stored)  # the dead worker's items were taken over after its lease
    with storage.open_store(db_url) as store:
        assert counts(store)["scores"] == items
        assert store.status(MODEL).pending == 0
        with store.engine.connect() as connection:
            reclaimed = connection.scalar(select(func.count()).select_from(ScoreTask).where(
                ScoreTask.claims >= 2))
            assert reclaimed >= len(held)
            assert connection.scalar(select(func.count()).select_from(Score)
                                     .where(Score.worker == "victim")) == 0
