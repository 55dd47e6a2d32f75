"""Storage throughput: scores with frames on SQLite, and 1..N workers sharing PostgreSQL.

    .venv/bin/python benchmarks/bench_storage.py                    # both parts
    .venv/bin/python benchmarks/bench_storage.py --skip-postgres --scores 100000
    .venv/bin/python benchmarks/bench_storage.py --skip-sqlite --pg-items 20000 --workers 1,2,3,4

SQLite part: ingest N versions, then store N scores (8 frames each) through
``Store.record_scores`` in batches, against a peer measured in the same run:
the same rows written with the bare ``sqlite3`` module (``executemany`` into an
equivalent table, same pragmas), i.e. the floor any ORM-level code sits on.
It also times ``record_score`` one at a time on a sample, to show why the
batch API exists.

PostgreSQL part: a fresh database per worker count; each of k worker processes
loops claim(limit) -> build scores -> record_scores until nothing is pending.
Prints items/s and the speed-up over one worker. Work per item is only the
storage round trips (no model), so this is the storage ceiling of a fleet.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import storage  # noqa: E402
from storage import FileVersionIn, ScoreIn  # noqa: E402

MODEL = "bench-model@000000000000"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
FRAMES = 8


def version(page_id: int) -> FileVersionIn:
    return FileVersionIn(page_id=page_id, title=f"File:Bench {page_id}.webm", sha1=f"{page_id:040x}",
                         mime="video/webm", media_type="VIDEO", size=10_000 + page_id, width=1280,
                         height=720, duration=30.0, uploader="Bench",
                         uploaded_at=EPOCH + timedelta(seconds=page_id),
                         url=f"https://upload.example/{page_id}.webm",
                         thumb_url=f"https://upload.example/thumb/{page_id}.jpg",
                         categories=("Bench",), source="uploadlog", log_id=page_id)


def score(version_id: int) -> ScoreIn:
    frames = [(i * 25, i * 1.0, ((version_id * 7 + i) % 100) / 100) for i in range(FRAMES)]
    best = max(frames, key=lambda f: f[2])
    return ScoreIn(flagged=best[2] >= 0.8, score=best[2], media_type="video", frames=frames,
                   flagged_share=0.25, evidence_index=best[0], evidence_time=best[1],
                   timings={"download": 0.2, "decode": 0.05, "infer": 0.03})


# --- SQLite -----------------------------------------------------------------


def bench_sqlite(n: int, batch: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        store = storage.open_store(data_dir=Path(tmp))
        t0 = time.perf_counter()
        ids: list[int] = []
        for start in range(0, n, batch):
            ids += store.add_file_versions([version(p) for p in range(start, min(n, start + batch))],
                                           cursor=("bench", {"next": start + batch}))
        ingest = time.perf_counter() - t0

        t0 = time.perf_counter()
        for start in range(0, n, batch):
            store.record_scores([(i, MODEL, score(i)) for i in ids[start:start + batch]])
        stored = time.perf_counter() - t0

        sample = min(2000, n)
        (Path(tmp) / "one").mkdir()
        single = storage.open_store(data_dir=Path(tmp) / "one")
        single_ids = single.add_file_versions([version(p) for p in range(sample)])
        t0 = time.perf_counter()
        for i in single_ids:
            single.record_score(i, MODEL, score(i))
        one_by_one = time.perf_counter() - t0
        single.close()

        peer = _sqlite_peer(Path(tmp) / "peer.sqlite3", ids, batch)
        report = store.status(MODEL)
        assert report.scored == n, report.scored
        store.close()
    print(f"SQLite: {n} versions ingested in {ingest:.1f} s ({n / ingest:,.0f} versions/s, "
          f"batches of {batch} with the cursor)")
    print(f"SQLite: {n} scores x {FRAMES} frames stored in {stored:.1f} s "
          f"({n / stored:,.0f} scores/s; goal >= 5,000)")
    print(f"  peer, bare sqlite3 executemany of the same rows: {peer:.1f} s ({n / peer:,.0f} rows/s); "
          f"Store/peer time ratio {stored / peer:.2f}")
    print(f"  record_score one at a time ({sample} scores): {sample / one_by_one:,.0f} scores/s; "
          f"batch speed-up x{(n / stored) / (sample / one_by_one):.1f}")


def _sqlite_peer(path: Path, ids: list[int], batch: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE scores (id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL, "
               "model_id VARCHAR(190) NOT NULL, flagged BOOLEAN, score FLOAT, media_type VARCHAR(32), "
               "frames JSON, flagged_share FLOAT, evidence_index INTEGER, evidence_time FLOAT, "
               "error_kind VARCHAR(64), error_message TEXT, partial BOOLEAN NOT NULL, timings JSON, "
               "scored_at DATETIME NOT NULL, worker VARCHAR(190), UNIQUE (version_id, model_id))")
    t0 = time.perf_counter()
    for start in range(0, len(ids), batch):
        now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ")
        rows = []
        for i in ids[start:start + batch]:
            s = score(i)
            rows.append((i, MODEL, s.flagged, s.score, s.media_type, json.dumps(
                [list(f) for f in s.frames]), s.flagged_share, s.evidence_index, s.evidence_time,
                None, None, False, json.dumps(s.timings), now, None))
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO scores (version_id, model_id, flagged, score, media_type, frames, "
                       "flagged_share, evidence_index, evidence_time, error_kind, error_message, "
                       "partial, timings, scored_at, worker) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                       "ON CONFLICT (version_id, model_id) DO NOTHING", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


# --- PostgreSQL -------------------------------------------------------------


def _worker(url: str, name: str, limit: int, start_at: float, result) -> None:
    store = storage.open_store(url, migrate=False)
    while time.time() < start_at:  # all workers start together, after their imports
        time.sleep(0.005)
    done = 0
    while True:
        claimed = store.claim(MODEL, worker=name, limit=limit, lease_seconds=120)
        if not claimed:
            if store.pending_count(MODEL) == 0:
                break
            time.sleep(0.05)
            continue
        done += sum(store.record_scores([(p.version_id, MODEL, score(p.version_id))
                                         for p in claimed], worker=name))
    result.put((name, done, time.time()))
    store.close()


def bench_postgres(admin: str, items: int, workers: list[int], limit: int) -> None:
    base = None
    for k in workers:
        name = f"bench_storage_{os.getpid()}_{secrets.token_hex(3)}"
        admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}"))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        try:
            store = storage.open_store(url)
            for start in range(0, items, 1000):
                store.add_file_versions([version(p) for p in range(start, min(items, start + 1000))])
            store.close()
            ctx = multiprocessing.get_context("fork")
            result = ctx.Queue()
            start_at = time.time() + 2.0
            procs = [ctx.Process(target=_worker, args=(url, f"w{i}", limit, start_at, result))
                     for i in range(k)]
            for p in procs:
                p.start()
            finished = [result.get(timeout=900) for _ in procs]
            for p in procs:
                p.join()
            elapsed = max(t for _, _, t in finished) - start_at
            total = sum(n for _, n, _ in finished)
            assert total == items, (total, items)
            rate = items / elapsed
            base = base or rate
            split = ", ".join(str(n) for _, n, _ in sorted(finished))
            print(f"PostgreSQL: {k} worker(s), claim {limit} + store: {items} items in {elapsed:.1f} s "
                  f"= {rate:,.0f} items/s, x{rate / base:.2f} vs 1 worker (split {split})")
        finally:
            with admin_engine.connect() as c:
                c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pg-items", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,3,4")
    parser.add_argument("--claim-limit", type=int, default=100)
    parser.add_argument("--postgres-admin",
                        default=os.environ.get("NSFWBOT_TEST_POSTGRES_URL",
                                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    if not args.skip_sqlite:
        bench_sqlite(args.scores, args.batch)
    if not args.skip_postgres:
        bench_postgres(args.postgres_admin, args.pg_items,
                       [int(k) for k in args.workers.split(",")], args.claim_limit)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
