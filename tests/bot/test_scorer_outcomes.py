"""How each claimed version ends (bot/pipeline.py): scored, a final error, a failure retried with
backoff, or given up at once; what the report counts is what was stored; thumbnails are kept
only for flagged files; a stopped scorer claims nothing.

Real parts: the media host on loopback (test_downloads.py), SQLite, the real classifier. The one
fake is :class:`InjectedFault`, standing for a classifier error (out of memory) that real
weights do not give on demand.
"""
from __future__ import annotations

import copy
import threading

import storage
from bot.pipeline import ScoringModel, VersionScorer
from bot.thumbnails import ThumbnailKeeper
from classifiers.results import FileResult
from classifiers.voting import VotingPolicy
from storage.records import FileVersionIn

from .test_downloads import JPEG, downloader, host  # noqa: F401 (host is a fixture)


class InjectedFault:
    """The real pipeline, except that the files of ``keys`` come back as ``kind`` errors (an
    injected fault: a GPU out of memory, say, which the real classifier cannot be made to give)."""

    def __init__(self, real, keys, kind="inference-error"):
        self.real, self.keys, self.kind = real, {str(k) for k in keys}, kind
        self.voting = real.voting

    def score(self, items):
        for result in self.real.score(items):
            if result.key in self.keys:
                yield FileResult.failure(result.key, self.kind, "CUDA out of memory (injected)")
            else:
                yield result


def add(store, host, names):
    return store.add_file_versions([
        FileVersionIn(page_id=i, title=f"File:{name}", sha1=f"{i:040x}", media_type="bitmap",
                      thumb_url=host.url(f"/{name}"))
        for i, name in enumerate(names, start=1)])


def settled(report) -> int:
    """Every claimed version ends in exactly one of these."""
    return (report.scored + report.errors + report.failed + report.skipped + report.waiting
            + report.deferred)


def test_a_transient_classifier_error_is_retried_and_a_refused_file_is_final(host, settings, tmp_path,
                                                                             scoring):
    host.routes["/ok.jpg"] = [(200, {}, JPEG)]
    host.routes["/junk.jpg"] = [(200, {}, b"this is no image at all, only text")]
    host.routes["/oom.jpg"] = [(200, {}, JPEG)]
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        ok, junk, oom = add(store, host, ["ok.jpg", "junk.jpg", "oom.jpg"])

        def scorer(pipeline):
            return VersionScorer(store, settings, scoring=ScoringModel(pipeline, scoring.model_id),
                                 downloader=downloader(settings, tmp_path),
                                 thumbs=ThumbnailKeeper(tmp_path / "thumbs"))

        first = scorer(InjectedFault(scoring.pipeline, [oom])).run()
        assert (first.claimed, first.scored, first.errors, first.failed) == (3, 1, 1, 1), first.format()
        assert settled(first) == first.claimed
        status = store.status(scoring.model_id)
        assert status.failures == {"inference-error": 1}          # stored as a failure, to retry
        assert sum(status.errors.values()) == 1 and "inference-error" not in status.errors
        (junk_kind,) = status.errors
        assert first.failure_kinds == {"inference-error": 1, junk_kind: 1}
        assert status.scored == 2 and status.given_up == 0   # stored results: the refused file's too

        # the next run (backoff 0 here) retries only the transient one, and scores it
        second = scorer(scoring.pipeline).run()
        assert (second.claimed, second.scored, second.errors, second.failed) == (1, 1, 0, 0)
        assert scorer(scoring.pipeline).run().claimed == 0   # the refused file is never retried
        status = store.status(scoring.model_id)
        assert status.scored == 3 and status.failures == {} and status.pending == 0


def test_a_permanent_download_error_is_given_up_at_once(host, settings, tmp_path, scoring):
    """A 403 is final: stored once and given up although max_attempts allows three. It is the
    run's only file, so it is stored by the flush after the last score, not between scores."""
    host.routes["/forbidden.jpg"] = [(403, {}, b"forbidden")]
    settings = settings.replace(max_attempts=3)
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        add(store, host, ["forbidden.jpg"])

        def run():
            return VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                                 thumbs=ThumbnailKeeper(tmp_path / "thumbs")).run()

        first = run()
        assert (first.claimed, first.failed, first.failure_kinds) == (1, 1, {"http-403": 1})
        assert settled(first) == first.claimed
        status = store.status(scoring.model_id)
        assert status.failures == {"http-403": 1} and status.given_up == 1 and status.pending == 0
        assert run().claimed == 0
        assert host.hits["/forbidden.jpg"] == 1


def test_thumbnails_are_kept_only_for_flagged_files(host, settings, tmp_path, scoring):
    host.routes["/calm.jpg"] = [(200, {}, JPEG)]
    host.routes["/flagged.jpg"] = [(200, {}, JPEG)]
    thumbs = tmp_path / "thumbs"
    # the same model voting at threshold 0: everything it scores is flagged
    eager = copy.copy(scoring.pipeline)
    eager.voting = VotingPolicy(threshold=0.0)
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        calm, flagged = add(store, host, ["calm.jpg", "flagged.jpg"])

        def run(pipeline, title):
            return VersionScorer(store, settings, scoring=ScoringModel(pipeline, scoring.model_id),
                                 downloader=downloader(settings, tmp_path), titles=[title],
                                 thumbs=ThumbnailKeeper(thumbs)).run()

        report = run(scoring.pipeline, "File:calm.jpg")     # threshold 0.8: a coffee cup is not flagged
        assert (report.scored, report.flagged) == (1, 0)
        assert not thumbs.exists() or list(thumbs.iterdir()) == []
        report = run(eager, "File:flagged.jpg")
        assert (report.scored, report.flagged) == (1, 1)
        kept = [p.name for p in thumbs.iterdir()]
        assert len(kept) == 1 and kept[0].startswith(f"{flagged}-"), kept


def test_a_stopped_scorer_claims_nothing(host, settings, tmp_path, scoring):
    host.routes["/a.jpg"] = [(200, {}, JPEG)]
    stop = threading.Event()
    stop.set()   # SIGTERM before the first claim
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        add(store, host, ["a.jpg"])
        report = VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                               thumbs=ThumbnailKeeper(tmp_path / "thumbs"), stop=stop).run()
        assert report.claimed == 0 and "/a.jpg" not in host.hits
        assert store.status(scoring.model_id).pending == 1
        again = VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                              thumbs=ThumbnailKeeper(tmp_path / "thumbs")).run()
        assert again.scored == 1     # nothing was left leased by the stopped run
