"""Re-uploads of judged files: each newly scored version is matched against the reference set.

The reference set (:meth:`storage.Store.reference_signatures`) is every frame
signature of a version trusted patrollers answered ``nsfw`` or ``out-of-scope``
and of every file the bot scored that was later deleted. A new version that
matches one of them frame by frame (:class:`classifiers.matching.MatchThresholds`)
is stored as a match (:meth:`storage.Store.record_matches`), which lists it on
the review page whatever its score, its card naming the earlier file. A match
only ever adds a card: files answered ``sfw`` are not references, and nothing
is tagged or deleted (the bot stays advisory).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from classifiers.matching import EmbeddingIndex, MatchThresholds, PdqIndex, hamming, have_faiss
from storage.signatures import MatchIn, StoredSignature

__all__ = ["Matcher", "FrameKey"]

log = logging.getLogger(__name__)

#: an exact numpy scan up to this many reference frames (no training; 8 MB of float32, ~1 ms a
#: file); faiss's IVF-SQ8 above it, when installed: the scan grows linearly (50 k frames: 19 ms a
#: file, 21% of scoring time; benchmarks/bench_matching.py cost, docs/performance.md)
EXACT_SCAN_LIMIT = 2_000


@dataclass(frozen=True)
class FrameKey:
    """What a reference frame id stands for."""

    version_id: int
    frame_index: int
    reason: str
    pdq: bytes
    pdq_quality: int
    embedding: np.ndarray | None


class Matcher:
    """Matches frame signatures against a reference set loaded once (one scoring run).

    :param references: the reference frames (``reason`` set)
    :param thresholds: when two frames match
    """

    def __init__(self, references: list[StoredSignature], *,
                 thresholds: MatchThresholds = MatchThresholds()) -> None:
        self.thresholds = thresholds
        self.frames = [FrameKey(r.version_id, r.frame_index, r.reason or "deleted", r.pdq, r.pdq_quality,
                                None if r.embedding is None else np.frombuffer(r.embedding, np.float16))
                       for r in references]
        self.pdq = PdqIndex()
        if self.frames:
            self.pdq.add(np.arange(len(self.frames)),
                         np.frombuffer(b"".join(f.pdq for f in self.frames), np.uint8).reshape(-1, 32))
        with_embedding = [i for i, f in enumerate(self.frames) if f.embedding is not None]
        self.embeddings: EmbeddingIndex | None = None
        if with_embedding:
            dim = self.frames[with_embedding[0]].embedding.size
            vectors = np.stack([self.frames[i].embedding for i in with_embedding]).astype(np.float32)
            big = len(with_embedding) > EXACT_SCAN_LIMIT and have_faiss()
            # about 64 vectors a list (faiss wants >= 39 training vectors a list), 1024 at most
            self.embeddings = EmbeddingIndex(dim, faiss=big, lists=min(1024, max(8, len(with_embedding) // 64)))
            if big:
                self.embeddings.train(vectors[np.random.default_rng(0).permutation(len(vectors))[:100_000]])
            self.embeddings.add(np.array(with_embedding), vectors)

    @classmethod
    def from_store(cls, store, model_id: str, **kwargs) -> Matcher:
        return cls(store.reference_signatures(model_id), **kwargs)

    def __len__(self) -> int:
        return len(self.frames)

    def match(self, version_id: int, signatures) -> list[MatchIn]:
        """The references a version matches: per reference version, its closest frame pair.

        :param signatures: the version's frames, objects with ``index`` or ``frame_index``,
            ``pdq`` (32 bytes), ``pdq_quality`` and ``embedding`` (float16 array, bytes or None)
        """
        if not self.frames:
            return []
        best: dict[int, MatchIn] = {}
        signatures = list(signatures)
        embeddings = [_embedding(s.embedding) for s in signatures]
        # one index call for all frames of a version (a video's 16 frames in one matrix product)
        near = self.pdq.search(np.frombuffer(b"".join(s.pdq for s in signatures), np.uint8).reshape(-1, 32),
                               radius=self.thresholds.pdq_distance)
        nearest: dict[int, np.ndarray] = {}
        with_embedding = [n for n, e in enumerate(embeddings) if e is not None]
        if with_embedding and self.embeddings is not None:
            found = self.embeddings.search(np.stack([embeddings[n] for n in with_embedding]).astype(np.float32), k=8)
            nearest = {n: ids for n, (ids, _) in zip(with_embedding, found)}
        for n, signature in enumerate(signatures):
            index = getattr(signature, "frame_index", None)
            index = signature.index if index is None else index
            embedding = embeddings[n]
            query_pdq = np.frombuffer(signature.pdq, np.uint8)
            candidates = set(near[n][0].tolist()) | set(nearest.get(n, np.zeros(0, np.int64)).tolist())
            for frame_id in candidates:
                ref = self.frames[frame_id]
                if ref.version_id == version_id:
                    continue
                distance = int(hamming(np.frombuffer(ref.pdq, np.uint8), query_pdq))
                cosine = (float(ref.embedding.astype(np.float32) @ embedding.astype(np.float32))
                          if embedding is not None and ref.embedding is not None else float("nan"))
                quality = min(ref.pdq_quality, int(signature.pdq_quality))
                if not self.thresholds.matches(distance, quality, cosine):
                    continue
                found = MatchIn(ref.version_id, ref.reason, int(index), ref.frame_index, distance,
                                None if np.isnan(cosine) else cosine)
                kept = best.get(ref.version_id)
                if kept is None or _closer(found, kept):
                    best[ref.version_id] = found
        return sorted(best.values(), key=lambda m: m.reference_version_id)

    def record(self, store, version_id: int, model_id: str, signatures) -> list[MatchIn]:
        """:meth:`match`, and store what was found. :returns: the matches"""
        found = self.match(version_id, signatures)
        if found:
            store.record_matches(version_id, model_id, found)
            log.info("version %s matches %s", version_id,
                     ", ".join(f"{m.reference_version_id} ({m.reason})" for m in found))
        return found


def _embedding(value) -> np.ndarray | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return np.frombuffer(value, np.float16)
    return value


def _closer(a: MatchIn, b: MatchIn) -> bool:
    return ((a.cosine or 0.0), -(a.pdq_distance or 256)) > ((b.cosine or 0.0), -(b.pdq_distance or 256))
