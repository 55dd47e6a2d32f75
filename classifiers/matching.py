"""Which stored signatures a new frame matches: thresholds and two indexes (PDQ bits, embeddings).

A frame matches a stored frame when **either** part agrees
(:meth:`MatchThresholds.matches`):

- PDQ Hamming distance <= :attr:`MatchThresholds.pdq_distance` (31 of 256 bits, the
  threshold Meta's PDQ documentation recommends: "pdqhashing.pdf", section
  "Matching"), and both hashes have quality >= 50 (same source: below that the
  hash of a flat or tiny image is unreliable);
- embedding cosine similarity >= :attr:`MatchThresholds.cosine`, the stricter bar,
  set from our own measurements (docs/performance.md, "Match signatures":
  every named edit of every photo at or above it, no unrelated pair).

Indexes stay fast as signatures accumulate: faiss (the ``matching`` extra) gives
multi-index hashing over PDQ bits (``IndexBinaryMultiHash``, exact within the
radius) and a PCA-reduced, 8-bit quantised IVF index over embeddings;
without faiss, a numpy scan over the same vectors (fine for a bounded
reference set: benchmarks/bench_matching.py measures both). Ids are the
caller's (64-bit ints); this module knows no wiki and no database.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MatchThresholds", "PdqIndex", "EmbeddingIndex", "hamming", "have_faiss"]


@dataclass(frozen=True)
class MatchThresholds:
    """When two frame signatures are the same picture.

    :param pdq_distance: largest PDQ Hamming distance (bits of 256) that matches
    :param min_pdq_quality: PDQ quality (0..100) both hashes need for the hash to count
    :param cosine: smallest embedding cosine similarity that matches
    """

    pdq_distance: int = 31
    min_pdq_quality: int = 50
    cosine: float = 0.90

    def matches(self, pdq_distance, pdq_quality, cosine) -> np.ndarray:
        """Elementwise: does a pair match? ``pdq_quality`` is the lower of the pair's two
        qualities; ``cosine`` may be NaN (no embedding), which never matches."""
        pdq_distance, pdq_quality, cosine = (np.asarray(a) for a in (pdq_distance, pdq_quality, cosine))
        by_hash = (pdq_distance <= self.pdq_distance) & (pdq_quality >= self.min_pdq_quality)
        with np.errstate(invalid="ignore"):
            return by_hash | (cosine >= self.cosine)

    def closeness(self, pdq_distance: int | None, cosine: float | None) -> str:
        """How close a match is, in words a patroller reads: ``PDQ 12/256 bits, cosine 0.97``."""
        parts = []
        if pdq_distance is not None:
            parts.append(f"PDQ distance {pdq_distance}/256")
        if cosine is not None and np.isfinite(cosine):
            parts.append(f"similarity {cosine:.2f}")
        return ", ".join(parts)


def have_faiss() -> bool:
    try:
        import faiss  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between (N, 32) uint8 hashes and one (32,) or (N, 32) hash."""
    return np.bitwise_count(np.bitwise_xor(a, b)).sum(axis=-1, dtype=np.int32)


