"""The scoring queue: leases for workers, scores, and transient failures with backoff.

Leasing itself (which rows, ``SKIP LOCKED``) is :mod:`storage.claims`; this
module is what a worker calls around it. A final scoring error (an
undecodable file) is a score; a transient one (a download's 503) is a failure,
retried later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from . import claims
from .engine import insert_ignoring
from .records import PendingVersion, ScoreIn
from .schema import File, FileVersion, Score, ScoreTask, Signature
from .signatures import signature_rows
from .types import utc, utcnow
from .values import MESSAGE_MAX, chunks, finite, fit

__all__ = ["ScoringMixin"]


class ScoringMixin:
    """Claims, scores and failures. Mixed into :class:`storage.Store`, which provides
    ``_run`` (one transaction, retried whole on a deadlock) and ``dialect``."""

    dialect: str
    _run: Callable[..., Any]

    def claim(self, model_id: str, *, worker: str, limit: int, lease_seconds: float = 600,
              max_claims: int = 10, sources: Iterable[str] | None = None,
              titles: Iterable[str] | None = None) -> list[PendingVersion]:
        """Lease up to ``limit`` versions that ``model_id`` has not scored yet.

        Versions another worker holds (lease not expired), versions in failure
        backoff and given-up versions are skipped. Call :meth:`record_score` /
        :meth:`record_failure` before the lease expires, or another worker may
        take the version over. A version whose lease expired ``max_claims``
        times without either is given up (kind ``abandoned``): it probably
        kills its worker.

        :param sources: only versions found by these sources (``"uploadlog"``: new uploads
            before backfill work, which is left to backfill workers)
        :param titles: only versions of these files (``score TITLE...``)
        """
        if limit <= 0:
            return []
        where = claims.scope(sources=sources, titles=titles)

        def claim_some(want: int) -> list[PendingVersion]:
            return self._run(lambda s: claims.claim_tasks(
                s, model_id=model_id, worker=worker, limit=want, lease_seconds=lease_seconds,
                max_claims=max_claims, where=where))

        claimed = claim_some(limit)
        if len(claimed) < limit:
            self._run(lambda s: claims.add_tasks(s, model_id=model_id,
                                                 limit=max(1000, 4 * limit), where=where))
            claimed += claim_some(limit - len(claimed))
        return claimed

    def release(self, version_ids: Iterable[int], model_id: str, *, worker: str) -> int:
        """Give leased versions back unscored (a worker shutting down cleanly)."""
        return self._give_back(version_ids, model_id, worker=worker)

    def defer(self, version_ids: Iterable[int], model_id: str, *, worker: str) -> int:
        """Give leased versions back unscored and uncounted: this claim was no try (the media host
        asked the bot to stay away for the rest of the run), so it neither costs an attempt nor
        brings the version nearer to being given up as ``abandoned``."""
        return self._give_back(version_ids, model_id, worker=worker,
                               claims=case((ScoreTask.claims > 0, ScoreTask.claims - 1), else_=0))

    def _give_back(self, version_ids: Iterable[int], model_id: str, *, worker: str, **values) -> int:
        """End ``worker``'s leases on these versions (pending ones only); ``values`` also set.
        :returns: how many leases ended"""
        ids = list(version_ids)
        now = utcnow()

        def work(session: Session) -> int:
            ended = 0
            for chunk in chunks(ids):
                ended += session.execute(
                    update(ScoreTask).where(ScoreTask.model_id == model_id,
                                            ScoreTask.version_id.in_(chunk),
                                            ScoreTask.worker == worker,
                                            ScoreTask.state == "pending")
                    .values(worker=None, available_at=now, updated_at=now, **values)).rowcount
            return ended

        return self._run(work)

    def record_score(self, version_id: int, model_id: str, score: ScoreIn, *,
                     worker: str | None = None) -> bool:
        """Store a score and release the lease. :returns: False if it was already stored."""
        return self.record_scores([(version_id, model_id, score)], worker=worker)[0]

    def record_scores(self, batch: Iterable[tuple[int, str, ScoreIn]], *,
                      worker: str | None = None) -> list[bool]:
        """Store many scores in one transaction (much faster than one by one), each with
        its frames' match signatures (``ScoreIn.signatures``).

        :returns: per item, True if newly stored, False if that (version, model) was already scored
        """
        batch = list(batch)
        if not batch:
            return []
        now = utcnow()
        rows = [_score_row(version_id, model_id, score, worker, now)
                for version_id, model_id, score in batch]
        signatures = {(version_id, model_id): signature_rows(version_id, model_id, score.signatures, now)
                      for version_id, model_id, score in batch if score.signatures}

        def work(session: Session) -> list[bool]:
            if self.dialect == "sqlite":
                inserted = _insert_scores_sqlite(session, rows)
            else:
                stmt = insert_ignoring(self.dialect, Score.__table__, ["version_id", "model_id"])
                inserted = {tuple(row) for row in session.execute(
                    stmt.returning(Score.version_id, Score.model_id), rows)}
            new_signatures = [row for key in sorted(inserted) for row in signatures.get(key, ())]
            if new_signatures:  # only with a score stored now: a re-scored version keeps its first ones
                session.execute(insert_ignoring(self.dialect, Signature.__table__,
                                                ["version_id", "model_id", "frame_index"]), new_signatures)
            # a version scored without a claim (``score TITLE``) gets its task too, as done: a
            # failure a late thread reports afterwards must find it finished, not start a retry
            session.execute(insert_ignoring(self.dialect, ScoreTask.__table__, ["version_id", "model_id"]),
                            [claims.new_task(version_id, model_id, now)
                             for version_id, model_id in sorted({(v, m) for v, m, _ in batch})])
            by_model: dict[str, list[int]] = {}
            for version_id, model_id, _ in batch:
                by_model.setdefault(model_id, []).append(version_id)
            for model_id, ids in by_model.items():
                for chunk in chunks(sorted(set(ids))):
                    session.execute(update(ScoreTask)
                                    .where(ScoreTask.model_id == model_id,
                                           ScoreTask.version_id.in_(chunk))
                                    .values(state="done", worker=None, updated_at=now))
            seen: set[tuple[int, str]] = set()
            result = []
            for version_id, model_id, _ in batch:
                key = (version_id, model_id)
                result.append(key in inserted and key not in seen)
                seen.add(key)
            return result

        return self._run(work)

    def record_failure(self, version_id: int, model_id: str, *, stage: str, kind: str,
                       message: str, max_attempts: int = 5,
                       backoff_seconds: float = 3600) -> bool:
        """Note a transient failure (a download's 503): retry later, with exponential backoff.

        The n-th failure waits ``backoff_seconds * 2**(n-1)``; after
        ``max_attempts`` failures the version is given up (shown in status).
        :returns: True if the version is now given up
        """
        now = utcnow()
        message = (message or "")[:MESSAGE_MAX]

        def work(session: Session) -> bool:
            session.execute(insert_ignoring(self.dialect, ScoreTask.__table__,
                                            ["version_id", "model_id"]),
                            [claims.new_task(version_id, model_id, now)])
            task = session.execute(select(ScoreTask.id, ScoreTask.attempts, ScoreTask.state)
                                   .where(ScoreTask.version_id == version_id,
                                          ScoreTask.model_id == model_id)
                                   .with_for_update()).one()
            if task.state != "pending":  # scored (or given up) meanwhile: nothing to retry
                return task.state == "given_up"
            attempts = task.attempts + 1
            given_up = attempts >= max_attempts
            delay = backoff_seconds * 2 ** (attempts - 1)
            session.execute(update(ScoreTask).where(ScoreTask.id == task.id).values(
                attempts=attempts, state="given_up" if given_up else "pending", worker=None,
                available_at=now + timedelta(seconds=min(delay, 365 * 86400)),
                last_stage=fit(ScoreTask.last_stage, stage),
                last_kind=fit(ScoreTask.last_kind, kind), last_message=message,
                updated_at=now))
            return given_up

        return self._run(work)

    def record_skip(self, version_id: int, model_id: str, *, kind: str, message: str = "") -> bool:
        """Settle a version without scoring it: nothing visual to score (``audio``) or the
        version is gone from the wiki (``deleted``). Final, not an error: never retried,
        counted apart in status. :returns: False if it was scored meanwhile."""
        return self._settle(version_id, model_id, state="skipped", kind=kind, message=message)

    def record_wait(self, version_id: int, model_id: str, *, kind: str, message: str = "",
                    seconds: float) -> None:
        """Put a version back for later without counting a failed attempt (a video whose
        transcodes are not ready yet): it is neither an error nor ever given up for this."""
        self._settle(version_id, model_id, state="pending", kind=kind, message=message,
                     later=seconds)

    def _settle(self, version_id: int, model_id: str, *, state: str, kind: str, message: str,
                later: float = 0.0) -> bool:
        now = utcnow()

        def work(session: Session) -> bool:
            session.execute(insert_ignoring(self.dialect, ScoreTask.__table__,
                                            ["version_id", "model_id"]),
                            [claims.new_task(version_id, model_id, now)])
            done = session.execute(
                update(ScoreTask).where(ScoreTask.version_id == version_id,
                                        ScoreTask.model_id == model_id,
                                        ScoreTask.state.in_(("pending", "skipped")))
                .values(state=state, worker=None, claims=0,  # a wait is an answer, not a lost lease
                        available_at=now + timedelta(seconds=min(later, 365 * 86400)),
                        last_stage="wait" if state == "pending" else "skip",
                        last_kind=fit(ScoreTask.last_kind, kind),
                        last_message=(message or "")[:MESSAGE_MAX], updated_at=now)).rowcount
            return bool(done)

        return self._run(work)

    def retry_given_up(self, model_id: str, *, kind: str | None = None) -> int:
        """Put given-up versions back in the queue (after fixing what made them fail), all or
        those whose last failure was ``kind`` (``http-503``, ``abandoned``...)."""
        now = utcnow()
        where = [ScoreTask.model_id == model_id, ScoreTask.state == "given_up"]
        if kind is not None:
            where.append(ScoreTask.last_kind == kind)
        return self._run(lambda s: s.execute(
            update(ScoreTask).where(*where)
            .values(state="pending", attempts=0, claims=0, available_at=now, updated_at=now)).rowcount)

    def latest_scores(self, model_id: str, titles: Iterable[str]) -> dict[str, ScoreOut]:
        """The stored score of each title's newest scored version (``score TITLE...`` prints them)."""
        titles = list(titles)

        def work(session: Session) -> dict[str, ScoreOut]:
            found: dict[str, ScoreOut] = {}
            for chunk in chunks(titles):
                rows = session.execute(
                    select(File.title, Score.score, Score.flagged, Score.error_kind,
                           Score.threshold, Score.vote_rule)
                    .join(FileVersion, FileVersion.id == Score.version_id)
                    .join(File, File.id == FileVersion.file_id)
                    .where(Score.model_id == model_id, File.title.in_(chunk))
                    .order_by(FileVersion.id))
                for r in rows:  # newest version last
                    found[r.title] = ScoreOut(score=r.score, flagged=r.flagged, error_kind=r.error_kind,
                                              threshold=r.threshold, vote_rule=r.vote_rule)
            return found

        return self._run(work, write=False)

    def has_score(self, version_id: int, model_id: str) -> bool:
        return self._run(lambda s: s.scalar(select(Score.id).where(
            Score.version_id == version_id, Score.model_id == model_id)) is not None, write=False)

    def scored_version_ids(self, model_id: str, page_ids: Iterable[int] | None = None) -> set[int]:
        """Ids of the versions ``model_id`` has scored, optionally only of these pages."""
        page_ids = None if page_ids is None else list(page_ids)

        def work(session: Session) -> set[int]:
            query = select(Score.version_id).where(Score.model_id == model_id)
            if page_ids is None:
                return set(session.scalars(query))
            found: set[int] = set()
            for chunk in chunks(page_ids):
                found.update(session.scalars(
                    query.join(FileVersion, FileVersion.id == Score.version_id)
                    .join(File, File.id == FileVersion.file_id).where(File.page_id.in_(chunk))))
            return found

        return self._run(work, write=False)

    def pending_count(self, model_id: str) -> int:
        """Versions ``model_id`` has not scored and has not given up on (leased or not)."""
        def work(session: Session) -> int:
            versions = session.scalar(select(func.count()).select_from(FileVersion)) or 0
            scored = session.scalar(select(func.count()).select_from(Score)
                                    .where(Score.model_id == model_id)) or 0
            given_up = session.scalar(select(func.count()).select_from(ScoreTask).where(
                ScoreTask.model_id == model_id, ScoreTask.state.in_(("given_up", "skipped")))) or 0
            return max(0, versions - scored - given_up)

        return self._run(work, write=False)


@dataclass(frozen=True)
class ScoreOut:
    """A stored verdict as ``score TITLE...`` prints it."""

    score: float | None
    flagged: bool
    error_kind: str | None
    #: what ``flagged`` was decided under (None: stored before revision 0004)
    threshold: float | None = None
    vote_rule: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_kind is None


def _score_row(version_id: int, model_id: str, s: ScoreIn, worker: str | None,
               now: datetime) -> dict:
    frames = [[int(i), finite(t), finite(v)] for i, t, v in s.frames]
    return dict(version_id=version_id, model_id=model_id,
                flagged=None if s.flagged is None else bool(s.flagged),
                score=finite(s.score), media_type=fit(Score.media_type, s.media_type),
                frames=frames, flagged_share=finite(s.flagged_share),
                evidence_index=None if s.evidence_index is None else int(s.evidence_index),
                evidence_time=finite(s.evidence_time),
                error_kind=fit(Score.error_kind, s.error_kind),
                error_message=None if s.error_message is None else s.error_message[:MESSAGE_MAX],
                partial=bool(s.partial),
                timings={k: finite(v) for k, v in (s.timings or {}).items()},
                scored_at=s.scored_at or now, worker=fit(Score.worker, worker),
                threshold=finite(s.threshold), vote_rule=fit(Score.vote_rule, s.vote_rule))


#: every column of a score row but its id, in the order the bare INSERT below names them
_SCORE_COLUMNS = tuple(c.key for c in Score.__table__.columns if c.key != "id")


def _insert_scores_sqlite(session: Session, rows: list[dict]) -> set[tuple[int, str]]:
    """The bulk-score hot path on SQLite: bare ``executemany``, about 3x faster than
    SQLAlchemy's per-row parameter processing. Exact without RETURNING because the
    transaction holds SQLite's only write lock (``BEGIN IMMEDIATE``): nothing else can
    insert between the look-up and the insert."""
    keys = {(r["version_id"], r["model_id"]) for r in rows}
    existing: set[tuple[int, str]] = set()
    models = sorted({model for _, model in keys})
    for chunk in chunks(sorted({version for version, _ in keys})):
        existing.update(tuple(row) for row in session.execute(
            select(Score.version_id, Score.model_id)
            .where(Score.version_id.in_(chunk), Score.model_id.in_(models))))
    fresh: dict[tuple[int, str], tuple] = {}
    for r in rows:
        key = (r["version_id"], r["model_id"])
        if key in existing or key in fresh:
            continue
        values = dict(r)
        values["frames"] = json.dumps(values["frames"])
        values["timings"] = json.dumps(values["timings"])
        # SQLAlchemy's own SQLite DATETIME format, so the ORM reads these back unchanged
        values["scored_at"] = utc(values["scored_at"]).replace(tzinfo=None).isoformat(
            " ", "microseconds")
        fresh[key] = tuple(values[c] for c in _SCORE_COLUMNS)
    if fresh:
        session.connection().exec_driver_sql(
            f"INSERT INTO scores ({', '.join(_SCORE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_SCORE_COLUMNS))})", list(fresh.values()))
    return set(fresh)
