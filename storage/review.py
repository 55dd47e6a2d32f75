"""Review and learning: what patrollers are shown, what they said, and the labels it gives.

The bot lists flagged versions on a review page (:meth:`ReviewMixin.flagged_for_review`,
review entries), harvests patrollers' verdicts from it, and hands the
labelled versions to ``classifiers`` for evaluation and training.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from .engine import insert_ignoring
from .records import (FINAL_REVIEW_STATES, NSFW_VERDICTS, SFW_VERDICTS, FlaggedVersion,
                      LabelledVersion, ReviewEntryRecord, VerdictIn, VerdictRecord)
from .schema import File, FileVersion, Match, ReviewEntry, Score, Verdict
from .types import utcnow
from .values import chunks

__all__ = ["ReviewMixin"]


class ReviewMixin:
    """Review entries, verdicts and labelled versions. Mixed into :class:`storage.Store`,
    which provides ``_run`` (one transaction, retried whole on a deadlock) and ``dialect``."""

    dialect: str
    _run: Callable[..., Any]

    def flagged_for_review(self, model_id: str, *, threshold: float, limit: int,
                           page: str | None = None, current_only: bool = True,
                           exclude_states: Sequence[str] = FINAL_REVIEW_STATES,
                           trusted_verdicts_only: bool = False) -> list[FlaggedVersion]:
        """Versions scoring at least ``threshold``, or matching a judged or deleted file
        (:mod:`storage.signatures`), that no patroller has judged yet.

        Matches first, then highest score first. Versions with any verdict, or with a review entry
        (on ``page``, or on any page when None) in one of ``exclude_states``,
        are left out; so are versions a later upload replaced (``current_only``).
        With ``trusted_verdicts_only`` an untrusted verdict does not take a version out.
        """

        def work(session: Session) -> list[FlaggedVersion]:
            entry_filter = [ReviewEntry.version_id == FileVersion.id]
            if page is not None:
                entry_filter.append(ReviewEntry.page == page)
            verdict = select(Verdict.id).where(Verdict.version_id == FileVersion.id)
            if trusted_verdicts_only:
                verdict = verdict.where(Verdict.trusted.is_(True))
            has_verdict = verdict.exists()
            finished = (select(ReviewEntry.id)
                        .where(*entry_filter, ReviewEntry.state.in_(list(exclude_states)))
                        .exists())
            state = (select(ReviewEntry.state).where(*entry_filter)
                     .order_by(ReviewEntry.updated_at.desc()).limit(1).scalar_subquery())
            # a re-upload of a judged or deleted file is listed whatever its score, first
            matched = (select(Match.id).where(Match.version_id == FileVersion.id, Match.model_id == model_id)
                       .exists())
            query = (select(FileVersion, File.page_id, File.title, Score, state.label("state"))
                     .join(File, File.id == FileVersion.file_id)
                     .join(Score, Score.version_id == FileVersion.id)
                     .where(Score.model_id == model_id, or_(Score.score >= threshold, matched),
                            or_(Score.error_kind.is_(None), Score.partial.is_(True)),
                            ~has_verdict, ~finished, File.deleted_at.is_(None))
                     .order_by(case((matched, 0), else_=1), Score.score.desc(), FileVersion.id)
                     .limit(limit))
            if current_only:
                query = query.where(or_(File.current_version_id.is_(None),
                                        File.current_version_id == FileVersion.id))
            return [_flagged(row) for row in session.execute(query)]

        return self._run(work, write=False)

    def flagged_versions(self, model_id: str, version_ids: Iterable[int], *,
                         page: str | None = None) -> list[FlaggedVersion]:
        """The given versions with their ``model_id`` score, whatever their threshold, verdicts
        or state: what the bot needs to put back a card it listed."""
        ids = sorted(set(version_ids))

        def work(session: Session) -> list[FlaggedVersion]:
            entry_filter = [ReviewEntry.version_id == FileVersion.id]
            if page is not None:
                entry_filter.append(ReviewEntry.page == page)
            state = (select(ReviewEntry.state).where(*entry_filter)
                     .order_by(ReviewEntry.updated_at.desc()).limit(1).scalar_subquery())
            out: list[FlaggedVersion] = []
            for chunk in chunks(ids):
                out += [_flagged(row) for row in session.execute(
                    select(FileVersion, File.page_id, File.title, Score, state.label("state"))
                    .join(File, File.id == FileVersion.file_id)
                    .join(Score, Score.version_id == FileVersion.id)
                    .where(Score.model_id == model_id, FileVersion.id.in_(chunk)))]
            return out

        return self._run(work, write=False)

    def upsert_review_entry(self, version_id: int, *, page: str, state: str,
                            revid: int | None = None, removed_by: str | None = None,
                            removed_at: datetime | None = None) -> None:
        """Set an entry's state (and the revision that set it). ``removed_by``/``removed_at``:
        who took the card off and when, for state ``removed``; cleared by any other state."""
        now = utcnow()
        removal = dict(removed_by=removed_by, removed_at=removed_at) if state == "removed" \
            else dict(removed_by=None, removed_at=None)

        def work(session: Session) -> None:
            session.execute(insert_ignoring(self.dialect, ReviewEntry.__table__,
                                            ["version_id", "page"]),
                            [dict(version_id=version_id, page=page, state=state, revid=revid,
                                  created_at=now, updated_at=now, **removal)])
            session.execute(update(ReviewEntry)
                            .where(ReviewEntry.version_id == version_id, ReviewEntry.page == page)
                            .values(state=state, revid=revid, updated_at=now, **removal))

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
                              updated_at=e.updated_at, removed_by=e.removed_by,
                              removed_at=e.removed_at)
            for e, page_id, title in s.execute(query)], write=False)

    def uploaders(self, version_ids: Iterable[int]) -> dict[int, str | None]:
        """The uploader of each file version: nobody's verdict on their own upload counts."""
        ids = sorted(set(version_ids))

        def work(session: Session) -> dict[int, str | None]:
            found: dict[int, str | None] = {}
            for chunk in chunks(ids):
                found.update(session.execute(select(FileVersion.id, FileVersion.uploader)
                                             .where(FileVersion.id.in_(chunk))).all())
            return found

        return self._run(work, write=False)

    def uploader_verdicts(self, uploaders: Iterable[str]) -> dict[str, dict[str, int]]:
        """How trusted patrollers answered each uploader's files: ``name -> {verdict: files}``.

        Each file version counts once, with its latest trusted verdict (an answer a
        patroller later changed counts as the new answer). Uploaders with no trusted
        verdict are absent.
        """
        names = sorted({u for u in uploaders if u})

        def work(session: Session) -> dict[str, dict[str, int]]:
            latest: dict[int, tuple] = {}
            for chunk in chunks(names):
                rows = session.execute(
                    select(FileVersion.uploader, Verdict.version_id, Verdict.verdict,
                           Verdict.timestamp, Verdict.id)
                    .join(FileVersion, FileVersion.id == Verdict.version_id)
                    .where(FileVersion.uploader.in_(chunk), Verdict.trusted.is_(True)))
                for uploader, version_id, verdict, timestamp, vid in rows:
                    key = (timestamp, vid)
                    if version_id not in latest or latest[version_id][0] < key:
                        latest[version_id] = (key, uploader, verdict)
            counts: dict[str, dict[str, int]] = {}
            for _key, uploader, verdict in latest.values():
                by_verdict = counts.setdefault(uploader, {})
                by_verdict[verdict] = by_verdict.get(verdict, 0) + 1
            return counts

        return self._run(work, write=False)

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
            for chunk in chunks(ids):
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
            for chunk in chunks(ids):
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
