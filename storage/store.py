"""The store: every write is one short transaction, idempotent, and retried on deadlock.

Callers pass and get plain records (:mod:`storage.records`). Each public
method is one transaction: it either happened completely or not at all, so a
crash between two calls loses nothing and a repeated call duplicates nothing.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import claims as _claims
from .engine import default_url, describe, insert_ignoring, make_engine, storage_errors
from .errors import StorageError
from .migrate import current_revision, head_revision, upgrade_engine
from .records import (FINAL_REVIEW_STATES, NSFW_VERDICTS, SFW_VERDICTS, FileVersionIn,
                      FlaggedVersion, LabelledVersion, PendingVersion, ReviewEntryRecord,
                      RunRecord, ScoreIn, VerdictIn, VerdictRecord)
from .schema import (Cursor, File, FileVersion, ReviewEntry, Run, Score, ScoreTask, Verdict)
from .status import StatusReport, build_status, cursor_values, recent_runs
from .types import utc, utcnow

__all__ = ["Store", "open_store", "upgrade"]

T = TypeVar("T")

_CHUNK = 400          # rows per IN (...) list: well under every server's parameter limit
_MESSAGE_MAX = 4000   # error messages are for humans; a traceback's first 4000 characters will do
_RETRIES = 5


def open_store(url: str | None = None, *, data_dir: Path | None = None,
               busy_timeout: float = 30.0, migrate: bool = True) -> Store:
    """Open (and migrate) the bot's database.

    :param url: SQLAlchemy URL; None means SQLite at ``data_dir/bot.sqlite3``
    :param data_dir: the bot's data directory (needed when ``url`` is None)
    :param busy_timeout: seconds to wait for a lock held by another process
    :param migrate: apply pending Alembic migrations (the default); without it a
        database that is not at the newest revision is an error
    :raises StorageError: the database is down, locked, corrupt or too old
    """
    if url is None:
        if data_dir is None:
            raise StorageError("open_store needs a database URL or the bot's data directory")
        url = default_url(data_dir)
    store = Store(make_engine(url, busy_timeout=busy_timeout))
    try:
        if migrate:
            store.upgrade()
        else:
            store.check_revision()
    except BaseException:
        store.close()
        raise
    return store


def upgrade(url: str) -> str:
    """Migrate the database at ``url`` to the newest revision; returns that revision."""
    store = open_store(url)
    store.close()
    return head_revision()


class Store:
    """The bot's memory. Thread-safe; one per process (each holds a connection pool)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = describe(engine.url)
        self.dialect = engine.dialect.name

    # --- lifecycle --------------------------------------------------------

    def upgrade(self) -> None:
        """Apply pending migrations (several processes may call this at once)."""
        with storage_errors(self.url):
            upgrade_engine(self.engine)

    def check_revision(self) -> None:
        current = self.revision()
        if current != head_revision():
            raise StorageError(f"database {self.url} is at revision {current}, the code needs "
                               f"{head_revision()}: run `python -m bot db upgrade`")

    def revision(self) -> str | None:
        with storage_errors(self.url), self._reader() as connection:
            return current_revision(connection)

    def _reader(self):
        return self.engine.connect().execution_options(sqlite_immediate=False)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work`` in one transaction; retry it whole on a deadlock."""
        for attempt in range(_RETRIES):
            try:
                with storage_errors(self.url), self.engine.connect() as connection:
                    if self.dialect == "sqlite":
                        connection = connection.execution_options(sqlite_immediate=write)
                    with Session(bind=connection, expire_on_commit=False) as session:
                        with session.begin():
                            return work(session)
            except DBAPIError as exc:
                if attempt + 1 < _RETRIES and _is_retryable(exc):
                    time.sleep(0.05 * 2 ** attempt)
                    continue
                raise
        raise AssertionError("unreachable")

    # --- ingest -----------------------------------------------------------

    def add_file_versions(self, versions: Iterable[FileVersionIn], *,
                          cursor: tuple[str, dict] | None = None) -> list[int]:
        """Store file versions as pending and move a source's cursor, in one transaction.

        Files are matched by page id (the title is updated to the newest one
        given); versions by (file, sha1), so repeating a call changes nothing.
        :returns: the version id of each input, in input order
        """
        versions = list(versions)
        now = utcnow()

        def work(session: Session) -> list[int]:
            file_ids = self._upsert_files(session, versions, now)
            ids = self._upsert_versions(session, versions, file_ids, now)
            self._update_current_versions(session, versions, file_ids, ids)
            if cursor is not None:
                self._set_cursor(session, cursor[0], cursor[1], now)
            return ids

        return self._run(work)

    def _upsert_files(self, session: Session, versions: list[FileVersionIn],
                      now: datetime) -> dict[int, int]:
        titles = {v.page_id: v.title for v in versions}  # the last title given wins
        existing: dict[int, tuple[int, str]] = {}

        def look_up(page_ids: list[int]) -> None:
            for chunk in _chunks(page_ids):
                for row in session.execute(select(File.page_id, File.id, File.title)
                                           .where(File.page_id.in_(chunk))):
                    existing[row.page_id] = (row.id, row.title)

        look_up(list(titles))
        new = [dict(page_id=p, title=t, first_seen_at=now, updated_at=now)
               for p, t in titles.items() if p not in existing]
        if new:
            session.execute(insert_ignoring(self.dialect, File.__table__, ["page_id"]), new)
            look_up([row["page_id"] for row in new])
        for page_id, title in titles.items():
            file_id, stored = existing[page_id]
            if stored != title:  # the page was renamed
                session.execute(update(File).where(File.id == file_id)
                                .values(title=title, updated_at=now))
        return {page_id: file_id for page_id, (file_id, _) in existing.items()}

    def _upsert_versions(self, session: Session, versions: list[FileVersionIn],
                         file_ids: dict[int, int], now: datetime) -> list[int]:
        keys = [(file_ids[v.page_id], v.sha1) for v in versions]
        found = self._version_ids(session, set(keys))
        missing: dict[tuple[int, str], dict] = {}
        for key, v in zip(keys, versions):
            if key not in found and key not in missing:
                missing[key] = _version_row(v, key[0], now)
        if missing:
            session.execute(insert_ignoring(self.dialect, FileVersion.__table__,
                                            ["file_id", "sha1"]), list(missing.values()))
            found.update(self._version_ids(session, set(missing)))
        return [found[key] for key in keys]

    @staticmethod
    def _version_ids(session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        found: dict[tuple[int, str], int] = {}
        by_file: dict[int, list[str]] = {}
        for file_id, sha1 in keys:
            by_file.setdefault(file_id, []).append(sha1)
        for chunk in _chunks(list(by_file)):
            rows = session.execute(select(FileVersion.file_id, FileVersion.sha1, FileVersion.id)
                                   .where(FileVersion.file_id.in_(chunk)))
            for row in rows:
                if (row.file_id, row.sha1) in keys:
                    found[(row.file_id, row.sha1)] = row.id
        return found

    @staticmethod
    def _update_current_versions(session: Session, versions: list[FileVersionIn],
                                 file_ids: dict[int, int], ids: list[int]) -> None:
        """Point each file at the version uploaded last (a revert makes an old one current)."""
        newest: dict[int, tuple[datetime | None, int]] = {}
        for v, version_id in zip(versions, ids):
            file_id, when = file_ids[v.page_id], utc(v.uploaded_at)
            best = newest.get(file_id)
            if best is None or (when is not None and (best[0] is None or when >= best[0])):
                newest[file_id] = (when, version_id)
        files = File.__table__
        timed = [dict(b_id=f, b_vid=v, b_when=w) for f, (w, v) in newest.items() if w is not None]
        untimed = [dict(b_id=f, b_vid=v) for f, (w, v) in newest.items() if w is None]
        # one executemany each; the WHERE keeps a concurrent, newer ingest's choice
        if timed:
            session.connection().execute(
                update(files).where(files.c.id == bindparam("b_id"),
                                    or_(files.c.current_since.is_(None),
                                        files.c.current_since <= bindparam("b_when")))
                .values(current_version_id=bindparam("b_vid"), current_since=bindparam("b_when")),
                timed)
        if untimed:  # no upload time known: current only if nothing else is
            session.connection().execute(
                update(files).where(files.c.id == bindparam("b_id"),
                                    files.c.current_version_id.is_(None))
                .values(current_version_id=bindparam("b_vid")), untimed)

    # --- cursors ----------------------------------------------------------

    def get_cursor(self, name: str) -> dict | None:
        return self._run(lambda s: s.scalar(select(Cursor.value).where(Cursor.name == name)),
                         write=False)

    def set_cursor(self, name: str, value: dict) -> None:
        self._run(lambda s: self._set_cursor(s, name, value, utcnow()))

    def _set_cursor(self, session: Session, name: str, value: dict, now: datetime) -> None:
        value = json.loads(json.dumps(value))  # fail here, not half-way, on what JSON cannot hold
        done = session.execute(update(Cursor).where(Cursor.name == name)
                               .values(value=value, updated_at=now)).rowcount
        if not done:
            session.execute(insert_ignoring(self.dialect, Cursor.__table__, ["name"]),
                            [dict(name=name, value=value, updated_at=now)])
            session.execute(update(Cursor).where(Cursor.name == name)
                            .values(value=value, updated_at=now))

    def cursors(self) -> dict[str, tuple[dict, datetime]]:
        return self._run(cursor_values, write=False)

    # --- scoring ----------------------------------------------------------

    def claim(self, model_id: str, *, worker: str, limit: int, lease_seconds: float = 600,
              max_claims: int = 10) -> list[PendingVersion]:
        """Lease up to ``limit`` versions that ``model_id`` has not scored yet.

        Versions another worker holds (lease not expired), versions in failure
        backoff and given-up versions are skipped. Call :meth:`record_score` /
        :meth:`record_failure` before the lease expires, or another worker may
        take the version over. A version whose lease expired ``max_claims``
        times without either is given up (kind ``abandoned``): it probably
        kills its worker.
        """
        if limit <= 0:
            return []

        def claim_some(want: int) -> list[PendingVersion]:
            return self._run(lambda s: _claims.claim_tasks(
                s, model_id=model_id, worker=worker, limit=want, lease_seconds=lease_seconds,
                max_claims=max_claims))

        claimed = claim_some(limit)
        if len(claimed) < limit:
            self._run(lambda s: _claims.add_tasks(s, model_id=model_id,
                                                  limit=max(1000, 4 * limit)))
            claimed += claim_some(limit - len(claimed))
        return claimed

    def release(self, version_ids: Iterable[int], model_id: str, *, worker: str) -> int:
        """Give leased versions back unscored (a worker shutting down cleanly)."""
        ids = list(version_ids)
        now = utcnow()

        def work(session: Session) -> int:
            released = 0
            for chunk in _chunks(ids):
                released += session.execute(
                    update(ScoreTask).where(ScoreTask.model_id == model_id,
                                            ScoreTask.version_id.in_(chunk),
                                            ScoreTask.worker == worker,
                                            ScoreTask.state == "pending")
                    .values(worker=None, available_at=now, updated_at=now)).rowcount
            return released

        return self._run(work)

    def record_score(self, version_id: int, model_id: str, score: ScoreIn, *,
                     worker: str | None = None) -> bool:
        """Store a score and release the lease. :returns: False if it was already stored."""
        return self.record_scores([(version_id, model_id, score)], worker=worker)[0]

    def record_scores(self, batch: Iterable[tuple[int, str, ScoreIn]], *,
                      worker: str | None = None) -> list[bool]:
        """Store many scores in one transaction (much faster than one by one).

        :returns: per item, True if newly stored, False if that (version, model) was already scored
        """
        batch = list(batch)
        if not batch:
            return []
        now = utcnow()
        rows = [_score_row(version_id, model_id, score, worker, now)
                for version_id, model_id, score in batch]

        def work(session: Session) -> list[bool]:
            if self.dialect == "sqlite":
                inserted = _insert_scores_sqlite(session, rows)
            else:
                stmt = insert_ignoring(self.dialect, Score.__table__, ["version_id", "model_id"])
                inserted = {tuple(row) for row in session.execute(
                    stmt.returning(Score.version_id, Score.model_id), rows)}
            by_model: dict[str, list[int]] = {}
            for version_id, model_id, _ in batch:
                by_model.setdefault(model_id, []).append(version_id)
            for model_id, ids in by_model.items():
                for chunk in _chunks(sorted(set(ids))):
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
        message = (message or "")[:_MESSAGE_MAX]

        def work(session: Session) -> bool:
            session.execute(insert_ignoring(self.dialect, ScoreTask.__table__,
                                            ["version_id", "model_id"]),
                            [_claims.new_task(version_id, model_id, now)])
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
                last_stage=stage[:32], last_kind=kind[:64], last_message=message,
                updated_at=now))
            return given_up

        return self._run(work)

    def retry_given_up(self, model_id: str) -> int:
        """Put given-up versions back in the queue (after fixing what made them fail)."""
        now = utcnow()
        return self._run(lambda s: s.execute(
            update(ScoreTask).where(ScoreTask.model_id == model_id, ScoreTask.state == "given_up")
            .values(state="pending", attempts=0, available_at=now, updated_at=now)).rowcount)

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
            for chunk in _chunks(page_ids):
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
                ScoreTask.model_id == model_id, ScoreTask.state == "given_up")) or 0
            return max(0, versions - scored - given_up)

        return self._run(work, write=False)

    def uploads_per_day(self, *, days: float = 7.0,
                        source: str = "uploadlog") -> tuple[float, str] | None:
        """The upload rate seen in the upload log over the last ``days`` before its newest
        entry, with how it was measured; None with less than an hour of log."""

        def work(session: Session):
            uploaded = FileVersion.uploaded_at
            newest = session.scalar(select(func.max(uploaded)).where(FileVersion.source == source))
            if newest is None:
                return None
            count, oldest = session.execute(
                select(func.count(), func.min(uploaded))
                .where(FileVersion.source == source, uploaded >= newest - timedelta(days=days))).one()
            return count, oldest, newest

        found = self._run(work, write=False)
        if found is None:
            return None
        count, oldest, newest = found
        span = (newest - oldest).total_seconds()
        if span < 3600 or count < 2:
            return None
        return ((count - 1) / span * 86400.0,
                f"measured from {count:,} upload-log entries over {span / 86400:.1f} days")

    # --- runs -------------------------------------------------------------

    def start_run(self, kind: str, *, worker: str) -> int:
        def work(session: Session) -> int:
            run = Run(kind=kind, worker=worker, started_at=utcnow(), counts={})
            session.add(run)
            session.flush()
            return run.id

        return self._run(work)

    def finish_run(self, run_id: int, *, counts: dict, error: str | None = None) -> None:
        counts = json.loads(json.dumps(counts))
        self._run(lambda s: s.execute(update(Run).where(Run.id == run_id).values(
            finished_at=utcnow(), counts=counts,
            error=None if error is None else error[:_MESSAGE_MAX])))

    def runs(self, *, limit: int = 10, kind: str | None = None) -> list[RunRecord]:
        return self._run(lambda s: recent_runs(s, limit, kind), write=False)

    # --- review -----------------------------------------------------------

    def flagged_for_review(self, model_id: str, *, threshold: float, limit: int,
                           page: str | None = None, current_only: bool = True,
                           exclude_states: Sequence[str] = FINAL_REVIEW_STATES,
                           ) -> list[FlaggedVersion]:
        """Versions scoring at least ``threshold`` that no patroller has judged yet.

        Highest score first. Versions with any verdict, or with a review entry
        (on ``page``, or on any page when None) in one of ``exclude_states``,
        are left out; so are versions a later upload replaced (``current_only``).
        """

        def work(session: Session) -> list[FlaggedVersion]:
            entry_filter = [ReviewEntry.version_id == FileVersion.id]
            if page is not None:
                entry_filter.append(ReviewEntry.page == page)
            has_verdict = select(Verdict.id).where(Verdict.version_id == FileVersion.id).exists()
            finished = (select(ReviewEntry.id)
                        .where(*entry_filter, ReviewEntry.state.in_(list(exclude_states)))
                        .exists())
            state = (select(ReviewEntry.state).where(*entry_filter)
                     .order_by(ReviewEntry.updated_at.desc()).limit(1).scalar_subquery())
            query = (select(FileVersion, File.page_id, File.title, Score, state.label("state"))
                     .join(File, File.id == FileVersion.file_id)
                     .join(Score, Score.version_id == FileVersion.id)
                     .where(Score.model_id == model_id, Score.score >= threshold,
                            or_(Score.error_kind.is_(None), Score.partial.is_(True)),
                            ~has_verdict, ~finished)
                     .order_by(Score.score.desc(), FileVersion.id)
                     .limit(limit))
            if current_only:
                query = query.where(or_(File.current_version_id.is_(None),
                                        File.current_version_id == FileVersion.id))
            return [_flagged(row) for row in session.execute(query)]

        return self._run(work, write=False)

    def upsert_review_entry(self, version_id: int, *, page: str, state: str,
                            revid: int | None = None) -> None:
        now = utcnow()

        def work(session: Session) -> None:
            session.execute(insert_ignoring(self.dialect, ReviewEntry.__table__,
                                            ["version_id", "page"]),
                            [dict(version_id=version_id, page=page, state=state, revid=revid,
                                  created_at=now, updated_at=now)])
            session.execute(update(ReviewEntry)
                            .where(ReviewEntry.version_id == version_id, ReviewEntry.page == page)
                            .values(state=state, revid=revid, updated_at=now))

        self._run(work)

    def review_entries(self, page: str, *, states: Iterable[str] | None = None,
                       ) -> list[ReviewEntryRecord]:
        query = (select(ReviewEntry, File.page_id, File.title)
                 .join(FileVersion, FileVersion.id == ReviewEntry.version_id)
                 .join(File, File.id == FileVersion.file_id)
                 .where(ReviewEntry.page == page)
                 .order_by(ReviewEntry.created_at, ReviewEntry.id))
        if states is not None:
            query = query.where(ReviewEntry.state.in_(list(states)))
        return self._run(lambda s: [
            ReviewEntryRecord(version_id=e.version_id, page_id=page_id, title=title, page=e.page,
                              state=e.state, revid=e.revid, created_at=e.created_at,
                              updated_at=e.updated_at)
            for e, page_id, title in s.execute(query)], write=False)

    def record_verdict(self, verdict: VerdictIn) -> bool:
        """Store a patroller's verdict. :returns: False if this (version, reviewer, revid) was stored."""
        row = dict(version_id=verdict.version_id, reviewer=verdict.reviewer,
                   verdict=verdict.verdict, revid=verdict.revid or 0,
                   timestamp=verdict.timestamp, trusted=bool(verdict.trusted),
                   comment=verdict.comment, recorded_at=utcnow())
        stmt = insert_ignoring(self.dialect, Verdict.__table__, ["version_id", "reviewer", "revid"])
        return self._run(lambda s: bool(s.execute(stmt.returning(Verdict.id), [row]).all()))

    def verdicts(self, version_id: int | None = None, trusted: bool | None = None,
                 ) -> list[VerdictRecord]:
        query = (select(Verdict, File.title)
                 .join(FileVersion, FileVersion.id == Verdict.version_id)
                 .join(File, File.id == FileVersion.file_id)
                 .order_by(Verdict.timestamp, Verdict.id))
        if version_id is not None:
            query = query.where(Verdict.version_id == version_id)
        if trusted is not None:
            query = query.where(Verdict.trusted.is_(trusted))
        return self._run(lambda s: [
            VerdictRecord(id=v.id, version_id=v.version_id, title=title, reviewer=v.reviewer,
                          verdict=v.verdict, revid=v.revid or None, timestamp=v.timestamp,
                          trusted=v.trusted, comment=v.comment)
            for v, title in s.execute(query)], write=False)

    def retire_reviewed(self, page: str, *, older_than: timedelta,
                        trusted_only: bool = True) -> list[int]:
        """Mark entries on ``page`` whose (trusted) verdict is older than ``older_than`` as
        retired, so the page can drop them. :returns: their version ids"""
        now = utcnow()
        cutoff = now - older_than

        def work(session: Session) -> list[int]:
            verdict = select(Verdict.id).where(Verdict.version_id == ReviewEntry.version_id,
                                               Verdict.timestamp <= cutoff)
            if trusted_only:
                verdict = verdict.where(Verdict.trusted.is_(True))
            ids = list(session.scalars(
                select(ReviewEntry.version_id)
                .where(ReviewEntry.page == page,
                       ReviewEntry.state.not_in(["retired", "removed"]), verdict.exists())
                .order_by(ReviewEntry.version_id)))
            for chunk in _chunks(ids):
                session.execute(update(ReviewEntry)
                                .where(ReviewEntry.page == page, ReviewEntry.version_id.in_(chunk))
                                .values(state="retired", updated_at=now))
            return ids

        return self._run(work)

    # --- learning ---------------------------------------------------------

    def labelled_versions(self, *, trusted_only: bool = True) -> list[LabelledVersion]:
        """Versions with a human label, the latest labelling verdict winning."""

        def work(session: Session) -> list[LabelledVersion]:
            query = (select(Verdict.version_id, Verdict.verdict)
                     .where(Verdict.verdict.in_(sorted(NSFW_VERDICTS | SFW_VERDICTS)))
                     .order_by(Verdict.timestamp, Verdict.id))
            if trusted_only:
                query = query.where(Verdict.trusted.is_(True))
            labels = {row.version_id: ("nsfw" if row.verdict in NSFW_VERDICTS else "sfw")
                      for row in session.execute(query)}
            scores: dict[int, dict[str, float]] = {}
            out: list[LabelledVersion] = []
            ids = sorted(labels)
            for chunk in _chunks(ids):
                for row in session.execute(select(Score.version_id, Score.model_id, Score.score)
                                           .where(Score.version_id.in_(chunk),
                                                  Score.score.is_not(None))):
                    scores.setdefault(row.version_id, {})[row.model_id] = row.score
                for version, title in session.execute(
                        select(FileVersion, File.title).join(File, File.id == FileVersion.file_id)
                        .where(FileVersion.id.in_(chunk)).order_by(FileVersion.id)):
                    out.append(LabelledVersion(
                        version_id=version.id, title=title, url=version.url,
                        thumb_url=version.thumb_url, label=labels[version.id],
                        categories=tuple(version.categories or ()),
                        scores=scores.get(version.id, {})))
            return out

        return self._run(work, write=False)

    # --- status -----------------------------------------------------------

    def status(self, model_id: str | None = None, *, runs: int = 5) -> StatusReport:
        """What an operator asks: queue, results, errors, verdicts, cursors, recent runs.

        :param model_id: the model to count for; None: the one that scored last
        """
        return self._run(lambda s: build_status(s, model_id=model_id, runs=runs,
                                                url=self.url, now=utcnow()), write=False)


