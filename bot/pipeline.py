"""Scoring pending file versions: claim -> download -> decode, sample, infer (classifiers) -> store.

The stages overlap: a thread pool downloads up to ``2 * batch_size`` files
ahead while :class:`classifiers.ScoringPipeline` decodes and scores, and
results are stored as they come, so the slowest stage sets the pace. Memory
is bounded by that window (videos are spooled to disk). Every failure is
stored with its reason; transient ones come back on a later run with backoff.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from storage.records import ScoreIn, SignatureIn

from .config import Settings
from .downloads import Download, Downloader, DownloadError
from .exit_codes import DISK_ERRNOS
from .locations import FILE_GONE, VERSION_GONE, Locator
from .lock import LeaseJournal
from .matching import Matcher
from .memory import release_free_memory
from .metadata import is_non_visual, video_derivatives
from .thumbnails import ThumbnailKeeper
from .video_frames import fetch_seek_frames, seek_thumbnails, seek_times, wait_seconds, waited

if TYPE_CHECKING:
    from classifiers import ScoringPipeline

__all__ = ["ScoreReport", "VersionScorer", "ScoringModel", "build_scoring", "to_score_record", "worker_name"]

log = logging.getLogger(__name__)

#: error kinds of a FileResult that are worth another try later (the file itself may be fine)
TRANSIENT_SCORING_ERRORS = frozenset({"internal", "inference-error", "runtime-error", "timeout"})


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class ScoreReport:
    claimed: int = 0
    scored: int = 0
    flagged: int = 0
    errors: int = 0          # final: the file cannot be scored (recorded as such)
    failed: int = 0          # transient: recorded, retried on a later run
    skipped: int = 0         # settled unscored: nothing visual (audio), or deleted from the wiki
    waiting: int = 0         # videos put back until a transcode is ready (not a failure)
    deferred: int = 0        # its host closed for this run: back in the queue, no attempt charged
    matched: int = 0         # re-uploads of judged or deleted files (bot/matching.py)
    downloaded_bytes: int = 0
    seconds: float = 0.0
    failure_kinds: dict[str, int] = field(default_factory=dict)

    def format(self) -> str:
        rate = self.scored / self.seconds if self.seconds else 0.0
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.failure_kinds.items()))
        return (f"scored {self.scored} ({self.flagged} flagged), {self.errors} unscorable, "
                f"{self.failed} failed{f' ({kinds})' if kinds else ''}"
                f"{f', {self.skipped} skipped' if self.skipped else ''}"
                f"{f', {self.waiting} waiting' if self.waiting else ''}"
                f"{f', {self.deferred} deferred' if self.deferred else ''}"
                f"{f', {self.matched} matching judged files' if self.matched else ''}; "
                f"{self.downloaded_bytes / 2**20:.1f} MiB in {self.seconds:.1f} s ({rate:.1f} files/s)")


@dataclass(frozen=True)
class ScoringModel:
    """A loaded classifier ready to score files, and the id its scores are stored under.

    :param pipeline: a :class:`classifiers.ScoringPipeline` (anything with ``score(items)``
        yielding one ``FileResult`` per ``(key, bytes | path)`` item)
    :param model_id: ``name@<12 hex of the weights' sha256>``, the key of stored scores
    """

    pipeline: ScoringPipeline
    model_id: str


def build_scoring(settings: Settings) -> ScoringModel:
    """The classifier in a :class:`classifiers.ScoringPipeline`, as the settings describe them
    (``model``, ``runtime``, ``batch_size``, ``frames``, size caps, voting rule and threshold)."""
    from classifiers import ScoringPipeline, load_classifier
    from classifiers.media import MediaLimits
    from classifiers.voting import VotingPolicy

    clf = load_classifier(settings.model, runtime=settings.runtime, batch_size=settings.batch_size)
    limits = MediaLimits(max_bytes=max(settings.max_image_bytes, settings.max_video_bytes))
    voting = VotingPolicy(threshold=settings.threshold, rule=settings.vote_rule,
                          quorum=settings.quorum, k=settings.vote_k)
    return ScoringModel(ScoringPipeline(clf, frames=settings.frames, limits=limits, voting=voting),
                        clf.model_id)


def to_score_record(result, voting=None) -> ScoreIn:
    """A :class:`classifiers.FileResult` as storage's plain :class:`ScoreIn`, with the
    threshold and voting rule of ``voting`` (a :class:`classifiers.voting.VotingPolicy`)."""
    evidence = result.evidence
    rule = None if voting is None else (
        f"any-k k={voting.k}" if voting.rule == "any-k" else f"{voting.rule} q={voting.quorum:g}")
    return ScoreIn(
        threshold=None if voting is None else voting.threshold, vote_rule=rule,
        flagged=result.flagged, score=result.score, media_type=result.media_type,
        frames=tuple((f.index, f.time, f.score) for f in result.frames),
        flagged_share=result.flagged_share,
        evidence_index=evidence.index if evidence else None,
        evidence_time=evidence.time if evidence else None,
        error_kind=result.error_kind, error_message=result.error_message,
        partial=result.partial, timings=dict(result.timings),
        signatures=tuple(SignatureIn(s.index, s.pdq, s.pdq_quality,
                                     None if s.embedding is None else s.embedding.tobytes())
                         for s in result.signatures))


@dataclass(frozen=True)
class SeekFrames:
    """A download plan: the wiki's frame thumbnails of a video, ``(time, url)`` each."""

    frames: list


