from __future__ import annotations

import pytest

from classifiers.results import FrameScore
from classifiers.voting import VotingPolicy, vote


def frames(*scores: float) -> list[FrameScore]:
    return [FrameScore(index=i, time=i * 0.5, score=s) for i, s in enumerate(scores)]


def test_majority_flags_when_half_the_frames_pass():
    v = vote(frames(0.9, 0.1, 0.85, 0.95, 0.2, 0.3), VotingPolicy(threshold=0.8))
    assert v.flagged and v.score == 0.85 and v.flagged_share == 0.5
    assert v.evidence == FrameScore(3, 1.5, 0.95)


def test_majority_below_quorum_is_not_flagged_even_with_one_very_high_frame():
    v = vote(frames(0.99, 0.1, 0.2, 0.3, 0.1, 0.85), VotingPolicy(threshold=0.8))
    assert not v.flagged and v.score == 0.3
    assert v.flagged_share == pytest.approx(2 / 6)
    assert v.evidence.score == 0.99


@pytest.mark.parametrize("quorum, n_needed", [(0.25, 3), (0.5, 5), (0.7, 7), (1.0, 10), (0.01, 1)])
def test_quorum_sets_how_many_frames_must_pass(quorum, n_needed):
    policy = VotingPolicy(threshold=0.5, quorum=quorum)
    for passing in range(11):
        v = vote(frames(*([0.9] * passing + [0.1] * (10 - passing))), policy)
        assert v.flagged == (passing >= n_needed), passing
        assert v.flagged == (v.score >= policy.threshold)


def test_any_k_uses_the_kth_highest_score():
    scores = frames(0.2, 0.95, 0.1, 0.81, 0.3)
    assert vote(scores, VotingPolicy(rule="any-k", k=1)).score == 0.95
    v2 = vote(scores, VotingPolicy(rule="any-k", k=2))
    assert v2.flagged and v2.score == 0.81
    v3 = vote(scores, VotingPolicy(rule="any-k", k=3))
    assert not v3.flagged and v3.score == 0.3


def test_any_k_with_fewer_frames_than_k_uses_the_lowest():
    assert vote(frames(0.9, 0.85), VotingPolicy(rule="any-k", k=5)).score == 0.85
    assert vote(frames(0.9), VotingPolicy(rule="any-k", k=3)).flagged


def test_a_still_is_its_frame_under_every_rule():
    for policy in (VotingPolicy(), VotingPolicy(quorum=1.0), VotingPolicy(rule="any-k", k=4)):
        v = vote([FrameScore(0, None, 0.83)], policy)
        assert (v.flagged, v.score, v.flagged_share) == (True, 0.83, 1.0)


def test_evidence_on_ties_is_the_earliest_frame():
    assert vote(frames(0.4, 0.9, 0.9)).evidence.index == 1


def test_score_and_verdict_agree_on_random_inputs():
    import random
    rng = random.Random(7)
    for _ in range(500):
        policy = VotingPolicy(threshold=rng.random(), rule=rng.choice(["majority", "any-k"]),
                              quorum=rng.uniform(0.01, 1.0), k=rng.randint(1, 5))
        v = vote(frames(*[rng.random() for _ in range(rng.randint(1, 20))]), policy)
        assert v.flagged == (v.score >= policy.threshold)


@pytest.mark.parametrize("bad", [dict(rule="mean"), dict(quorum=0), dict(quorum=1.5), dict(k=0),
                                 dict(k=1.5), dict(threshold=-0.1), dict(threshold=2)])
def test_policy_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        VotingPolicy(**bad)


def test_vote_needs_frames():
    with pytest.raises(ValueError):
        vote([], VotingPolicy())


def test_a_score_exactly_at_the_threshold_passes():
    """docs/architecture.md: ``flagged == score >= threshold``, for frames and for the file
    (mutation testing found ``>`` survived on both comparisons)."""
    at = frames(0.5, 0.5, 0.1)
    v = vote(at, VotingPolicy(threshold=0.5, quorum=0.5))
    assert v.flagged and v.score == 0.5 and v.flagged_share == pytest.approx(2 / 3)
    assert vote(frames(0.5), VotingPolicy(threshold=0.5)).flagged  # a still, one frame


def test_any_k_defaults_to_one_frame():
    assert VotingPolicy().k == 1
    assert vote(frames(0.1, 0.95, 0.2), VotingPolicy(threshold=0.9, rule="any-k")).flagged
