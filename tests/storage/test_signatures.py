"""Match signatures are stored with their score; the reference set; matches put a version on the review queue."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import ScoreIn, SignatureIn, VerdictIn
from storage.signatures import MatchIn

from .workload import MODEL, version

NOW = datetime.now(timezone.utc)


def sig(frame: int, byte: int, embedding: bytes | None = b"\x00\x3c" * 4) -> SignatureIn:
    return SignatureIn(frame, bytes([byte]) * 32, 90, embedding)


def test_signatures_are_stored_with_the_score_once(store):
    (vid,) = store.add_file_versions([version(1)])
    score = ScoreIn(flagged=False, score=0.2, frames=[(0, 0.0, 0.2), (5, 0.5, 0.1)],
                    signatures=(sig(0, 1), sig(5, 2, None)))
    assert store.record_scores([(vid, MODEL, score)]) == [True]
    stored = store.signatures_of([vid], MODEL)
    assert [(s.frame_index, s.pdq, s.pdq_quality, s.embedding) for s in stored] == [
        (0, b"\x01" * 32, 90, b"\x00\x3c" * 4), (5, b"\x02" * 32, 90, None)]
    # scored again (another worker's duplicate): the first score and its signatures stay
    again = ScoreIn(flagged=False, score=0.3, signatures=(sig(0, 9), sig(3, 9)))
    assert store.record_scores([(vid, MODEL, again)]) == [False]
    assert [s.pdq for s in store.signatures_of([vid], MODEL)] == [b"\x01" * 32, b"\x02" * 32]
    assert store.signatures_of([vid], "other-model@1") == []


def test_a_malformed_hash_is_refused_and_nothing_is_stored(store):
    (vid,) = store.add_file_versions([version(1)])
    with pytest.raises(ValueError, match="32 bytes"):
        store.record_scores([(vid, MODEL, ScoreIn(flagged=False, score=0.2,
                                                  signatures=(SignatureIn(0, b"short", 90),)))])
    assert not store.has_score(vid, MODEL) and store.signatures_of([vid], MODEL) == []


def test_reference_set_is_judged_and_deleted_files_never_sfw(store):
    ids = store.add_file_versions([version(p) for p in range(6)])
    store.record_scores([(i, MODEL, ScoreIn(flagged=False, score=0.1, signatures=(sig(0, n),)))
                         for n, i in enumerate(ids)])
    store.record_verdict(VerdictIn(ids[0], "Sysop", "nsfw", 1, NOW, True))
    store.record_verdict(VerdictIn(ids[1], "Sysop", "out-of-scope", 2, NOW, True))
    store.record_verdict(VerdictIn(ids[2], "Sysop", "sfw", 3, NOW, True))
    store.record_verdict(VerdictIn(ids[3], "Anon", "nsfw", 4, NOW, False))  # untrusted: no reference
    store.record_verdict(VerdictIn(ids[4], "A", "nsfw", 5, NOW - timedelta(hours=1), True))
    store.record_verdict(VerdictIn(ids[4], "B", "sfw", 6, NOW, True))  # answered sfw last: no reference
    store.mark_deleted(page_ids=[5])  # version(5) is page 5
    refs = {s.version_id: s.reason for s in store.reference_signatures(MODEL)}
    assert refs == {ids[0]: "nsfw", ids[1]: "out-of-scope", ids[5]: "deleted"}


def test_a_deleted_files_signature_outlives_its_pixels(store):
    (vid,) = store.add_file_versions([version(3)])
    store.record_scores([(vid, MODEL, ScoreIn(flagged=True, score=0.9, signatures=(sig(0, 7),)))])
    assert store.mark_deleted(page_ids=[3]) == [vid]  # the bot then purges the thumbnail
    (ref,) = store.reference_signatures(MODEL)
    assert (ref.version_id, ref.reason, ref.pdq) == (vid, "deleted", b"\x07" * 32)


def test_a_matching_version_is_listed_whatever_its_score(store):
    judged, copy, other = store.add_file_versions([version(p) for p in range(3)])
    store.record_scores([(judged, MODEL, ScoreIn(flagged=True, score=0.9)),
                         (copy, MODEL, ScoreIn(flagged=False, score=0.05)),
                         (other, MODEL, ScoreIn(flagged=True, score=0.6))])
    store.record_verdict(VerdictIn(judged, "Sysop", "nsfw", 42, NOW, True))
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=5)] == [other]
    match = MatchIn(judged, "nsfw", 0, 0, 12, 0.97)
    assert store.record_matches(copy, MODEL, [match]) == 1
    assert store.record_matches(copy, MODEL, [match]) == 0  # idempotent
    assert store.record_matches(copy, MODEL, [MatchIn(copy, "nsfw", 0, 0, 0, 1.0)]) == 0  # never itself
    # matches come first, then by score; the limit never drops a match for a higher score
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=5)] == [copy, other]
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=1)] == [copy]
    assert store.flagged_for_review("other-model@1", threshold=0.5, limit=5) == []
    (record,) = store.matches_for([copy], MODEL)[copy]
    assert (record.reference_version_id, record.reference_title, record.reason) == (
        judged, "File:Test 0.jpg", "nsfw")
    assert (record.pdq_distance, record.cosine, record.verdict_reviewer, record.verdict_revid) == (
        12, pytest.approx(0.97), "Sysop", 42)
