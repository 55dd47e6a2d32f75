"""Match signatures: what lets a re-upload be recognised after editing, one per scored frame.

A :class:`FrameSignature` has two parts, computed in the scoring pass itself
(the decoded frame and the model's forward pass; no second download or decode):

- ``pdq``: Meta's PDQ perceptual hash (256 bits, ``pdqhash`` package) of the
  decoded RGB frame, with its quality (0..100; under 50 the hash is unreliable,
  source: the PDQ hashing paper, "pdqhashing.pdf", section "Quality metric").
  Content-agnostic, shared by moderation teams, robust to re-encoding, resizing,
  colour shifts and watermarks, but not to crops or rotation.
- ``embedding``: the classifier's pooled 1024-d feature (open_nsfw's ``Reshape:0``,
  the input of its last layer), L2-normalised and kept as float16 (2 KiB): robust
  to crops, rotation and mirroring too.

Which distances count as a match is :mod:`classifiers.matching`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["FrameSignature", "pdq_hash", "normalise_embedding", "EMBEDDING_DTYPE", "PDQ_BYTES"]

PDQ_BYTES = 32  # 256 bits
EMBEDDING_DTYPE = np.float16  # half of float32's size; cosine moves by < 1e-3 (tests/classifiers/test_signatures.py)


@dataclass(frozen=True)
class FrameSignature:
    """The match signature of one scored frame.

    :param index: the frame's number in the file (as in :class:`~classifiers.results.FrameScore`)
    :param pdq: 32 bytes, the 256-bit PDQ hash (big-endian bit order of ``pdqhash.compute``)
    :param pdq_quality: 0..100
    :param embedding: float16 (D,) unit vector, or None when the runtime gives no features
    """

    index: int
    pdq: bytes
    pdq_quality: int
    embedding: np.ndarray | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameSignature):
            return NotImplemented
        same_embedding = (self.embedding is None and other.embedding is None) or (
            self.embedding is not None and other.embedding is not None
            and np.array_equal(self.embedding, other.embedding))
        return (self.index, self.pdq, self.pdq_quality) == (other.index, other.pdq, other.pdq_quality) \
            and same_embedding

    __hash__ = None  # type: ignore[assignment]  # holds an array


def pdq_hash(image: Image.Image) -> tuple[bytes, int]:
    """``(32-byte hash, quality 0..100)`` of one frame.

    PDQ works on luminance downsampled to 64x64, so the frame is first reduced to at
    most 512 px a side (the reference implementation's own advice for speed; the hash
    moves by at most a few bits, far under the match threshold).
    """
    import pdqhash  # kept library: Meta's reference C++ via Cython

    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > 512:
        image = image.copy()
        image.thumbnail((512, 512), Image.Resampling.BILINEAR)
    bits, quality = pdqhash.compute(np.asarray(image, dtype=np.uint8))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(), int(quality)


def normalise_embedding(features: np.ndarray) -> np.ndarray:
    """(N, D) features as float16 unit vectors (cosine similarity is then a dot product)."""
    features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(EMBEDDING_DTYPE)
