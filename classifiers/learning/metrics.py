"""Ranking metrics for a binary NSFW score, in NumPy (no scikit-learn at run time).

Conventions: label 1 means NSFW, a file is flagged when ``score >= threshold``.
Curves follow scikit-learn's definitions exactly (``roc_curve`` with
``drop_intermediate=False``, ``precision_recall_curve``, ``roc_auc_score``,
``average_precision_score``); the tests compare them on fixed inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RocCurve", "PrCurve", "roc_curve", "roc_auc", "precision_recall_curve", "average_precision",
           "precision_at_k", "threshold_for_precision", "OperatingPoint", "operating_point"]


@dataclass(frozen=True)
class RocCurve:
    """False and true positive rates at each distinct threshold, thresholds decreasing (first is +inf)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class PrCurve:
    """Precision and recall at each distinct threshold, thresholds increasing; a last point (1, 0) is appended."""

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray


def _check(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(f"{labels.size} labels for {scores.size} scores")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
    return labels, scores


def _counts(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true and false positives when flagging at each distinct score, highest first."""
    labels, scores = _check(labels, scores)
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, labels = scores[order], labels[order]
    # the last index of each run of equal scores: ties are flagged together
    last = np.r_[np.flatnonzero(np.diff(scores)), labels.size - 1]
    tps = np.cumsum(labels)[last].astype(np.float64)
    fps = (last + 1) - tps
    return tps, fps, scores[last]


def roc_curve(labels, scores) -> RocCurve:
    tps, fps, thresholds = _counts(labels, scores)
    positives, negatives = tps[-1], fps[-1]
    if positives == 0 or negatives == 0:
        raise ValueError("a ROC curve needs both NSFW and safe examples")
    return RocCurve(fpr=np.r_[0.0, fps / negatives], tpr=np.r_[0.0, tps / positives],
                    thresholds=np.r_[np.inf, thresholds])


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve (trapezoids: ties count one half)."""
    curve = roc_curve(labels, scores)
    return float(np.trapezoid(curve.tpr, curve.fpr))


def precision_recall_curve(labels, scores) -> PrCurve:
    tps, fps, thresholds = _counts(labels, scores)
    if tps[-1] == 0:
        raise ValueError("a precision-recall curve needs NSFW examples")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    # as scikit-learn (>= 1.5): every threshold, increasing, then the point (1, 0)
    return PrCurve(precision=np.r_[precision[::-1], 1.0], recall=np.r_[recall[::-1], 0.0],
                   thresholds=thresholds[::-1])


def average_precision(labels, scores) -> float:
    """Sum over thresholds of precision times the recall gained there (no interpolation)."""
    curve = precision_recall_curve(labels, scores)
    return float(-np.sum(np.diff(curve.recall) * curve.precision[:-1]))


def precision_at_k(labels, scores, k: int) -> float:
    """Share of NSFW among the ``k`` highest scores (a review page of ``k`` entries); ties broken by order."""
    labels, scores = _check(labels, scores)
    if not 1 <= k <= labels.size:
        raise ValueError(f"k={k} outside 1..{labels.size}")
    top = np.argsort(-scores, kind="mergesort")[:k]
    return float(labels[top].mean())


def threshold_for_precision(labels, scores, target: float) -> float | None:
    """The lowest threshold whose flagged set reaches ``target`` precision (so the most recall), or None.

    Precision is not monotonic in the threshold; this is the operating point a
    patroller cares about (most NSFW found while the page stays at least
    ``target`` correct on this set).
    """
    curve = precision_recall_curve(labels, scores)
    reach = np.flatnonzero(curve.precision[:-1] >= target)
    return float(curve.thresholds[reach[0]]) if reach.size else None


@dataclass(frozen=True)
class OperatingPoint:
    """What flagging at ``threshold`` does on the evaluation set, and to the review page.

    :param flagged_share: share of all uploads flagged, ``prevalence * recall + (1 - prevalence) * fpr``
    :param per_day: review-page entries per day at ``uploads_per_day``
    """

    threshold: float
    precision: float | None  # None when nothing is flagged
    recall: float
    fpr: float
    flagged: int
    prevalence: float
    flagged_share: float
    uploads_per_day: float
    per_day: float


def operating_point(labels, scores, threshold: float, *, uploads_per_day: float,
                    prevalence: float | None = None) -> OperatingPoint:
    """Precision, recall and false positive rate at ``threshold``, and the daily review volume they imply.

    An evaluation set rarely has the prevalence of real uploads (reviewed files
    are mostly flagged ones), so the volume is computed from the rates, weighted
    by ``prevalence`` (the share of NSFW among uploads; None: this set's own).
    """
    labels, scores = _check(labels, scores)
    flagged = scores >= threshold
    positives, negatives = int(labels.sum()), int((~labels).sum())
    tp = int((flagged & labels).sum())
    fp = int((flagged & ~labels).sum())
    recall = tp / positives if positives else 0.0
    fpr = fp / negatives if negatives else 0.0
    prevalence = positives / labels.size if prevalence is None else float(prevalence)
    share = prevalence * recall + (1.0 - prevalence) * fpr
    return OperatingPoint(threshold=float(threshold), precision=tp / (tp + fp) if tp + fp else None,
                          recall=recall, fpr=fpr, flagged=tp + fp, prevalence=prevalence,
                          flagged_share=share, uploads_per_day=float(uploads_per_day),
                          per_day=share * float(uploads_per_day))
