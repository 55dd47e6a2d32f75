"""The PDQ and embedding indexes: faiss and the numpy fallback find the same neighbours; thresholds."""
from __future__ import annotations

import numpy as np
import pytest

from classifiers.matching import EmbeddingIndex, MatchThresholds, PdqIndex, hamming


def flip(code: np.ndarray, bits: int, rng) -> np.ndarray:
    unpacked = np.unpackbits(code)
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked)


@pytest.mark.parametrize("use_faiss", [False, True], ids=["numpy", "faiss"])
def test_pdq_index_returns_exactly_the_hashes_within_the_radius(use_faiss):
    rng = np.random.default_rng(1)
    stored = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    index = PdqIndex(faiss=use_faiss)
    index.add(np.arange(5000) + 10_000, stored)
    assert index.backend == ("faiss-mih" if use_faiss else "numpy") and len(index) == 5000
    queries = np.stack([flip(stored[n], bits, rng) for n, bits in enumerate((0, 10, 31, 32, 60))])
    found = index.search(queries, radius=31)
    assert [ids.tolist() for ids, _ in found] == [[10_000], [10_001], [10_002], [], []]
    assert [d.tolist() for _, d in found[:3]] == [[0], [10], [31]]
    assert hamming(stored[:3], queries[:3]).tolist() == [0, 10, 31]


@pytest.mark.parametrize("use_faiss", [False, True], ids=["numpy", "faiss"])
def test_embedding_index_finds_a_near_copy_first(use_faiss):
    rng = np.random.default_rng(2)
    stored = rng.standard_normal((2000, 64)).astype(np.float32)
    stored /= np.linalg.norm(stored, axis=1, keepdims=True)
    index = EmbeddingIndex(64, faiss=use_faiss, reduced=64, lists=8, probes=8)
    index.train(stored)
    index.add(np.arange(2000) * 3, stored)
    noisy = stored[[5, 123]] + 0.05 * rng.standard_normal((2, 64)).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    (ids_a, sims_a), (ids_b, _) = index.search(noisy, k=4)
    assert ids_a[0] == 15 and ids_b[0] == 369
    assert sims_a[0] > 0.9 and (np.diff(sims_a) <= 1e-6).all()  # best first


def test_embedding_index_refuses_adding_before_training():
    index = EmbeddingIndex(64, faiss=True, reduced=32, lists=16)
    with pytest.raises(RuntimeError, match="train"):
        index.add([1], np.zeros((1, 64), np.float32))


def test_thresholds_either_part_and_low_quality_hashes_never_match():
    t = MatchThresholds(pdq_distance=31, min_pdq_quality=50, cosine=0.9)
    got = t.matches(np.array([31, 32, 10, 100, 100]), np.array([90, 90, 40, 90, 90]),
                    np.array([0.5, 0.5, 0.5, 0.9, np.nan]))
    assert got.tolist() == [True, False, False, True, False]
    assert t.closeness(12, 0.973) == "PDQ distance 12/256, similarity 0.97"