class VersionScorer:
    """Scores every pending file version the store hands out for ``scoring.model_id``, in
    overlapping rounds: claim a batch, download it, score it, store the results.

    :param scoring: the :class:`ScoringModel` to score with
    :param site: used for batched ``videoinfo`` lookups (smallest ready transcode); may be None
    :param stop: set it (SIGTERM) to stop claiming; claimed work is finished and stored
    :param progress: show a tqdm bar (backfills)
    :param journal: a :class:`LeaseJournal` (commands that hold a lock): leases of a killed
        predecessor are released on start
    :param on_result: called with ``(PendingVersion, FileResult)`` after each stored score
    :param sources: claim only versions these sources found; ``titles``: only these files
    :param deadline: a ``time.monotonic()`` after which nothing new is claimed
    """

    def __init__(self, store, settings: Settings, *, scoring: ScoringModel, downloader: Downloader,
                 site=None, worker: str | None = None, stop: threading.Event | None = None,
                 progress: bool = False, lease_seconds: int = 900,
                 thumbs: ThumbnailKeeper | None = None, on_result=None,
                 journal: LeaseJournal | None = None, sources=None, titles=None,
                 deadline: float | None = None) -> None:
        self.store = store
        self.settings = settings
        self.pipeline = scoring.pipeline
        self.model_id = scoring.model_id
        self.downloader = downloader
        self.site = site
        self.worker = worker or worker_name()
        self.stop = stop or threading.Event()
        self.progress = progress
        self.lease_seconds = lease_seconds
        self.thumbs = thumbs if thumbs is not None else ThumbnailKeeper(Path(settings.data_dir) / "thumbs")
        self.journal = journal
        self.on_result = on_result  # called with (PendingVersion, FileResult) after storing
        self.locator = Locator(site, thumb_width=settings.thumb_width)
        self._inflight: dict[str, tuple] = {}
        self._failures: deque = deque()
        self._deferred: list[int] = []
        #: which pending versions to claim (None: all) and when to stop claiming (time.monotonic())
        self.scope = {"sources": sources, "titles": titles}
        self.deadline = deadline
        self._matcher = None  # loaded by run()

    # -- stage 1: claims ---------------------------------------------------------
    def _claims(self, limit: int | None, report: ScoreReport) -> Iterator[tuple]:
        chunk = max(1, self.settings.batch_size)
        while not self.stop.is_set() and not self.downloader.closed_hosts:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return
            want = chunk if limit is None else min(chunk, limit - report.claimed)
            if want <= 0:
                return
            batch = self.store.claim(self.model_id, worker=self.worker, limit=want,
                                     lease_seconds=self.lease_seconds, **self.scope)
            if not batch:
                return
            if self.journal is not None:
                self.journal.record(self.worker, self.model_id, [v.version_id for v in batch])
            report.claimed += len(batch)
            batch = self._settle_unscorable(batch, report)
            videos = [v.title for v in batch if (v.media_type or "").lower() == "video"]
            transcodes = {}
            if videos and self.site is not None:
                try:
                    transcodes = video_derivatives(self.site, videos)
                except Exception as e:  # the original is the fallback; never lose the batch
                    log.warning("videoinfo lookup failed, using originals: %s", e)
            for version in batch:
                ready = transcodes.get(version.title, ())
                if version.title in transcodes and not ready and self._too_big(version):
                    plan = self._late_transcode(version, report)
                    if plan is not None:
                        yield version, plan
                    continue
                yield version, ready

    def _settle_unscorable(self, batch, report: ScoreReport) -> list:
        """Skip what has no pixels (audio, MIDI: by the API's media type and mime) and what
        the wiki deleted; give the rest their current URLs (:mod:`bot.locations`)."""
        visual = []
        for version in batch:
            if is_non_visual(version.media_type, version.mime):
                self.store.record_skip(version.version_id, self.model_id, kind="non-visual",
                                       message=f"{version.media_type or '?'} {version.mime or '?'}: "
                                               "nothing visual to score (its thumbnail is an icon)")
                report.skipped += 1
            else:
                visual.append(version)
        located = self.locator.locate(visual)
        fresh = []
        for version in visual:
            now = located.get(version.version_id, version)
            if now in (FILE_GONE, VERSION_GONE):
                self._gone(version, now, report)
            else:
                fresh.append(now)
        return fresh

    def _gone(self, version, why: str, report: ScoreReport) -> None:
        """A final state: the file (or this version) is deleted; its cards leave the review page."""
        if why == FILE_GONE:
            self.thumbs.remove(self.store.mark_deleted(page_ids=[version.page_id]))
        else:
            self.thumbs.remove([version.version_id])
        self.store.record_skip(version.version_id, self.model_id, kind="deleted",
                               message=f"{version.title}: {why} on the wiki before it was downloaded")
        report.skipped += 1

    def _too_big(self, version) -> bool:
        return bool(version.size and version.size > self.settings.max_video_bytes)

    def _late_transcode(self, version, report: ScoreReport):
        """No transcode yet and an original over the cap: wait, or after ``transcode_wait_hours``
        use the wiki's frame thumbnails (:mod:`bot.video_frames`)."""
        age = waited(version)
        if age < self.settings.transcode_wait_hours * 3600:
            self.store.record_wait(version.version_id, self.model_id, kind="waiting-transcode",
                                   message="no ready transcode and the original is over max_video_bytes",
                                   seconds=wait_seconds(age))
            report.waiting += 1
            return None
        try:
            frames = seek_thumbnails(self.site, version.page_id,
                                     seek_times(version.duration, self.settings.video_seek_frames),
                                     width=self.settings.thumb_width)
        except Exception as e:  # a transient API problem: the video waits again
            log.warning("frame thumbnails of %s: %s", version.title, e)
            frames = []
        if not frames:
            self.store.record_wait(version.version_id, self.model_id, kind="waiting-transcode",
                                   message="no transcode and no frame thumbnail yet",
                                   seconds=wait_seconds(age))
            report.waiting += 1
            return None
        return SeekFrames(frames)

    # -- stage 2: downloads, a bounded window ahead of the scorer ----------------
    def _items(self, pool: ThreadPoolExecutor, limit: int | None,
               report: ScoreReport) -> Iterator[tuple[str, bytes | Path]]:
        window: deque[tuple[object, Future]] = deque()
        depth = 2 * max(1, self.settings.batch_size)
        claims = self._claims(limit, report)
        exhausted = False
        while True:
            while not exhausted and len(window) < depth:
                try:
                    version, transcodes = next(claims)
                except StopIteration:
                    exhausted = True
                    break
                window.append((version, pool.submit(self._fetch, version, transcodes)))
            if not window:
                return
            version, future = window.popleft()
            try:
                download: Download = future.result()
            except DownloadError as e:
                if e.deferred:
                    self._deferred.append(version.version_id)
                    continue
                if e.kind != "not-found":
                    self._failures.append((version, "download", e.kind, e.message, e.permanent))
                    continue
                found = self._after_404(version, e, report)  # stale URL: ask where it is now
                if found is None:
                    continue
                version, download = found
            except OSError as e:
                if e.errno in DISK_ERRNOS:  # a full or read-only disk is no fault of the file: end the run
                    raise
                self._failures.append((version, "download", "internal", repr(e), False))
                continue
            except Exception as e:  # a bug must not lose the file: record it, retry later
                self._failures.append((version, "download", "internal", repr(e), False))
                continue
            report.downloaded_bytes += download.size
            key = str(version.version_id)
            self._inflight[key] = (version, download)
            yield key, download.source

    def _fetch(self, version, plan) -> Download:
        if isinstance(plan, SeekFrames):
            return fetch_seek_frames(self.downloader, version, plan.frames)
        return self.downloader.fetch(version, transcodes=plan)

    def _after_404(self, version, error: DownloadError, report: ScoreReport) -> tuple | None:
        """Resolve a 404 by page id: deleted is final, moved or overwritten is fetched from
        where the version (its sha1) is served now; anything else is a transient failure."""
        now = self.locator.locate([version]).get(version.version_id, version)
        if now in (FILE_GONE, VERSION_GONE):
            self._gone(version, now, report)
            return None
        if (now.url, now.thumb_url) != (version.url, version.thumb_url):
            try:
                return now, self.downloader.fetch(now)
            except DownloadError as e:
                error = e
            except Exception as e:
                self._failures.append((version, "download", "internal", repr(e), False))
                return None
        self._failures.append((version, "download", error.kind, error.message, error.permanent))
        return None

    # -- stage 3: storage ---------------------------------------------------------
    def _record_deferred(self, report: ScoreReport) -> None:
        if self._deferred:
            ids, self._deferred = self._deferred, []
            report.deferred += self.store.defer(ids, self.model_id, worker=self.worker)

    def _record_failures(self, report: ScoreReport, bar) -> None:
        while self._failures:
            version, stage, kind, message, permanent = self._failures.popleft()
            self.store.record_failure(version.version_id, self.model_id, stage=stage, kind=kind,
                                      message=message,
                                      max_attempts=1 if permanent else self.settings.max_attempts,
                                      backoff_seconds=self.settings.retry_backoff_seconds)
            report.failed += 1
            report.failure_kinds[kind] = report.failure_kinds.get(kind, 0) + 1
            bar.update(1)

    def _record(self, result, report: ScoreReport) -> None:
        version, download = self._inflight.pop(result.key)
        try:
            if not result.ok and result.error_kind in TRANSIENT_SCORING_ERRORS:
                self._failures.append((version, "score", result.error_kind, result.error_message or "", False))
                return
            self.store.record_score(version.version_id, self.model_id,
                                    to_score_record(result, getattr(self.pipeline, "voting", None)),
                                    worker=self.worker)
            if result.ok and result.signatures and self._matcher is not None:
                if self._matcher.record(self.store, version.version_id, self.model_id, result.signatures):
                    report.matched += 1
            if self.on_result is not None:
                self.on_result(version, result)
            if result.ok:
                report.scored += 1
                if result.flagged:
                    report.flagged += 1
                    if download.data is not None:
                        self._keep_thumbnail(version, download.data)
            else:
                report.errors += 1
                report.failure_kinds[result.error_kind] = report.failure_kinds.get(result.error_kind, 0) + 1
        finally:
            download.discard()

    def _keep_thumbnail(self, version, data: bytes) -> None:
        """The kept thumbnails are an optional cache: failing to keep one never stops scoring."""
        if self.thumbs is None:
            return
        try:
            self.thumbs.keep(version, data)
        except OSError as e:
            log.warning("kept thumbnails off for this run (%s): %s", self.thumbs.dir, e)
            self.thumbs = None

    def run(self, *, limit: int | None = None, total: int | None = None) -> ScoreReport:
        """Claim and score until nothing is pending (or ``limit`` versions, or ``stop``)."""
        from tqdm import tqdm

        report = ScoreReport()
        started = time.perf_counter()
        if self.journal is not None:
            self.journal.recover(self.store)
        # the reference set as it is now: verdicts harvested and deletions seen by earlier passes
        self._matcher = Matcher.from_store(self.store, self.model_id)
        bar = tqdm(total=total, unit="file", desc="scoring", disable=None if self.progress else True,
                   dynamic_ncols=True)  # None: only on a terminal, never escape codes in cron logs
        try:
            with ThreadPoolExecutor(max(1, self.settings.download_concurrency),
                                    thread_name_prefix="download") as pool:
                for result in self.pipeline.score(self._items(pool, limit, report)):
                    self._record_failures(report, bar)
                    self._record_deferred(report)
                    self._record(result, report)
                    bar.update(1)
                self._record_failures(report, bar)
                self._record_deferred(report)
            if self.journal is not None:
                self.journal.clear()  # everything claimed was stored
        finally:
            release_free_memory()
            bar.close()
            for _, download in self._inflight.values():
                download.discard()
            self._inflight.clear()
            report.seconds = time.perf_counter() - started
        return report
