"""The NumPy metrics agree with scikit-learn's on fixed inputs (ties included)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from classifiers.learning import metrics

FIXED = [
    # distinct scores
    ([0, 0, 1, 1, 0, 1, 0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.65, 0.7, 0.3, 0.05]),
    # ties across labels and within a label
    ([1, 0, 1, 0, 1, 0, 0, 1], [0.5, 0.5, 0.9, 0.1, 0.5, 0.9, 0.2, 0.2]),
    # a perfect ranking and an inverted one
    ([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9]),
    ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
]


def _random_cases(n: int = 24):
    rng = np.random.default_rng(1234)
    for i in range(n):
        size = int(rng.integers(3, 80))
        labels = rng.integers(0, 2, size)
        labels[:2] = [0, 1]
        scores = rng.random(size)
        if i % 2:
            scores = np.round(scores, 1)  # many ties
        yield labels, scores


CASES = FIXED + list(_random_cases())


@pytest.mark.parametrize("labels,scores", CASES)
def test_roc_matches_sklearn(labels, scores):
    ours = metrics.roc_curve(labels, scores)
    fpr, tpr, thresholds = sk.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(ours.fpr, fpr)
    np.testing.assert_allclose(ours.tpr, tpr)
    np.testing.assert_array_equal(ours.thresholds, thresholds)
    assert metrics.roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("labels,scores", CASES)
def test_precision_recall_matches_sklearn(labels, scores):
    ours = metrics.precision_recall_curve(labels, scores)
    precision, recall, thresholds = sk.precision_recall_curve(labels, scores)
    np.testing.assert_allclose(ours.precision, precision)
    np.testing.assert_allclose(ours.recall, recall)
    np.testing.assert_array_equal(ours.thresholds, thresholds)
    assert metrics.average_precision(labels, scores) == pytest.approx(
        sk.average_precision_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("labels,scores", FIXED[:1] + list(_random_cases(10))[::2])
def test_precision_at_k_is_precision_at_the_kth_score(labels, scores):
    # distinct scores: the top k are exactly the files scoring >= the k-th highest score
    for k in (1, 2, len(labels) // 2, len(labels)):
        kth = np.sort(scores)[::-1][k - 1]
        assert metrics.precision_at_k(labels, scores, k) == pytest.approx(
            sk.precision_score(labels, scores >= kth))


def test_precision_at_k_counts():
    labels = [1, 0, 1, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.1, 0.05]
    assert [metrics.precision_at_k(labels, scores, k) for k in (1, 2, 3, 5)] == [1.0, 0.5, 2 / 3, 0.6]
    with pytest.raises(ValueError):
        metrics.precision_at_k(labels, scores, 6)


@pytest.mark.parametrize("labels,scores", CASES)
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 1.0])
def test_threshold_for_precision_is_the_lowest_reaching_target(labels, scores, target):
    threshold = metrics.threshold_for_precision(labels, scores, target)
    labels, scores = np.asarray(labels), np.asarray(scores)
    # brute force: precision of flagging score >= t, for every distinct score t
    precisions = {t: labels[scores >= t].mean() for t in np.unique(scores)}
    reaching = [t for t, p in precisions.items() if p >= target]
    if not reaching:
        assert threshold is None
    else:
        assert threshold == min(reaching)
        assert labels[scores >= threshold].mean() >= target


def test_threshold_example():
    labels = [1, 1, 0, 1, 0, 0]
    scores = [0.95, 0.9, 0.85, 0.6, 0.3, 0.1]
    assert metrics.threshold_for_precision(labels, scores, 0.75) == 0.6   # 3 of 4 flagged are NSFW
    assert metrics.threshold_for_precision(labels, scores, 0.9) == 0.9    # only the top two
    assert metrics.threshold_for_precision([0, 1], [0.9, 0.1], 0.9) is None


def test_operating_point_review_volume():
    labels = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    scores = [0.9, 0.4, 0.85, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1]
    op = metrics.operating_point(labels, scores, 0.8, uploads_per_day=10_000)
    assert (op.flagged, op.precision, op.recall, op.fpr) == (2, 0.5, 0.5, 1 / 8)
    assert op.prevalence == 0.2
    assert op.per_day == pytest.approx(10_000 * (0.2 * 0.5 + 0.8 / 8))
    # at a realistic 1% NSFW share the false positives dominate
    real = metrics.operating_point(labels, scores, 0.8, uploads_per_day=10_000, prevalence=0.01)
    assert real.per_day == pytest.approx(10_000 * (0.01 * 0.5 + 0.99 / 8))
    nothing = metrics.operating_point(labels, scores, 0.99, uploads_per_day=10_000)
    assert nothing.flagged == 0 and nothing.precision is None and nothing.per_day == 0


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match="both"):
        metrics.roc_curve([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="labels"):
        metrics.roc_auc([0, 1, 1], [0.2, 0.3])
