"""Processes the storage tests start, kill and restart: ``python -m tests.storage.workload ...``.

``ingest``: writes batches of versions (each with the cursor that says which
batch it was, in one transaction), then scores each batch, resuming from the
cursor; it is SIGKILLed at random moments by the crash test.
With ``--die-after-commits N`` it SIGKILLs itself right after its N-th committed transaction
(a deterministic kill point). ``score``: a scoring worker that claims, "scores" and stores until nothing is
pending, writing the version ids it stored first to a file; with
``--hang-after-claim`` it claims once and then hangs, to be killed mid-lease.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

import storage
from storage import FileVersionIn, ScoreIn

MODEL = "test-model@000000000000"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def version(page_id: int) -> FileVersionIn:
    return FileVersionIn(page_id=page_id, title=f"File:Test {page_id}.jpg", sha1=f"{page_id:040x}",
                         mime="image/jpeg", media_type="BITMAP", size=1000 + page_id,
                         width=640, height=480, uploader="Uploader",
                         uploaded_at=EPOCH + timedelta(seconds=page_id),
                         url=f"https://upload.example/{page_id}.jpg",
                         thumb_url=f"https://upload.example/thumb/{page_id}.jpg",
                         categories=("Test",), source="uploadlog", log_id=page_id)


def score_for(version_id: int) -> ScoreIn:
    frames = [(i, i * 0.5, ((version_id * 7 + i) % 100) / 100) for i in range(8)]
    best = max(frames, key=lambda f: f[2])
    return ScoreIn(flagged=best[2] >= 0.5, score=best[2], media_type="video", frames=frames,
                   flagged_share=0.5, evidence_index=best[0], evidence_time=best[1],
                   timings={"decode": 0.01, "infer": 0.02})


def die_after_commits(n: int) -> None:
    """SIGKILL this process right after the n-th transaction any session commits."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    commits = 0

    def after_commit(session) -> None:
        nonlocal commits
        commits += 1
        if commits == n:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, "after_commit", after_commit)


def ingest(url: str, batches: int, batch_size: int, *, die_after: int | None = None) -> None:
    store = storage.open_store(url)
    if die_after is not None:
        die_after_commits(die_after)
    cursor = store.get_cursor("crash-test") or {"batch": -1}
    # versions ingested before a crash but not yet scored are pending: score them first
    while leftover := store.claim(MODEL, worker=f"ingest-{os.getpid()}", limit=batch_size):
        store.record_scores([(p.version_id, MODEL, score_for(p.version_id)) for p in leftover])
    for batch in range(cursor["batch"] + 1, batches):
        first = batch * batch_size
        ids = store.add_file_versions([version(p) for p in range(first, first + batch_size)],
                                      cursor=("crash-test", {"batch": batch}))
        print(f"ingested {batch}", flush=True)
        store.record_scores([(i, MODEL, score_for(i)) for i in ids])
        print(f"scored {batch}", flush=True)
    store.close()


def score(url: str, worker: str, out: str, *, limit: int, lease: float, hang: bool) -> None:
    store = storage.open_store(url)
    with open(out, "a") as log:
        while True:
            claimed = store.claim(MODEL, worker=worker, limit=limit, lease_seconds=lease)
            if hang:
                if claimed:
                    print("claimed " + " ".join(str(p.version_id) for p in claimed), flush=True)
                    time.sleep(3600)
                time.sleep(0.05)
                continue
            if not claimed:
                if store.pending_count(MODEL) == 0:
                    break
                time.sleep(0.2)  # the rest is leased by others (or a dead worker): wait
                continue
            stored = store.record_scores(
                [(p.version_id, MODEL, score_for(p.version_id)) for p in claimed], worker=worker)
            log.writelines(f"{p.version_id}\n" for p, new in zip(claimed, stored) if new)
            log.flush()
    store.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("url")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--die-after-commits", type=int, default=None)
    p = sub.add_parser("score")
    p.add_argument("url")
    p.add_argument("--worker", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--lease", type=float, default=600)
    p.add_argument("--hang-after-claim", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "ingest":
        ingest(args.url, args.batches, args.batch_size, die_after=args.die_after_commits)
    else:
        score(args.url, args.worker, args.out, limit=args.limit, lease=args.lease,
              hang=args.hang_after_claim)


if __name__ == "__main__":
    sys.exit(main())
