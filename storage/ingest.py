"""Ingest: file versions found on the wiki, and the cursors that say where each source stopped.

A batch of versions and its source's cursor move in one transaction, so a
crash can neither skip uploads nor lose the place in the log.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from .engine import insert_ignoring
from .records import FileVersionIn
from .schema import Cursor, File, FileVersion, ReviewEntry
from .status import cursor_values
from .types import utc, utcnow
from .values import chunks, finite, fit

__all__ = ["IngestMixin"]


class IngestMixin:
    """Files, versions and cursors. Mixed into :class:`storage.Store`, which provides
    ``_run`` (one transaction, retried whole on a deadlock) and ``dialect``."""

    dialect: str
    _run: Callable[..., Any]

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
            _update_current_versions(session, versions, file_ids, ids)
            if cursor is not None:
                self._set_cursor(session, cursor[0], cursor[1], now)
            return ids

        return self._run(work)

    def _upsert_files(self, session: Session, versions: list[FileVersionIn],
                      now: datetime) -> dict[int, int]:
        titles = {v.page_id: v.title for v in versions}  # the last title given wins
        existing: dict[int, tuple[int, str]] = {}

        def look_up(page_ids: list[int]) -> None:
            for chunk in chunks(page_ids):
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
        found = _version_ids(session, set(keys))
        missing: dict[tuple[int, str], dict] = {}
        for key, v in zip(keys, versions):
            if key not in found and key not in missing:
                missing[key] = _version_row(v, key[0], now)
        if missing:
            session.execute(insert_ignoring(self.dialect, FileVersion.__table__,
                                            ["file_id", "sha1"]), list(missing.values()))
            found.update(_version_ids(session, set(missing)))
        return [found[key] for key in keys]

    # --- deletions and suppressions ------------------------------------------

    def mark_deleted(self, *, page_ids: Iterable[int] = (), titles: Iterable[str] = ()) -> list[int]:
        """Files deleted on the wiki: their open review cards (listed, queued) become
        ``deleted``, so they leave the review page, and no flagged version of them is
        offered again. Idempotent. :returns: the ids of their versions (to purge what
        was kept of them, e.g. thumbnails)."""
        page_ids, titles = list(page_ids), list(titles)
        now = utcnow()

        def work(session: Session) -> list[int]:
            file_ids: set[int] = set()
            for chunk in chunks(page_ids):
                file_ids.update(session.scalars(select(File.id).where(File.page_id.in_(chunk))))
            for chunk in chunks(titles):
                file_ids.update(session.scalars(select(File.id).where(File.title.in_(chunk))))
            version_ids: list[int] = []
            for chunk in chunks(sorted(file_ids)):
                session.execute(update(File).where(File.id.in_(chunk), File.deleted_at.is_(None))
                                .values(deleted_at=now, updated_at=now))
                version_ids += session.scalars(select(FileVersion.id)
                                               .where(FileVersion.file_id.in_(chunk)))
            for chunk in chunks(version_ids):
                session.execute(update(ReviewEntry)
                                .where(ReviewEntry.version_id.in_(chunk),
                                       ReviewEntry.state.in_(("listed", "queued")))
                                .values(state="deleted", updated_at=now))
            return sorted(version_ids)

        return self._run(work)

    def forget_uploader(self, name: str) -> int:
        """A suppressed user name: removed from every stored version. :returns: rows changed."""
        return self._run(lambda s: s.execute(update(FileVersion).where(FileVersion.uploader == name)
                                             .values(uploader=None)).rowcount)

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

    # --- what was ingested ------------------------------------------------

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


def _version_ids(session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    by_file: dict[int, list[str]] = {}
    for file_id, sha1 in keys:
        by_file.setdefault(file_id, []).append(sha1)
    for chunk in chunks(list(by_file)):
        rows = session.execute(select(FileVersion.file_id, FileVersion.sha1, FileVersion.id)
                               .where(FileVersion.file_id.in_(chunk)))
        for row in rows:
            if (row.file_id, row.sha1) in keys:
                found[(row.file_id, row.sha1)] = row.id
    return found


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


def _version_row(v: FileVersionIn, file_id: int, now: datetime) -> dict:
    return dict(file_id=file_id, sha1=v.sha1, mime=fit(FileVersion.mime, v.mime),
                media_type=fit(FileVersion.media_type, v.media_type), size=v.size,
                width=v.width, height=v.height, duration=finite(v.duration),
                uploader=fit(FileVersion.uploader, v.uploader), uploaded_at=v.uploaded_at,
                url=v.url, thumb_url=v.thumb_url, categories=list(v.categories or ()),
                source=fit(FileVersion.source, v.source), log_id=v.log_id, ingested_at=now)
