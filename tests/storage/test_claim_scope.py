"""Claims limited to a source or to titles: new uploads before backfill work, ``score TITLE`` exactly (issue 13)."""
from __future__ import annotations

from storage.records import FileVersionIn, ScoreIn

MODEL = "m@0"


def add(store, page_id: int, source: str) -> None:
    store.add_file_versions([FileVersionIn(page_id=page_id, title=f"File:{source} {page_id}.jpg",
                                           sha1=f"{page_id:040x}", source=source)])


def test_a_claim_by_source_leaves_backfill_work_for_backfill_workers(store):
    for i in range(1, 6):
        add(store, i, "category:Nudes in art")  # a backlog queued first
    add(store, 10, "uploadlog")
    add(store, 11, "uploadlog")
    # a backfill worker already queued everything (task rows exist) and let it go again
    queued = store.claim(MODEL, worker="backfill", limit=100)
    assert store.release([v.version_id for v in queued], MODEL, worker="backfill") == 7
    claimed = store.claim(MODEL, worker="run", limit=100, sources=("uploadlog",))
    assert sorted(v.page_id for v in claimed) == [10, 11]
    rest = store.claim(MODEL, worker="backfill", limit=100)
    assert sorted(v.page_id for v in rest) == [1, 2, 3, 4, 5]


def test_a_claim_by_title_takes_exactly_those_files(store):
    for i in range(1, 70):
        add(store, i, "uploadlog")
    claimed = store.claim(MODEL, worker="score", limit=100, titles=["File:uploadlog 7.jpg"])
    assert [v.title for v in claimed] == ["File:uploadlog 7.jpg"]


def test_latest_scores_give_the_stored_verdict_of_each_title(store):
    add(store, 1, "uploadlog")
    add(store, 2, "uploadlog")
    (version,) = store.claim(MODEL, worker="w", limit=1, titles=["File:uploadlog 1.jpg"])
    store.record_score(version.version_id, MODEL, ScoreIn(flagged=True, score=0.93, media_type="still"))
    stored = store.latest_scores(MODEL, ["File:uploadlog 1.jpg", "File:uploadlog 2.jpg"])
    assert list(stored) == ["File:uploadlog 1.jpg"]
    assert stored["File:uploadlog 1.jpg"].flagged and stored["File:uploadlog 1.jpg"].score == 0.93


def test_deferred_claims_are_not_counted_against_the_version(store):
    """A host closed by a long Retry-After defers its files run after run: never 'abandoned'."""
    add(store, 1, "uploadlog")
    for _ in range(12):  # more than max_claims=10
        (version,) = store.claim(MODEL, worker="run", limit=1, max_claims=10)
        assert store.defer([version.version_id], MODEL, worker="run") == 1
    status = store.status(MODEL)
    assert status.given_up == 0 and status.failures == {} and status.pending == 1