class PdqIndex:
    """PDQ hashes (32 bytes each) under caller ids; :meth:`search` returns all within a radius.

    :param faiss: use faiss's multi-index hashing (16 substrings of 16 bits, one bit flip
        probed per substring: exact for radius <= 31 by the pigeonhole principle) when
        installed; False: a numpy scan (``np.bitwise_count``)
    """

    def __init__(self, *, faiss: bool | None = None) -> None:
        self._ids: list[np.ndarray] = []
        self._codes: list[np.ndarray] = []
        self._index = None
        if faiss is None:
            faiss = have_faiss()
        if faiss:
            import faiss as _faiss

            self._index = _faiss.IndexBinaryMultiHash(256, 16, 16)
            self._index.nflip = 1
        self.backend = "faiss-mih" if self._index is not None else "numpy"
        self._all_ids = np.zeros(0, np.int64)
        self._all_codes = np.zeros((0, 32), np.uint8)

    def __len__(self) -> int:
        return int(self._all_ids.size) + sum(len(i) for i in self._ids)

    def add(self, ids, codes) -> None:
        """Add (N,) ids with their (N, 32) uint8 PDQ hashes."""
        ids = np.asarray(ids, np.int64)
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(len(ids), 32)
        self._ids.append(ids)
        if self._index is not None:
            self._index.add(codes)
        else:
            self._codes.append(codes)

    def _consolidate(self) -> None:
        if self._ids:
            self._all_ids = np.concatenate([self._all_ids, *self._ids])
            if self._codes:
                self._all_codes = np.concatenate([self._all_codes, *self._codes])
            self._ids, self._codes = [], []

    def search(self, codes, radius: int = 31) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query hash, ``(ids, distances)`` of the stored hashes within ``radius`` bits."""
        self._consolidate()
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, 32)
        if self._index is not None:
            lims, distances, labels = self._index.range_search(codes, radius + 1)  # faiss: d < radius
            return [(self._all_ids[labels[lims[q]:lims[q + 1]]], distances[lims[q]:lims[q + 1]].astype(np.int32))
                    for q in range(len(codes))]
        out = []
        for code in codes:
            distances = hamming(self._all_codes, code)
            hit = np.flatnonzero(distances <= radius)
            out.append((self._all_ids[hit], distances[hit]))
        return out

    def memory_bytes(self) -> int:
        self._consolidate()
        codes = len(self._all_ids) * 32
        return self._all_ids.nbytes + codes * (1 if self._index is None else 2)  # MIH keeps codes + buckets


class EmbeddingIndex:
    """Unit embeddings under caller ids; :meth:`search` returns the nearest ones with cosine similarity.

    With faiss: ``PCA{reduced},IVF{lists},SQ8`` with inner product, trained on a sample
    (:meth:`train`): 128 bytes a vector at the default ``reduced`` (10 M vectors: 1.3 GB
    instead of 40 GB of float32). Scalar quantisation rather than product quantisation:
    PQ's codebooks (256 centroids a sub-vector) took 37 s to train on 2,000 64-d vectors
    on this shared CPU, and IVF-PQ training on 100 k did not finish in 3 minutes;
    ``PCA128,IVF1024,SQ8`` trains on 50 k 1024-d vectors in 10 s. Its similarities are approximate (PCA drops a little of each
    vector), so callers re-check a candidate's exact cosine on the stored float16 vector
    before calling it a match. Without faiss:
    an exact numpy scan over float32 vectors (4 KiB each: for bounded sets only).
    """

    def __init__(self, dim: int = 1024, *, faiss: bool | None = None, reduced: int = 128, lists: int = 1024,
                 probes: int = 16) -> None:
        self.dim = dim
        if faiss is None:
            faiss = have_faiss()
        self._index = None
        if faiss:
            import faiss as _faiss

            self._index = _faiss.index_factory(dim, f"PCA{reduced},IVF{lists},SQ8", _faiss.METRIC_INNER_PRODUCT)
            self._probes = probes
            self._code_bytes = reduced  # SQ8: one byte a dimension
        self.backend = "faiss-ivf-sq8" if self._index is not None else "numpy"
        self._ids: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        self._all_ids = np.zeros(0, np.int64)
        self._all_vectors = np.zeros((0, dim), np.float32)

    @property
    def trained(self) -> bool:
        return self._index is None or self._index.is_trained

    def train(self, sample) -> None:
        """Fit the PCA, coarse lists and quantiser on a sample (>= 39 vectors a list; faiss only)."""
        if self._index is not None:
            import faiss as _faiss

            self._index.train(np.ascontiguousarray(sample, dtype=np.float32))
            _faiss.extract_index_ivf(self._index).nprobe = self._probes

    def add(self, ids, vectors) -> None:
        """Add (N,) ids with (N, dim) unit vectors. :raises RuntimeError: before :meth:`train` (faiss)"""
        ids = np.asarray(ids, np.int64)
        vectors = np.asarray(vectors).reshape(len(ids), self.dim)
        if self._index is not None:
            if not self._index.is_trained:
                raise RuntimeError("EmbeddingIndex.train() first")
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        else:
            # float32, not the stored float16: numpy has no BLAS for float16 (2x slower per query)
            self._vectors.append(vectors.astype(np.float32))
        self._ids.append(ids)

    def _consolidate(self) -> None:
        if self._ids:
            self._all_ids = np.concatenate([self._all_ids, *self._ids])
            if self._vectors:
                self._all_vectors = np.concatenate([self._all_vectors, *self._vectors])
            self._ids, self._vectors = [], []

    def search(self, vectors, k: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query, ``(ids, cosine similarities)`` of up to ``k`` nearest stored vectors, best first."""
        self._consolidate()
        vectors = np.asarray(vectors, np.float32).reshape(-1, self.dim)
        if not len(self._all_ids):
            return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in vectors]
        if self._index is not None:
            similarities, labels = self._index.search(np.ascontiguousarray(vectors), k)
            return [(self._all_ids[row[row >= 0]], sims[row >= 0]) for row, sims in zip(labels, similarities)]
        similarities = vectors @ self._all_vectors.T
        out = []
        for row in similarities:
            top = np.argpartition(-row, min(k, len(row)) - 1)[:k] if len(row) > k else np.arange(len(row))
            top = top[np.argsort(-row[top])]
            out.append((self._all_ids[top], row[top]))
        return out

    def memory_bytes(self) -> int:
        self._consolidate()
        if self._index is not None:
            return len(self._all_ids) * (self._code_bytes + 8) + self._all_ids.nbytes
        return self._all_vectors.nbytes + self._all_ids.nbytes
