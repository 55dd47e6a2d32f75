"""When a version comes back: leases, failure backoff, waits, given-up versions put back.
Every time is read from a hand-moved clock (``clock``), on every backend."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.schema import ScoreTask
from storage.values import MESSAGE_MAX

from .workload import MODEL, score_for, version

YEAR = 365 * 86400


def claimable(store) -> list[int]:
    """Version ids free to claim now (claimed, then given straight back)."""
    got = [p.version_id for p in store.claim(MODEL, worker="probe", limit=100)]
    store.release(got, MODEL, worker="probe")
    return got


def claim_one(store, *, max_claims: int) -> list[int]:
    """A one-second lease on the next version, as a list of its id (empty: none given)."""
    return [p.version_id for p in store.claim(MODEL, worker="w", limit=1, lease_seconds=1, max_claims=max_claims)]


def task(store, version_id: int):
    with store.engine.connect() as connection:
        return connection.execute(select(ScoreTask).where(ScoreTask.version_id == version_id,
                                                          ScoreTask.model_id == MODEL)).one()


def test_a_lease_lasts_600_seconds_by_default(store, clock):
    (vid,) = store.add_file_versions([version(1)])
    (claimed,) = store.claim(MODEL, worker="a", limit=1)
    assert claimed.lease_expires_at == clock.now + timedelta(seconds=600)
    clock.advance(599.9)
    assert claimable(store) == []
    clock.advance(0.1)
    assert claimable(store) == [vid]


def test_a_version_is_given_up_after_ten_lost_leases_by_default(store, clock):
    (vid,) = store.add_file_versions([version(1)])
    for n in range(10):
        assert [p.version_id for p in store.claim(MODEL, worker="doomed", limit=1, lease_seconds=1)] == [vid], n
        clock.advance(1)
    assert store.claim(MODEL, worker="doomed", limit=1, lease_seconds=1) == []
    assert store.status(MODEL).failures == {"abandoned": 1}


def test_each_failure_doubles_the_wait_and_no_wait_exceeds_a_year(store, clock):
    (vid,) = store.add_file_versions([version(1)])
    for attempt, wait in enumerate((100, 200, 400), start=1):
        assert not store.record_failure(vid, MODEL, stage="download", kind="http-503", message="busy",
                                        max_attempts=10, backoff_seconds=100)
        assert task(store, vid).attempts == attempt
        clock.advance(wait - 0.1)
        assert claimable(store) == [], attempt
        clock.advance(0.1)
        assert claimable(store) == [vid], attempt
    store.record_failure(vid, MODEL, stage="download", kind="http-503", message="busy",
                         max_attempts=10, backoff_seconds=1e12)
    clock.advance(YEAR - 1)
    assert claimable(store) == []
    clock.advance(1)
    assert claimable(store) == [vid]


def test_a_failure_after_the_end_says_whether_the_version_is_given_up(store, clock):
    given_up, scored = store.add_file_versions([version(1), version(2)])
    assert store.record_failure(given_up, MODEL, stage="decode", kind="oom", message="x", max_attempts=1)
    assert store.record_failure(given_up, MODEL, stage="decode", kind="oom", message="x", max_attempts=1)
    store.record_score(scored, MODEL, score_for(scored))
    assert not store.record_failure(scored, MODEL, stage="decode", kind="oom", message="x")
    assert task(store, scored).state == "done"


def test_failure_messages_are_kept_up_to_their_limit(store):
    long, none = store.add_file_versions([version(1), version(2)])
    store.record_failure(long, MODEL, stage="download", kind="http-500", message="é" * (MESSAGE_MAX + 10))
    store.record_failure(none, MODEL, stage="download", kind="http-500", message=None)
    assert task(store, long).last_message == "é" * MESSAGE_MAX
    assert task(store, none).last_message == ""
    store.record_wait(none, MODEL, kind="waiting-transcode", message="w" * (MESSAGE_MAX + 1), seconds=0)
    assert task(store, none).last_message == "w" * MESSAGE_MAX
    assert (task(store, none).last_stage, task(store, none).last_kind) == ("wait", "waiting-transcode")


def test_a_wait_ends_at_its_time_and_never_exceeds_a_year(store, clock):
    (vid,) = store.add_file_versions([version(1)])
    store.record_wait(vid, MODEL, kind="waiting-transcode", seconds=300)
    assert task(store, vid).last_message == ""
    clock.advance(299.9)
    assert claimable(store) == []
    clock.advance(0.1)
    assert claimable(store) == [vid]
    store.record_wait(vid, MODEL, kind="waiting-transcode", seconds=1e12)
    clock.advance(YEAR - 1)
    assert claimable(store) == []
    clock.advance(1)
    assert claimable(store) == [vid]


def test_a_skip_can_be_recorded_again_but_never_over_a_score(store):
    audio, photo = store.add_file_versions([version(1), version(2)])
    assert store.record_skip(audio, MODEL, kind="audio")
    assert store.record_skip(audio, MODEL, kind="audio")   # a second pass that read it again
    assert (task(store, audio).last_stage, task(store, audio).last_message) == ("skip", "")
    store.record_score(photo, MODEL, score_for(photo))
    assert not store.record_skip(photo, MODEL, kind="deleted")
    assert task(store, photo).state == "done"


def test_retry_puts_back_only_the_kind_asked_for_with_a_fresh_count(store, clock):
    busy, doomed = store.add_file_versions([version(1), version(2)])
    store.record_failure(busy, MODEL, stage="download", kind="http-503", message="x", max_attempts=1)
    for _ in range(2):  # claimed twice, the worker died twice
        store.claim(MODEL, worker="w", limit=10, lease_seconds=1, max_claims=2)
        clock.advance(1)
    assert store.claim(MODEL, worker="w", limit=10, max_claims=2) == []
    assert store.status(MODEL).failures == {"http-503": 1, "abandoned": 1}

    assert store.retry_given_up(MODEL, kind="http-503") == 1
    (back,) = store.claim(MODEL, worker="w", limit=10, lease_seconds=1, max_claims=2)
    assert (back.version_id, back.attempts) == (busy, 0)
    store.record_score(busy, MODEL, score_for(busy), worker="w")
    assert store.retry_given_up(MODEL, kind="abandoned") == 1
    # a fresh count: two more lost leases before "abandoned" again
    for _ in range(2):
        assert [p.version_id for p in store.claim(MODEL, worker="w", limit=10, lease_seconds=1,
                                                  max_claims=2)] == [doomed]
        clock.advance(1)
    assert store.claim(MODEL, worker="w", limit=10, max_claims=2) == []
    assert store.retry_given_up(MODEL) == 1                  # no kind: every given-up version


def test_a_claim_tops_up_to_its_limit_and_never_beyond(store):
    """One version already has a task (a wait); the others get theirs during the claim."""
    ids = store.add_file_versions([version(p) for p in range(10)])
    store.record_wait(ids[5], MODEL, kind="waiting-transcode", seconds=0)
    claimed = store.claim(MODEL, worker="w", limit=3)
    assert len(claimed) == 3 and ids[5] in [p.version_id for p in claimed]


def test_a_deferral_takes_back_its_own_claim_and_no_more(store, clock):
    """A lost lease counts, a deferral does not: with max_claims 3, one lost lease and one
    deferral leave exactly two more claims before the version is given up."""
    (vid,) = store.add_file_versions([version(1)])

    assert claim_one(store, max_claims=3) == [vid]
    clock.advance(1)                                   # lost: counts
    assert claim_one(store, max_claims=3) == [vid]
    assert store.defer([vid], MODEL, worker="w") == 1  # deferred: does not
    for _ in range(2):
        assert claim_one(store, max_claims=3) == [vid]
        clock.advance(1)
    assert claim_one(store, max_claims=3) == []
    assert store.status(MODEL).failures == {"abandoned": 1}


def test_a_wait_is_an_answer_and_clears_the_lost_lease_count(store, clock):
    """A version put back to wait was answered, not lost: with max_claims 2, a wait after a
    claim leaves two more lost leases before the version is given up."""
    (vid,) = store.add_file_versions([version(1)])

    assert claim_one(store, max_claims=2) == [vid]
    store.record_wait(vid, MODEL, kind="waiting-transcode", seconds=0)
    for _ in range(2):
        assert claim_one(store, max_claims=2) == [vid]
        clock.advance(1)
    assert claim_one(store, max_claims=2) == []
    assert store.status(MODEL).failures == {"abandoned": 1}


def test_pending_counts_what_is_left_to_score(store):
    """Neither scored, skipped nor given-up versions are pending; leased ones still are."""
    scored, skipped, given_up, leased, *rest = store.add_file_versions([version(p) for p in range(7)])
    assert store.pending_count(MODEL) == 7
    store.record_score(scored, MODEL, score_for(scored))
    store.record_skip(skipped, MODEL, kind="audio")
    store.record_failure(given_up, MODEL, stage="decode", kind="oom", message="x", max_attempts=1)
    store.record_wait(leased, MODEL, kind="waiting-transcode", seconds=0)
    assert store.pending_count(MODEL) == 4 and store.pending_count("other@1") == 7
    assert store.has_score(scored, MODEL) and not store.has_score(leased, MODEL)


def test_release_gives_back_every_lease_however_many(store):
    """Leases end in chunks of 400 ids (storage/values.py CHUNK); every one is counted."""
    store.add_file_versions([version(p) for p in range(1205)])
    claimed = [p.version_id for p in store.claim(MODEL, worker="w", limit=1205)]
    assert len(claimed) == 1205
    assert store.release(claimed, MODEL, worker="w") == 1205
    assert store.release(claimed, MODEL, worker="w") == 0
