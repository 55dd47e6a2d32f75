"""The tables: typed SQLAlchemy 2.0 ORM models.

A *file* is a wiki page (``page_id`` is stable across renames, the title is
kept current); a *version* is one sha1 of it (a re-upload is a new version to
score). Every model scores every version at most once (``scores``), and a
``score_tasks`` row per (version, model) carries the work state: leases for
workers, attempts and backoff for transient failures. Review entries and
patroller verdicts hang off versions. Changing anything here needs a new
Alembic revision in ``storage/migrations/versions``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Double, ForeignKey, Index, Integer,
                        LargeBinary, SmallInteger, String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime

__all__ = ["Base", "File", "FileVersion", "Score", "ScoreTask", "Cursor", "Run",
           "ReviewEntry", "Verdict", "Signature", "Match"]

# MariaDB indexes utf8mb4 VARCHARs up to 3072 bytes: 190 characters leave room
# for composite keys; 255 is the wiki's own limit for titles and user names.
NAME = 190


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), float: Double(), dict: JSON()}


class File(Base):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("page_id", name="uq_files_page_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(255), index=True)
    # the version the page shows now: the one uploaded last (a revert to an
    # old sha1 makes that old version current again, without a new version row)
    current_version_id: Mapped[int | None] = mapped_column(Integer)
    current_since: Mapped[datetime | None]
    # when the bot learnt the page was deleted (deletion log, a missing page at
    # download): its cards leave the review page; None while it exists (revision 0003)
    deleted_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FileVersion(Base):
    __tablename__ = "file_versions"
    __table_args__ = (UniqueConstraint("file_id", "sha1", name="uq_file_versions_file_sha1"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))
    sha1: Mapped[str] = mapped_column(String(40))
    mime: Mapped[str | None] = mapped_column(String(100))
    media_type: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None]
    uploader: Mapped[str | None] = mapped_column(String(255))
    uploaded_at: Mapped[datetime | None] = mapped_column(index=True)  # index: revision 0002
    url: Mapped[str | None] = mapped_column(Text)
    thumb_url: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(255))
    log_id: Mapped[int | None] = mapped_column(BigInteger)
    ingested_at: Mapped[datetime]


class Score(Base):
    """One model's result for one version: a verdict, or a final scoring error.

    Frames are kept as a JSON list of ``[index, time, score]`` in the same row:
    they are always read with their score, and one row per (version, model)
    makes a score and its frames one atomic, idempotent write.
    """

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("version_id", "model_id", name="uq_scores_version_model"),
        Index("ix_scores_model_flagged", "model_id", "flagged", "score"),  # revision 0002
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(NAME))
    flagged: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None]
    media_type: Mapped[str | None] = mapped_column(String(32))
    frames: Mapped[list | None] = mapped_column(JSON)
    flagged_share: Mapped[float | None]
    evidence_index: Mapped[int | None] = mapped_column(Integer)
    evidence_time: Mapped[float | None]
    error_kind: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    timings: Mapped[dict | None]
    scored_at: Mapped[datetime]
    worker: Mapped[str | None] = mapped_column(String(NAME))  # revision 0002
    #: what the score was decided under (revision 0004): the threshold, and the voting rule
    #: as ``majority q=<quorum>`` or ``any-k k=<k>``; None for scores stored before
    threshold: Mapped[float | None]
    vote_rule: Mapped[str | None] = mapped_column(String(32))


class ScoreTask(Base):
    """The work state of one (version, model): who holds it and when it may be tried.

    ``available_at`` is both the lease expiry (while ``worker`` holds it) and
    the end of a failure's backoff, so "claimable" is one indexed comparison.
    """

    __tablename__ = "score_tasks"
    __table_args__ = (
        UniqueConstraint("version_id", "model_id", name="uq_score_tasks_version_model"),
        Index("ix_score_tasks_claimable", "model_id", "state", "available_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(NAME))
    # pending | done | given_up | skipped (nothing visual to score, or the version is
    # gone: final, not an error); a pending task may be waiting (last_stage "wait")
    state: Mapped[str] = mapped_column(String(16))
    available_at: Mapped[datetime]
    worker: Mapped[str | None] = mapped_column(String(NAME))
    claims: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_stage: Mapped[str | None] = mapped_column(String(32))
    last_kind: Mapped[str | None] = mapped_column(String(64))
    last_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Cursor(Base):
    """Where a source stopped: the upload log's (timestamp, logid), a category walk's queue."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    value: Mapped[dict]
    updated_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(NAME))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict | None]
    error: Mapped[str | None] = mapped_column(Text)


class ReviewEntry(Base):
    __tablename__ = "review_entries"
    __table_args__ = (UniqueConstraint("version_id", "page", name="uq_review_entries_version_page"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    page: Mapped[str] = mapped_column(String(NAME))
    state: Mapped[str] = mapped_column(String(32))
    revid: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: state "removed": the trusted person who took the card off, and when (revision 0004)
    removed_by: Mapped[str | None] = mapped_column(String(NAME))
    removed_at: Mapped[datetime | None]


class Verdict(Base):
    """A patroller's verdict; ``revid`` 0 stands for "no revision" so the
    unique key (NULLs are never equal) still makes re-harvesting idempotent."""

    __tablename__ = "verdicts"
    __table_args__ = (
        UniqueConstraint("version_id", "reviewer", "revid", name="uq_verdicts_version_reviewer_revid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"),
                                            index=True)  # index: revision 0002
    reviewer: Mapped[str] = mapped_column(String(NAME))
    verdict: Mapped[str] = mapped_column(String(32))
    revid: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[datetime]
    trusted: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]


class Signature(Base):
    """The match signature of one scored frame (revision 0004), written with its score.

    Kept when the file is deleted and its thumbnail purged: a deleted file's
    signature is what recognises its re-upload (docs/patrollers.md).
    ``embedding`` is the model's unit feature as float16 bytes, so it is keyed by model.
    """

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("version_id", "model_id", "frame_index",
                                       name="uq_signatures_version_model_frame"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(String(NAME))
    frame_index: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))
    pdq_quality: Mapped[int] = mapped_column(SmallInteger)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Match(Base):
    """A new version that is the same picture as a judged or deleted one (revision 0004).

    ``reason`` is why the earlier version counts: ``nsfw`` / ``out-of-scope`` (a
    trusted patroller's verdict) or ``deleted``. ``pdq_distance`` (bits of 256) and
    ``cosine`` are the closest pair of frames; either may be None.
    """

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("version_id", "model_id", "reference_version_id",
                                       name="uq_matches_version_model_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(String(NAME))
    reference_version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    frame_index: Mapped[int] = mapped_column(Integer)
    reference_frame_index: Mapped[int] = mapped_column(Integer)
    pdq_distance: Mapped[int | None] = mapped_column(SmallInteger)
    cosine: Mapped[float | None]
    found_at: Mapped[datetime]
