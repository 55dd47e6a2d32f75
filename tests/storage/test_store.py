"""The Store API on each backend: ingest, cursors, claims, scores, failures, review, verdicts, status."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from storage import FileVersionIn, ScoreIn, VerdictIn
from storage.schema import File, FileVersion, Score

from .workload import MODEL, score_for, version

PAGE = "User:NSFW bot/Review"
NOW = datetime.now(timezone.utc)


def count(store, model) -> int:
    with store.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_ingest_is_idempotent_and_moves_the_cursor(store):
    versions = [version(p) for p in range(10)]
    ids = store.add_file_versions(versions, cursor=("uploadlog", {"timestamp": "t1", "logid": 9}))
    again = store.add_file_versions(versions, cursor=("uploadlog", {"timestamp": "t1", "logid": 9}))
    assert ids == again and len(set(ids)) == 10
    assert count(store, File) == 10 and count(store, FileVersion) == 10
    assert store.get_cursor("uploadlog") == {"timestamp": "t1", "logid": 9}
    assert store.get_cursor("category:Nothing") is None


def test_new_sha1_is_a_new_version_and_a_rename_keeps_the_file(store):
    (first,) = store.add_file_versions([version(1)])
    store.record_score(first, MODEL, score_for(first))
    reupload = FileVersionIn(page_id=1, title="File:Renamed.jpg", sha1="f" * 40,
                             uploaded_at=NOW, source="uploadlog")
    (second,) = store.add_file_versions([reupload])
    assert second != first
    assert count(store, File) == 1 and count(store, FileVersion) == 2
    claimed = store.claim(MODEL, worker="w", limit=10)
    assert [p.version_id for p in claimed] == [second]
    assert claimed[0].title == "File:Renamed.jpg"


def test_a_failed_ingest_writes_nothing(store):
    store.set_cursor("uploadlog", {"logid": 1})
    bad = FileVersionIn(page_id=99, title="File:Bad.jpg", sha1="b" * 40, categories=(object(),))
    # the bad version's own error, raised as its row is written after the files' rows (SQLAlchemy
    # wraps it on SQLite and MariaDB; psycopg raises it as it is), never an unrelated one
    with pytest.raises((StatementError, TypeError), match="Object of type object is not JSON serializable"):
        store.add_file_versions([version(1), bad], cursor=("uploadlog", {"logid": 2}))
    assert count(store, File) == 0 and count(store, FileVersion) == 0
    assert store.get_cursor("uploadlog") == {"logid": 1}


def test_claims_do_not_overlap_and_expired_leases_come_back(store, clock):
    store.add_file_versions([version(p) for p in range(10)])
    first = store.claim(MODEL, worker="a", limit=4, lease_seconds=0.5)
    second = store.claim(MODEL, worker="b", limit=100, lease_seconds=60)
    assert len(first) == 4 and len(second) == 6
    assert not {p.version_id for p in first} & {p.version_id for p in second}
    assert store.claim(MODEL, worker="c", limit=10) == []
    clock.advance(0.4)
    assert store.claim(MODEL, worker="c", limit=10) == []  # not yet expired
    clock.advance(0.2)
    again = store.claim(MODEL, worker="c", limit=10)
    assert sorted(p.version_id for p in again) == sorted(p.version_id for p in first)
    # another model has its own queue
    assert len(store.claim("other-model@1", worker="a", limit=100)) == 10


def test_record_score_is_idempotent_and_finishes_the_version(store):
    store.add_file_versions([version(p) for p in range(3)])
    claimed = store.claim(MODEL, worker="a", limit=3)
    vid = claimed[0].version_id
    assert store.record_score(vid, MODEL, score_for(vid), worker="a") is True
    assert store.record_score(vid, MODEL, score_for(vid), worker="b") is False
    assert store.record_scores([(vid, MODEL, score_for(vid)),
                                (claimed[1].version_id, MODEL, score_for(claimed[1].version_id)),
                                (claimed[1].version_id, MODEL, score_for(claimed[1].version_id))],
                               ) == [False, True, False]
    assert count(store, Score) == 2
    assert store.has_score(vid, MODEL) and not store.has_score(vid, "other@1")
    assert store.scored_version_ids(MODEL, [0, 1, 2]) == {vid, claimed[1].version_id}
    assert store.scored_version_ids(MODEL, [2]) == set()
    # scored versions are never claimed again, even when their lease has expired
    assert [p.version_id for p in store.claim(MODEL, worker="c", limit=10, lease_seconds=0)] == []


def test_frames_errors_and_timings_round_trip(store):
    (vid,) = store.add_file_versions([version(1)])
    (other,) = store.add_file_versions([version(2)])
    store.record_score(vid, MODEL, ScoreIn(flagged=True, score=0.93, media_type="video",
                                           frames=[(0, 0.0, 0.1), (25, 1.0, 0.93)],
                                           flagged_share=0.5, evidence_index=25, evidence_time=1.0,
                                           partial=True, error_kind="truncated",
                                           error_message="stopped at 1.2 s",
                                           timings={"decode": 0.5}))
    store.record_score(other, MODEL, ScoreIn(error_kind="undecodable", error_message="bad header"))
    (flagged,) = store.flagged_for_review(MODEL, threshold=0.5, limit=10)
    assert flagged.version_id == vid and flagged.partial
    assert flagged.frames == ((0, 0.0, 0.1), (25, 1.0, 0.93))
    assert (flagged.evidence_index, flagged.evidence_time, flagged.score) == (25, 1.0, 0.93)
    report = store.status(MODEL)
    assert report.errors == {"truncated": 1, "undecodable": 1}
    assert report.scored == 2 and report.flagged == 1
    with store.engine.connect() as connection:  # per-stage seconds, for docs/performance.md
        timings = {r.version_id: r.timings for r in connection.execute(select(Score.version_id, Score.timings))}
    assert timings == {vid: {"decode": 0.5}, other: {}}


def test_transient_failures_back_off_then_give_up(store, clock):
    store.add_file_versions([version(1)])
    (item,) = store.claim(MODEL, worker="a", limit=1)
    given_up = store.record_failure(item.version_id, MODEL, stage="download", kind="http-503",
                                    message="Service Unavailable", max_attempts=2,
                                    backoff_seconds=0.3)
    assert not given_up
    assert store.claim(MODEL, worker="a", limit=1) == []  # backing off
    assert store.status(MODEL).backing_off == 1
    clock.advance(0.35)
    (again,) = store.claim(MODEL, worker="a", limit=1)
    assert again.attempts == 1
    assert store.record_failure(again.version_id, MODEL, stage="download", kind="http-503",
                                message="Service Unavailable", max_attempts=2,
                                backoff_seconds=0.01)
    clock.advance(0.05)
    assert store.claim(MODEL, worker="a", limit=1) == []
    report = store.status(MODEL)
    assert (report.given_up, report.pending, report.failures) == (1, 0, {"http-503": 1})
    assert "given up 1" in report.format()
    assert store.retry_given_up(MODEL) == 1
    assert len(store.claim(MODEL, worker="a", limit=1)) == 1


def test_review_queue_entries_verdicts_and_retirement(store):
    ids = store.add_file_versions([version(p) for p in range(4)])
    scores = [0.9, 0.7, 0.95, 0.2]
    store.record_scores([(i, MODEL, ScoreIn(flagged=s >= 0.5, score=s, frames=[(0, None, s)]))
                         for i, s in zip(ids, scores)])
    queue = store.flagged_for_review(MODEL, threshold=0.5, limit=10)
    assert [f.version_id for f in queue] == [ids[2], ids[0], ids[1]]  # highest first
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=1)] == [ids[2]]

    store.upsert_review_entry(ids[2], page=PAGE, state="listed", revid=100)
    store.upsert_review_entry(ids[2], page=PAGE, state="listed", revid=101)
    (entry,) = store.review_entries(PAGE)
    assert (entry.version_id, entry.state, entry.revid) == (ids[2], "listed", 101)
    assert store.flagged_for_review(MODEL, threshold=0.5, limit=10)[0].review_state == "listed"

    old = NOW - timedelta(days=10)
    verdict = VerdictIn(ids[2], "Patroller", "nsfw", 102, old, True, "obvious")
    assert store.record_verdict(verdict) is True
    assert store.record_verdict(verdict) is False  # harvested again from a later read
    assert store.record_verdict(VerdictIn(ids[0], "Anon", "sfw", 103, NOW, False)) is True
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=10)] == [ids[1]]
    assert [v.reviewer for v in store.verdicts(trusted=True)] == ["Patroller"]
    assert store.verdicts(version_id=ids[0])[0].trusted is False

    store.upsert_review_entry(ids[1], page=PAGE, state="reviewed", revid=104)
    assert store.flagged_for_review(MODEL, threshold=0.5, limit=10) == []
    assert store.review_entries(PAGE, states=["reviewed"])[0].version_id == ids[1]

    assert store.retire_reviewed(PAGE, older_than=timedelta(days=7)) == [ids[2]]
    assert store.retire_reviewed(PAGE, older_than=timedelta(days=7)) == []
    assert {e.version_id: e.state for e in store.review_entries(PAGE)} == {
        ids[2]: "retired", ids[1]: "reviewed"}


def test_only_the_current_version_of_a_file_is_offered_for_review(store):
    old = FileVersionIn(page_id=5, title="File:A.jpg", sha1="a" * 40, uploaded_at=NOW - timedelta(1))
    new = FileVersionIn(page_id=5, title="File:A.jpg", sha1="b" * 40, uploaded_at=NOW)
    old_id, new_id = store.add_file_versions([old, new])
    store.record_scores([(old_id, MODEL, ScoreIn(flagged=True, score=0.9)),
                         (new_id, MODEL, ScoreIn(flagged=True, score=0.8))])
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=5)] == [new_id]
    # a revert re-uploads the old sha1: that version is current again
    revert = FileVersionIn(page_id=5, title="File:A.jpg", sha1="a" * 40,
                           uploaded_at=NOW + timedelta(hours=1))
    assert store.add_file_versions([revert]) == [old_id]
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=5)] == [old_id]


def test_labelled_versions_take_the_latest_trusted_verdict(store):
    ids = store.add_file_versions([version(p) for p in range(3)])
    store.record_scores([(i, MODEL, ScoreIn(flagged=False, score=0.1)) for i in ids])
    store.record_verdict(VerdictIn(ids[0], "A", "sfw", 1, NOW - timedelta(hours=2), True))
    store.record_verdict(VerdictIn(ids[0], "B", "nsfw", 2, NOW - timedelta(hours=1), True))
    store.record_verdict(VerdictIn(ids[1], "C", "nsfw", 3, NOW, False))
    store.record_verdict(VerdictIn(ids[2], "D", "unsure", 4, NOW, True))
    (labelled,) = store.labelled_versions()
    assert (labelled.version_id, labelled.label, labelled.categories) == (ids[0], "nsfw", ("Test",))
    assert labelled.scores == {MODEL: 0.1}
    assert {v.version_id for v in store.labelled_versions(trusted_only=False)} == {ids[0], ids[1]}


def test_the_latest_verdict_is_latest_in_time_not_in_recording_order(store):
    """Verdicts are not always stored in the order they were given (a harvest that resumes reads
    an older revision after a newer one; a revert restores earlier verdicts): the label is the
    verdict given last, whichever row was written last."""
    (vid,) = store.add_file_versions([version(1)])
    store.record_scores([(vid, MODEL, ScoreIn(flagged=False, score=0.1))])
    store.record_verdict(VerdictIn(vid, "B", "nsfw", 2, NOW - timedelta(hours=1), True))
    store.record_verdict(VerdictIn(vid, "A", "sfw", 1, NOW - timedelta(hours=2), True))
    (labelled,) = store.labelled_versions()
    assert (labelled.version_id, labelled.label) == (vid, "nsfw")
    (labelled,) = store.labelled_versions(trusted_only=False)
    assert labelled.label == "nsfw"


def test_runs_and_status_report(store):
    store.add_file_versions([version(p) for p in range(5)],
                            cursor=("uploadlog", {"timestamp": "2026-01-01T00:00:00Z", "logid": 4}))
    claimed = store.claim(MODEL, worker="a", limit=3)
    run = store.start_run("score", worker="host:1")
    store.record_scores([(p.version_id, MODEL, score_for(p.version_id)) for p in claimed])
    store.finish_run(run, counts={"scored": 3, "failed": 0})
    failed = store.start_run("ingest", worker="host:1")
    store.finish_run(failed, counts={}, error="APIError: maxlag")
    store.record_verdict(VerdictIn(claimed[0].version_id, "P", "nsfw", 7, NOW, True))

    report = store.status()
    assert report.model_id == MODEL
    assert (report.files, report.versions, report.scored, report.pending) == (5, 5, 3, 2)
    assert report.verdicts == {("nsfw", True): 1}
    assert report.cursors["uploadlog"][0]["logid"] == 4
    assert [r.kind for r in report.runs] == ["ingest", "score"]
    assert report.runs[0].error == "APIError: maxlag"
    assert report.last_run_throughput is not None and report.last_run_throughput > 0
    text = report.format()
    for expected in ("pending    2", "scored     3", "nsfw (trusted) 1", "uploadlog",
                     "ERROR: APIError: maxlag", "versions/s"):
        assert expected in text


def test_status_of_an_empty_database(store):
    report = store.status()
    assert (report.model_id, report.pending, report.scored) == (None, 0, 0)
    assert "nothing scored yet" in report.format()
    assert store.pending_count(MODEL) == 0


def test_uploads_per_day_from_the_upload_log(store):
    assert store.uploads_per_day() is None
    # one upload every 60 s over 100 minutes: 1,440 a day
    store.add_file_versions([version(p * 60) for p in range(101)])
    rate, how = store.uploads_per_day(days=7)
    assert rate == pytest.approx(1440.0) and "101 upload-log entries" in how


def test_a_version_that_keeps_killing_its_worker_is_given_up(store):
    store.add_file_versions([version(1)])
    for _ in range(3):  # leased, and the worker dies before storing anything
        assert len(store.claim(MODEL, worker="doomed", limit=1, lease_seconds=0, max_claims=3)) == 1
    # the first version reached its limit; another one is still served
    store.add_file_versions([version(2)])
    (other,) = store.claim(MODEL, worker="w", limit=5, lease_seconds=60, max_claims=3)
    assert other.page_id == 2
    report = store.status(MODEL)
    assert report.given_up == 1 and report.failures == {"abandoned": 1}


def test_names_differing_only_in_case_are_different(store):
    # wiki user names and titles are case-sensitive (MariaDB's default collation is not)
    (vid,) = store.add_file_versions([version(1)])
    assert store.record_verdict(VerdictIn(vid, "Alice", "nsfw", 1, NOW, True))
    assert store.record_verdict(VerdictIn(vid, "ALICE", "sfw", 1, NOW, True))
    store.upsert_review_entry(vid, page="User:Bot/review", state="listed")
    store.upsert_review_entry(vid, page="User:Bot/Review", state="reviewed")
    assert [e.state for e in store.review_entries("User:Bot/review")] == ["listed"]
    store.set_cursor("category:Foo", {"n": 1})
    store.set_cursor("category:FOO", {"n": 2})
    assert store.get_cursor("category:Foo") == {"n": 1}


def test_odd_values_are_stored_not_refused(store):
    (vid,) = store.add_file_versions([FileVersionIn(
        page_id=1, title="File:Ünïcødé 日本.webm", sha1="c" * 40, mime="video/" + "x" * 200,
        duration=float("nan"), categories=("Catégorie", "カテゴリ"))])
    stored = store.record_score(vid, MODEL, ScoreIn(
        flagged=False, score=float("nan"), frames=[(0, float("inf"), float("nan"))],
        error_kind="k" * 100, error_message="m" * 10_000, timings={"x": float("nan")}))
    assert stored
    report = store.status(MODEL)
    assert report.errors == {"k" * 64: 1}
    (pending,) = store.claim("other@1", worker="w", limit=5)
    assert pending.title == "File:Ünïcødé 日本.webm" and len(pending.mime) == 100
