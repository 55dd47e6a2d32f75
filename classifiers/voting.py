"""One verdict per file from the scores of its frames.

File score and verdict agree by construction, whatever the rule:

* ``majority`` with quorum q: the file score is the highest s such that at
  least a share q of the frames score >= s, i.e. the m-th highest frame score
  with m = ceil(q * n). So ``flagged == (score >= threshold)`` exactly when at
  least a share q of the frames reach the threshold. With q = 0.5 half the
  frames suffice (8 of 16); q = 1.0 needs every frame, a small q approaches any-1.
* ``any-k``: the file score is the k-th highest frame score: flagged when at
  least k frames reach the threshold (recall for operators who want it). A file
  with fewer than k frames uses its lowest score, i.e. all of its frames must
  pass: a still is then judged by its only frame, so any-k never makes stills
  unflaggable.

A still is a file with one frame: every rule gives its frame's score.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .results import FrameScore

__all__ = ["VotingPolicy", "Vote", "vote", "RULES"]

RULES = ("majority", "any-k")


@dataclass(frozen=True)
class VotingPolicy:
    """:param threshold: a file is flagged when its score reaches this
    :param rule: ``majority`` or ``any-k``
    :param quorum: share of frames that must pass under ``majority``, in (0, 1]
    :param k: frames that must pass under ``any-k``, >= 1"""

    threshold: float = 0.8
    rule: str = "majority"
    quorum: float = 0.5
    k: int = 1

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, not {self.rule!r}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], not {self.threshold!r}")
        if not 0.0 < self.quorum <= 1.0:
            raise ValueError(f"quorum must be in (0, 1], not {self.quorum!r}")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be an integer >= 1, not {self.k!r}")

    def frames_needed(self, n: int) -> int:
        """How many of ``n`` frames must reach the threshold (1 <= result <= n)."""
        if n < 1:
            raise ValueError("a vote needs at least one frame")
        if self.rule == "any-k":
            return min(self.k, n)
        # The epsilon keeps 0.7 * 10 = 7.000000000000001 from needing 8 frames.
        return min(n, max(1, math.ceil(self.quorum * n - 1e-9)))


@dataclass(frozen=True)
class Vote:
    """:param score: the file score (see the module doc)
    :param flagged_share: share of frames whose score reaches the threshold
    :param evidence: the highest-scoring frame (the earliest one on ties)"""

    flagged: bool
    score: float
    flagged_share: float
    evidence: FrameScore


def vote(frames: Sequence[FrameScore], policy: VotingPolicy = VotingPolicy()) -> Vote:
    """The verdict for a file whose sampled frames scored ``frames``."""
    if not frames:
        raise ValueError("a vote needs at least one frame")
    ranked = sorted((f.score for f in frames), reverse=True)
    score = float(ranked[policy.frames_needed(len(ranked)) - 1])
    passing = sum(1 for f in frames if f.score >= policy.threshold)
    evidence = min(frames, key=lambda f: (-f.score, f.index))
    return Vote(flagged=score >= policy.threshold, score=score,
                flagged_share=passing / len(frames), evidence=evidence)
