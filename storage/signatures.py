"""Match signatures of scored frames, the reference set they are matched against, and matches found.

The *reference set* (:meth:`SignaturesMixin.reference_signatures`) is every
stored signature of a version that trusted patrollers last answered ``nsfw`` or
``out-of-scope``, or of a file the bot scored that was later deleted. A file
answered ``sfw`` is never a reference: a match can add a card, never clear one.
Signatures are kept when a deleted file's thumbnail is purged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .engine import insert_ignoring
from .records import SignatureIn
from .schema import File, FileVersion, Match, Signature, Verdict
from .types import utcnow
from .values import chunks, finite

__all__ = ["SignaturesMixin", "StoredSignature", "MatchIn", "MatchRecord", "REFERENCE_VERDICTS",
           "signature_rows"]

#: trusted verdicts that make a version something re-uploads are matched against
REFERENCE_VERDICTS = ("nsfw", "out-of-scope")


@dataclass(frozen=True)
class StoredSignature:
    """A stored frame signature; ``reason`` (``nsfw`` | ``out-of-scope`` | ``deleted``) for references."""

    version_id: int
    frame_index: int
    pdq: bytes
    pdq_quality: int
    embedding: bytes | None
    reason: str | None = None


@dataclass(frozen=True)
class MatchIn:
    """A match found for a new version: the closest frame pair with a reference version."""

    reference_version_id: int
    reason: str
    frame_index: int
    reference_frame_index: int
    pdq_distance: int | None
    cosine: float | None


@dataclass(frozen=True)
class MatchRecord:
    """A stored match with what a review card shows of the earlier file."""

    version_id: int
    reference_version_id: int
    reference_page_id: int
    reference_title: str
    reason: str
    pdq_distance: int | None
    cosine: float | None
    reference_deleted_at: datetime | None
    verdict_reviewer: str | None
    verdict_revid: int | None


def signature_rows(version_id: int, model_id: str, signatures: Iterable[SignatureIn],
                   now: datetime) -> list[dict]:
    """Rows for the ``signatures`` table (:meth:`storage.Store.record_scores` writes them with the score)."""
    rows = []
    for s in signatures:
        if len(s.pdq) != 32:
            raise ValueError(f"a PDQ hash is 32 bytes, not {len(s.pdq)}")
        rows.append(dict(version_id=version_id, model_id=model_id, frame_index=int(s.frame_index),
                         pdq=bytes(s.pdq), pdq_quality=max(0, min(100, int(s.pdq_quality))),
                         embedding=None if s.embedding is None else bytes(s.embedding), created_at=now))
    return rows


class SignaturesMixin:
    """Signatures and matches. Mixed into :class:`storage.Store` (``_run``, ``dialect``)."""

    dialect: str
    _run: Callable[..., Any]

    def signatures_of(self, version_ids: Iterable[int], model_id: str) -> list[StoredSignature]:
        """The stored signatures of these versions, by version then frame."""
        ids = sorted(set(version_ids))

        def work(session: Session) -> list[StoredSignature]:
            out: list[StoredSignature] = []
            for chunk in chunks(ids):
                out += [StoredSignature(r.version_id, r.frame_index, r.pdq, r.pdq_quality, r.embedding)
                        for r in session.execute(
                            select(Signature).where(Signature.model_id == model_id,
                                                    Signature.version_id.in_(chunk))
                            .order_by(Signature.version_id, Signature.frame_index)).scalars()]
            return out

        return self._run(work, write=False)

    def reference_signatures(self, model_id: str) -> list[StoredSignature]:
        """Signatures of versions whose latest trusted verdict is ``nsfw`` or ``out-of-scope``,
        and of deleted files, each with its ``reason`` (a verdict wins over ``deleted``)."""

        def work(session: Session) -> list[StoredSignature]:
            latest: dict[int, str] = {}
            for version_id, verdict in session.execute(
                    select(Verdict.version_id, Verdict.verdict).where(Verdict.trusted.is_(True))
                    .order_by(Verdict.timestamp, Verdict.id)):
                latest[version_id] = verdict
            reasons = {v: verdict for v, verdict in latest.items() if verdict in REFERENCE_VERDICTS}
            for version_id in session.scalars(
                    select(FileVersion.id).join(File, File.id == FileVersion.file_id)
                    .where(File.deleted_at.is_not(None))):
                reasons.setdefault(version_id, "deleted")
            out: list[StoredSignature] = []
            for chunk in chunks(sorted(reasons)):
                out += [StoredSignature(r.version_id, r.frame_index, r.pdq, r.pdq_quality, r.embedding,
                                        reasons[r.version_id])
                        for r in session.execute(
                            select(Signature).where(Signature.model_id == model_id,
                                                    Signature.version_id.in_(chunk))).scalars()]
            return out

        return self._run(work, write=False)

    def record_matches(self, version_id: int, model_id: str, matches: Iterable[MatchIn]) -> int:
        """Store what a new version matched (idempotent per reference). :returns: rows added"""
        now = utcnow()
        rows = [dict(version_id=version_id, model_id=model_id, reference_version_id=m.reference_version_id,
                     reason=m.reason, frame_index=int(m.frame_index),
                     reference_frame_index=int(m.reference_frame_index),
                     pdq_distance=None if m.pdq_distance is None else int(m.pdq_distance),
                     cosine=finite(m.cosine), found_at=now)
                for m in matches if m.reference_version_id != version_id]
        if not rows:
            return 0
        stmt = insert_ignoring(self.dialect, Match.__table__, ["version_id", "model_id", "reference_version_id"])
        if self.dialect == "mysql":
            return self._run(lambda s: sum(s.execute(stmt, row).rowcount for row in rows))
        # psycopg reports rowcount -1 for an INSERT ... ON CONFLICT: count what RETURNING gives back
        return self._run(lambda s: len(s.execute(stmt.returning(Match.id), rows).all()))

    def matches_for(self, version_ids: Iterable[int], model_id: str) -> dict[int, list[MatchRecord]]:
        """Stored matches of these versions, closest first, with the earlier file's title, its
        deletion time and the trusted verdict that made it a reference."""
        ids = sorted(set(version_ids))

        def work(session: Session) -> dict[int, list[MatchRecord]]:
            out: dict[int, list[MatchRecord]] = {}
            for chunk in chunks(ids):
                rows = session.execute(
                    select(Match, File.page_id, File.title, File.deleted_at)
                    .join(FileVersion, FileVersion.id == Match.reference_version_id)
                    .join(File, File.id == FileVersion.file_id)
                    .where(Match.model_id == model_id, Match.version_id.in_(chunk))).all()
                refs = sorted({row.Match.reference_version_id for row in rows})
                verdicts: dict[int, tuple[str, int]] = {}
                for ref_chunk in chunks(refs):
                    for v in session.execute(select(Verdict).where(
                            Verdict.version_id.in_(ref_chunk), Verdict.trusted.is_(True))
                            .order_by(Verdict.timestamp, Verdict.id)).scalars():
                        verdicts[v.version_id] = (v.reviewer, v.revid)
                for row in rows:
                    m = row.Match
                    reviewer, revid = verdicts.get(m.reference_version_id, (None, None))
                    out.setdefault(m.version_id, []).append(MatchRecord(
                        m.version_id, m.reference_version_id, row.page_id, row.title, m.reason,
                        m.pdq_distance, m.cosine, row.deleted_at, reviewer, revid or None))
            for records in out.values():
                records.sort(key=lambda r: (-(r.cosine or 0.0), r.pdq_distance if r.pdq_distance is not None
                                            else 256))
            return out

        return self._run(work, write=False)
