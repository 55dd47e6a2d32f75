"""Versions settled without a score (skipped), put back without a failure (waiting), deleted
files and suppressed uploader names: on every backend."""
from __future__ import annotations

from storage.records import ScoreIn

from .workload import MODEL, score_for, version


def test_skipped_is_final_not_an_error_and_counted(store):
    audio, photo = store.add_file_versions([version(1), version(2)])
    assert store.record_skip(audio, MODEL, kind="audio", message="mediatype AUDIO: nothing visual")
    claimed = store.claim(MODEL, worker="w", limit=10)
    assert [v.version_id for v in claimed] == [photo]  # a skipped version is never handed out
    store.record_score(photo, MODEL, score_for(photo), worker="w")
    status = store.status(MODEL)
    assert status.skipped == {"audio": 1}
    assert status.errors == {} and status.failures == {} and status.given_up == 0
    assert status.pending == 0 and store.pending_count(MODEL) == 0
    assert "skipped    audio 1" in status.format()
    # a failure recorded later (a late download thread) does not bring it back
    assert not store.record_failure(audio, MODEL, stage="download", kind="http-503", message="x")
    assert store.claim(MODEL, worker="w", limit=10) == []


def test_waiting_is_not_a_failure_and_never_gives_up(store):
    (video,) = store.add_file_versions([version(3)])
    for _ in range(30):  # far more than max_attempts and max_claims
        (claimed,) = store.claim(MODEL, worker="w", limit=1, max_claims=10)
        assert claimed.uploaded_at is not None
        store.record_wait(video, MODEL, kind="waiting-transcode", message="no transcode yet",
                          seconds=0)
    status = store.status(MODEL)
    assert status.given_up == 0 and status.pending == 1
    store.record_wait(video, MODEL, kind="waiting-transcode", seconds=3600)
    status = store.status(MODEL)
    assert status.waiting == 1 and status.backing_off == 0
    assert store.claim(MODEL, worker="w", limit=1) == []  # waits its time


def test_deleted_file_leaves_review_and_uploader_names_can_be_forgotten(store):
    a, b = store.add_file_versions([version(4), version(5)])
    for v in (a, b):
        store.record_score(v, MODEL, ScoreIn(flagged=True, score=0.99, frames=((0, None, 0.99),)))
    store.upsert_review_entry(a, page="Review", state="listed")
    assert {f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=9)} == {a, b}
    assert store.mark_deleted(page_ids=[4]) == [a]
    assert store.mark_deleted(titles=["File:Test 4.jpg"]) == [a]  # idempotent
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=9)] == [b]
    assert [e.state for e in store.review_entries("Review")] == ["deleted"]
    # a deleted file never listed is not offered either (no review entry to exclude it)
    assert store.mark_deleted(page_ids=[5]) == [b]
    assert store.flagged_for_review(MODEL, threshold=0.5, limit=9) == []
    assert store.forget_uploader("Uploader") == 2
    assert set(store.uploaders([a, b]).values()) == {None}