# --- helpers --------------------------------------------------------------


def _chunks(items: Sequence, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in ("40P01", "40001"):  # PostgreSQL deadlock / serialization failure
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in (1213, 1020)  # MariaDB deadlock / record changed


def _cut(value: str | None, size: int) -> str | None:
    """Fit a column: a strict server would reject the row, a lax one truncate silently."""
    return None if value is None else value[:size]


def _finite(value) -> float | None:
    """A float, or None for missing and non-finite values (JSON and the servers refuse NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _version_row(v: FileVersionIn, file_id: int, now: datetime) -> dict:
    return dict(file_id=file_id, sha1=v.sha1, mime=_cut(v.mime, 100),
                media_type=_cut(v.media_type, 32), size=v.size, width=v.width, height=v.height,
                duration=_finite(v.duration), uploader=_cut(v.uploader, 255),
                uploaded_at=v.uploaded_at, url=v.url, thumb_url=v.thumb_url,
                categories=list(v.categories or ()), source=_cut(v.source, 255), log_id=v.log_id,
                ingested_at=now)


def _score_row(version_id: int, model_id: str, s: ScoreIn, worker: str | None,
               now: datetime) -> dict:
    frames = [[int(i), _finite(t), _finite(v)] for i, t, v in s.frames]
    return dict(version_id=version_id, model_id=model_id,
                flagged=None if s.flagged is None else bool(s.flagged),
                score=_finite(s.score), media_type=_cut(s.media_type, 32), frames=frames,
                flagged_share=_finite(s.flagged_share),
                evidence_index=None if s.evidence_index is None else int(s.evidence_index),
                evidence_time=_finite(s.evidence_time),
                error_kind=_cut(s.error_kind, 64),
                error_message=_cut(s.error_message, _MESSAGE_MAX),
                partial=bool(s.partial),
                timings={k: _finite(v) for k, v in (s.timings or {}).items()},
                scored_at=s.scored_at or now, worker=_cut(worker, 190))


_SCORE_COLUMNS = ("version_id", "model_id", "flagged", "score", "media_type", "frames",
                  "flagged_share", "evidence_index", "evidence_time", "error_kind",
                  "error_message", "partial", "timings", "scored_at", "worker")


def _insert_scores_sqlite(session: Session, rows: list[dict]) -> set[tuple[int, str]]:
    """The bulk-score hot path on SQLite: bare ``executemany``, about 3x faster than
    SQLAlchemy's per-row parameter processing. Exact without RETURNING because the
    transaction holds SQLite's only write lock (``BEGIN IMMEDIATE``): nothing else can
    insert between the look-up and the insert."""
    keys = {(r["version_id"], r["model_id"]) for r in rows}
    existing: set[tuple[int, str]] = set()
    models = sorted({model for _, model in keys})
    for chunk in _chunks(sorted({version for version, _ in keys})):
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


def _flagged(row) -> FlaggedVersion:
    version, page_id, title, score, state = row
    return FlaggedVersion(
        version_id=version.id, page_id=page_id, title=title, sha1=version.sha1,
        mime=version.mime, media_type=score.media_type or version.media_type, size=version.size,
        width=version.width, height=version.height, duration=version.duration,
        uploader=version.uploader, uploaded_at=version.uploaded_at, url=version.url,
        thumb_url=version.thumb_url, model_id=score.model_id, score=score.score,
        flagged_share=score.flagged_share,
        frames=tuple((int(i), t, float(v)) for i, t, v in (score.frames or ())),
        evidence_index=score.evidence_index, evidence_time=score.evidence_time,
        partial=score.partial, scored_at=score.scored_at, review_state=state)
