"""Leases: how several workers split the pending versions without overlap.

A ``score_tasks`` row per (version, model) is created lazily, the first time a
worker of that model looks for work (:func:`add_tasks`); ingest does not need
to know which models exist. :func:`claim_tasks` then leases rows whose
``available_at`` has passed: on PostgreSQL and MariaDB >= 10.6 with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers take different
rows instead of queueing on the same ones; on SQLite the transaction holds
the database's single write lock (``BEGIN IMMEDIATE``), which is atomic too.
An expired lease is simply claimable again: a killed worker's versions come
back after ``lease_seconds`` without anyone cleaning up.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .engine import insert_ignoring
from .records import PendingVersion
from .schema import File, FileVersion, Score, ScoreTask
from .types import utcnow

__all__ = ["claim_tasks", "add_tasks", "new_task", "scope", "supports_skip_locked"]


def new_task(version_id: int, model_id: str, now: datetime) -> dict:
    """A ``score_tasks`` row: pending, claimable now, never claimed nor tried."""
    return dict(version_id=version_id, model_id=model_id, state="pending", available_at=now,
                worker=None, claims=0, attempts=0, updated_at=now)


def supports_skip_locked(session: Session) -> bool:
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return True
    if dialect.name in ("mysql", "mariadb"):
        version = dialect.server_version_info or (0,)
        if getattr(dialect, "is_mariadb", False):
            return version >= (10, 6)
        return version >= (8, 0, 1)
    return False


def scope(*, sources=None, titles=None) -> list:
    """Conditions on ``FileVersion``/``File`` that limit a claim to some sources or titles
    (``run`` scores what the upload log brought; ``score TITLE...`` exactly those titles)."""
    where = []
    if sources is not None:
        where.append(FileVersion.source.in_(list(sources)))
    if titles is not None:
        where.append(FileVersion.file_id.in_(select(File.id).where(File.title.in_(list(titles)))))
    return where


def claim_tasks(session: Session, *, model_id: str, worker: str, limit: int,
                lease_seconds: float, max_claims: int, where=()) -> list[PendingVersion]:
    now = utcnow()
    query = (select(ScoreTask.id, ScoreTask.claims)
             .where(ScoreTask.model_id == model_id, ScoreTask.state == "pending",
                    ScoreTask.available_at <= now)
             .order_by(ScoreTask.available_at, ScoreTask.id)
             .limit(limit))
    if where:
        query = query.where(ScoreTask.version_id.in_(select(FileVersion.id).where(*where)))
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=supports_skip_locked(session))
    rows = session.execute(query).all()
    # leased again and again without a result or a failure: the version most likely
    # kills its worker (out of memory, a decoder crash), so stop handing it out
    abandoned = [row.id for row in rows if row.claims >= max_claims]
    if abandoned:
        session.execute(update(ScoreTask).where(ScoreTask.id.in_(abandoned)).values(
            state="given_up", worker=None, last_stage="lease", last_kind="abandoned",
            last_message=f"leased {max_claims} times without a result: the worker probably "
                         "died on it (out of memory, crash)", updated_at=now))
    task_ids = [row.id for row in rows if row.claims < max_claims]
    if not task_ids:
        return []
    expires = now + timedelta(seconds=lease_seconds)
    session.execute(update(ScoreTask).where(ScoreTask.id.in_(task_ids))
                    .values(worker=worker, available_at=expires, claims=ScoreTask.claims + 1,
                            updated_at=now))
    rows = session.execute(
        select(ScoreTask.version_id, ScoreTask.attempts, File.page_id, File.title,
               FileVersion.sha1, FileVersion.mime, FileVersion.media_type, FileVersion.size,
               FileVersion.url, FileVersion.thumb_url, FileVersion.uploaded_at,
               FileVersion.duration)
        .join(FileVersion, FileVersion.id == ScoreTask.version_id)
        .join(File, File.id == FileVersion.file_id)
        .where(ScoreTask.id.in_(task_ids))
        .order_by(ScoreTask.available_at, ScoreTask.id))
    return [PendingVersion(version_id=r.version_id, page_id=r.page_id, title=r.title,
                           sha1=r.sha1, mime=r.mime, media_type=r.media_type, size=r.size,
                           url=r.url, thumb_url=r.thumb_url, attempts=r.attempts,
                           uploaded_at=r.uploaded_at, duration=r.duration,
                           lease_expires_at=expires) for r in rows]


def add_tasks(session: Session, *, model_id: str, limit: int, where=()) -> int:
    """Create task rows for up to ``limit`` versions ``model_id`` has neither scored nor queued
    (of those matching ``where``, a :func:`scope`)."""
    now = utcnow()
    has_task = select(ScoreTask.id).where(ScoreTask.version_id == FileVersion.id,
                                          ScoreTask.model_id == model_id).exists()
    has_score = select(Score.id).where(Score.version_id == FileVersion.id,
                                       Score.model_id == model_id).exists()
    ids = list(session.scalars(select(FileVersion.id).where(~has_task, ~has_score, *where)
                               .order_by(FileVersion.id).limit(limit)))
    if not ids:
        return 0
    session.execute(insert_ignoring(session.get_bind().dialect.name, ScoreTask.__table__,
                                    ["version_id", "model_id"]),
                    [new_task(i, model_id, now) for i in ids])
    return len(ids)
