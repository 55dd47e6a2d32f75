"""Plain data crossing the storage boundary: callers never see ORM objects.

``*In`` records go into the store, the others come out of it. Datetimes are
timezone-aware UTC on the way out; naive datetimes on the way in are taken as UTC.

Each column is declared once, in :mod:`storage.schema`. A record names the
columns it carries (:func:`columns`), in its field order, and takes their
Python types (``Mapped[int | None]`` gives ``int | None``) from there; the
class body declares only what the tables do not say: fields that are not
columns, and fields whose shape differs from the column's (``frames`` is a
tuple here, JSON there). Records stay frozen dataclasses, never ORM objects.
"""
from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import Label

from .schema import Base, File, FileVersion, ReviewEntry, Run, Score, ScoreTask, Verdict

__all__ = [
    "FileVersionIn", "PendingVersion", "ScoreIn", "FlaggedVersion",
    "ReviewEntryRecord", "VerdictIn", "VerdictRecord", "LabelledVersion",
    "RunRecord", "SignatureIn", "NSFW_VERDICTS", "SFW_VERDICTS", "FINAL_REVIEW_STATES",
]

#: verdict values that label a file for learning; any other value (e.g.
#: "unsure") is kept and counted but labels nothing
NSFW_VERDICTS = frozenset({"nsfw"})
SFW_VERDICTS = frozenset({"sfw"})

#: review-entry states after which a file is not offered for review again
FINAL_REVIEW_STATES = ("reviewed", "retired", "removed", "deleted")

Columns = type[Base] | InstrumentedAttribute | Label


def columns(*sources: Columns, skip: tuple[str, ...] = (),
            defaults: bool = False) -> Callable[[type], type]:
    """Class decorator (put it under ``@dataclass``): the record's fields are these columns.

    :param sources: in field order: a table class (all its columns but ``skip``),
        a column (``File.title``) or a renamed column (``FileVersion.id.label("version_id")``);
        a name already given is not added again
    :param skip: column names left out of the table classes in ``sources``
    :param defaults: for records going in: nullable columns default to None and
        columns with a constant default (``partial``) to that
    :returns: the decorator. A field annotated in the class body replaces the column
        of that name in place (another type or default); other annotated fields follow
        the columns, in the order written.
    """

    def declare(cls: type) -> type:
        own = dict(cls.__dict__.get("__annotations__", {}))
        annotations: dict[str, object] = {}
        for name, model, key in _named_columns(sources, skip):
            if name in annotations:
                continue
            if name in own:
                annotations[name] = own.pop(name)
                continue
            annotations[name] = typing.get_args(typing.get_type_hints(model)[key])[0]
            column = model.__table__.columns[key]
            if defaults and column.nullable:
                setattr(cls, name, None)
            elif defaults and column.default is not None and column.default.is_scalar:
                setattr(cls, name, column.default.arg)
        cls.__annotations__ = {**annotations, **own}
        return cls

    return declare


def _named_columns(sources, skip) -> list[tuple[str, type, str]]:
    """(field name, table class, column key) for each column ``sources`` names."""
    named = []
    for source in sources:
        if isinstance(source, type):
            named += [(c.key, source, c.key) for c in source.__table__.columns if c.key not in skip]
        elif isinstance(source, Label):
            table = source.element.table
            model = next(m.class_ for m in Base.registry.mappers if m.local_table is table)
            named.append((source.name, model, source.element.key))
        else:
            named.append((source.key, source.class_, source.key))
    return named


@dataclass(frozen=True)
@columns(File.page_id, File.title, FileVersion, skip=("id", "file_id", "ingested_at"),
         defaults=True)
class FileVersionIn:
    """One version (one sha1) of a file page, as the wiki's imageinfo describes it.

    ``source`` says where it was found: ``"uploadlog"``, ``"category:Foo"``, ``"explicit"``.
    """

    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
@columns(FileVersion.id.label("version_id"), File.page_id, File.title, FileVersion.sha1,
         FileVersion.mime, FileVersion.media_type, FileVersion.size, FileVersion.url,
         FileVersion.thumb_url, ScoreTask.attempts, FileVersion.uploaded_at,
         FileVersion.duration)
class PendingVersion:
    """A version claimed for scoring by one worker until its lease expires."""

    uploaded_at: datetime | None = None  # how long a video has waited for its transcodes
    duration: float | None = None        # where to ask the wiki for frame thumbnails
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class SignatureIn:
    """The match signature of one scored frame, as plain bytes.

    :param pdq: 32 bytes (256-bit PDQ hash); ``pdq_quality`` 0..100
    :param embedding: the model's unit feature as float16 bytes, or None
    """

    frame_index: int
    pdq: bytes
    pdq_quality: int
    embedding: bytes | None = None


@dataclass(frozen=True)
@columns(Score, skip=("id", "version_id", "model_id", "worker"), defaults=True)
class ScoreIn:
    """What one model said about one version: a verdict, or a final error.

    ``frames`` holds ``(index, time, score)`` triples. An ``error_kind`` with
    ``partial=False`` is a final scoring error (an undecodable file); transient
    failures go to :meth:`storage.Store.record_failure` instead.
    """

    frames: tuple[tuple[int, float | None, float], ...] | list = ()
    timings: dict[str, float] = field(default_factory=dict)
    scored_at: datetime | None = None  # None: now
    #: one match signature per scored frame, stored in the same transaction (revision 0004)
    signatures: tuple[SignatureIn, ...] | list = ()


@dataclass(frozen=True)
@columns(FileVersion.id.label("version_id"), File.page_id, File.title, FileVersion,
         Score.model_id, Score.score, Score.flagged_share, Score.frames, Score.evidence_index,
         Score.evidence_time, Score.partial, Score.scored_at,
         skip=("id", "file_id", "categories", "source", "log_id", "ingested_at"))
class FlaggedVersion:
    """A flagged version waiting for a patroller, with what the review page shows.

    ``media_type`` is the scorer's when it gave one, else the file's.
    """

    score: float  # a flagged version always has one
    frames: tuple[tuple[int, float | None, float], ...]
    review_state: str | None  # the entry's state on the page asked about, if any


@dataclass(frozen=True)
@columns(ReviewEntry.version_id, File.page_id, File.title, ReviewEntry, skip=("id",))
class ReviewEntryRecord:
    """A version's entry on one review page."""


@dataclass(frozen=True)
@columns(Verdict, skip=("id", "recorded_at"), defaults=True)
class VerdictIn:
    """A patroller's verdict read from the review page at revision ``revid``.

    ``verdict`` is "nsfw", "sfw", or another value the review page allows.
    """

    revid: int | None  # None: no revision (stored as 0)


@dataclass(frozen=True)
@columns(Verdict.id, Verdict.version_id, File.title, Verdict, skip=("recorded_at",))
class VerdictRecord:
    """A stored verdict, with the file's current title."""

    revid: int | None


@dataclass(frozen=True)
@columns(FileVersion.id.label("version_id"), File.title, FileVersion.url, FileVersion.thumb_url)
class LabelledVersion:
    """A version with a human label, for evaluation and training.

    ``label`` comes from the latest (trusted, if asked) verdict;
    ``scores`` maps model id to the stored file score.
    """

    label: str  # "nsfw" | "sfw"
    categories: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True)
@columns(Run)
class RunRecord:
    """One command run: what it counted, and its error if it failed."""

    counts: dict  # {} when nothing was counted

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
