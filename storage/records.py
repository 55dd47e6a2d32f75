"""Plain data crossing the storage boundary: callers never see ORM objects.

``*In`` records go into the store, the others come out of it. Datetimes are
timezone-aware UTC on the way out; naive datetimes on the way in are taken as UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "FileVersionIn", "PendingVersion", "ScoreIn", "FlaggedVersion",
    "ReviewEntryRecord", "VerdictIn", "VerdictRecord", "LabelledVersion",
    "RunRecord", "NSFW_VERDICTS", "SFW_VERDICTS", "FINAL_REVIEW_STATES",
]

#: verdict values that label a file for learning; any other value (e.g.
#: "unsure") is kept and counted but labels nothing
NSFW_VERDICTS = frozenset({"nsfw"})
SFW_VERDICTS = frozenset({"sfw"})

#: review-entry states after which a file is not offered for review again
FINAL_REVIEW_STATES = ("reviewed", "retired", "removed")


@dataclass(frozen=True)
class FileVersionIn:
    """One version (one sha1) of a file page, as the wiki's imageinfo describes it."""

    page_id: int
    title: str
    sha1: str
    mime: str | None = None
    media_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    uploader: str | None = None
    uploaded_at: datetime | None = None
    url: str | None = None
    thumb_url: str | None = None
    categories: tuple[str, ...] = ()
    source: str | None = None  # "uploadlog", "category:Foo", "explicit"
    log_id: int | None = None


@dataclass(frozen=True)
class PendingVersion:
    """A version claimed for scoring by one worker until its lease expires."""

    version_id: int
    page_id: int
    title: str
    sha1: str
    mime: str | None
    media_type: str | None
    size: int | None
    url: str | None
    thumb_url: str | None
    attempts: int
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class ScoreIn:
    """What one model said about one version: a verdict, or a final error.

    ``frames`` holds ``(index, time, score)`` triples. An ``error_kind`` with
    ``partial=False`` is a final scoring error (an undecodable file); transient
    failures go to :meth:`storage.Store.record_failure` instead.
    """

    flagged: bool | None = None
    score: float | None = None
    media_type: str | None = None
    frames: tuple[tuple[int, float | None, float], ...] | list = ()
    flagged_share: float | None = None
    evidence_index: int | None = None
    evidence_time: float | None = None
    error_kind: str | None = None
    error_message: str | None = None
    partial: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    scored_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class FlaggedVersion:
    """A flagged version waiting for a patroller, with what the review page shows."""

    version_id: int
    page_id: int
    title: str
    sha1: str
    mime: str | None
    media_type: str | None
    size: int | None
    width: int | None
    height: int | None
    duration: float | None
    uploader: str | None
    uploaded_at: datetime | None
    url: str | None
    thumb_url: str | None
    model_id: str
    score: float
    flagged_share: float | None
    frames: tuple[tuple[int, float | None, float], ...]
    evidence_index: int | None
    evidence_time: float | None
    partial: bool
    scored_at: datetime
    review_state: str | None  # the entry's state on the page asked about, if any


@dataclass(frozen=True)
class ReviewEntryRecord:
    version_id: int
    page_id: int
    title: str
    page: str
    state: str
    revid: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class VerdictIn:
    """A patroller's verdict read from the review page at revision ``revid``."""

    version_id: int
    reviewer: str
    verdict: str  # "nsfw", "sfw", or another value the review page allows
    revid: int | None
    timestamp: datetime
    trusted: bool
    comment: str | None = None


@dataclass(frozen=True)
class VerdictRecord:
    id: int
    version_id: int
    title: str
    reviewer: str
    verdict: str
    revid: int | None
    timestamp: datetime
    trusted: bool
    comment: str | None


@dataclass(frozen=True)
class LabelledVersion:
    """A version with a human label, for evaluation and training.

    ``label`` comes from the latest (trusted, if asked) verdict;
    ``scores`` maps model id to the stored file score.
    """

    version_id: int
    title: str
    url: str | None
    thumb_url: str | None
    label: str  # "nsfw" | "sfw"
    categories: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    worker: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict
    error: str | None

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
