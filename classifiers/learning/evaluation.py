"""An evaluation as plain data: every figure of a report, computed from labels and scores.

:func:`build_evaluation` turns labels and each model's scores on the same files
into an :class:`Evaluation`; :mod:`classifiers.learning.report` writes it as
files and :func:`summary` as a few terminal lines. Nothing here scores images:
``python -m classifiers evaluate`` (:mod:`classifiers.learning.evaluate`) and
``python -m bot evaluate`` bring the scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np

from . import metrics

__all__ = ["DEFAULT_TARGET_PRECISION", "DEFAULT_UPLOADS_PER_DAY", "DEFAULT_KS", "REFERENCE_THRESHOLDS", "CategoryRow",
           "ModelEvaluation", "Evaluation", "evaluate_scores", "build_evaluation", "summary"]

DEFAULT_TARGET_PRECISION = 0.9
#: Commons receives "tens of thousands" of uploads a day; ``python -m bot evaluate`` measures it from storage
DEFAULT_UPLOADS_PER_DAY = 20_000.0
DEFAULT_KS = (10, 50, 100, 500)
#: thresholds every evaluation lists besides the chosen one (Yahoo's 0.2 / 0.8 guidance and the middle)
REFERENCE_THRESHOLDS = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class CategoryRow:
    """One category's files under one model, at the model's chosen threshold."""

    category: str
    files: int
    nsfw: int
    auc: float | None
    flagged: int
    precision: float | None
    recall: float | None
    false_positives: int


@dataclass(frozen=True)
class ModelEvaluation:
    """All figures for one model on one set of files (arrays aligned with :attr:`Evaluation.keys`)."""

    model: str
    labels: np.ndarray
    scores: np.ndarray
    auc: float
    average_precision: float
    roc: metrics.RocCurve
    pr: metrics.PrCurve
    precision_at: dict[int, float]
    target_precision: float
    threshold: float | None
    operating: metrics.OperatingPoint | None
    operating_points: list[metrics.OperatingPoint]
    categories: list[CategoryRow]
    prevalence: float


@dataclass(frozen=True)
class Evaluation:
    """One or more models on the same files, plus what the report needs to say about them."""

    source: str
    keys: list[str]
    categories: list[tuple[str, ...]]
    models: list[ModelEvaluation]
    target_precision: float
    uploads_per_day: float
    uploads_source: str
    prevalence_given: bool
    errors: dict[str, str] = field(default_factory=dict)
    note: str | None = None


def evaluate_scores(model: str, labels, scores, *, categories: Sequence[tuple[str, ...]] | None = None,
                    target_precision: float = DEFAULT_TARGET_PRECISION,
                    uploads_per_day: float = DEFAULT_UPLOADS_PER_DAY, prevalence: float | None = None,
                    ks: Iterable[int] = DEFAULT_KS, extra_thresholds: Iterable[float] = ()) -> ModelEvaluation:
    """Every figure of the report for one model's scores.

    :param labels: 1 NSFW, 0 safe
    :param categories: per file, the categories it is in (for the breakdown)
    :param prevalence: share of NSFW among real uploads for the review volume (None: this set's)
    :param extra_thresholds: operating points to list besides the chosen one (e.g. the bot's current threshold)
    """
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    if not 0 < target_precision <= 1:
        raise ValueError(f"target precision must be in (0, 1], not {target_precision}")
    if labels.min(initial=1) == labels.max(initial=0) or labels.size < 2:
        raise ValueError("evaluation needs both NSFW and safe files")
    threshold = metrics.threshold_for_precision(labels, scores, target_precision)

    def point(t: float) -> metrics.OperatingPoint:
        return metrics.operating_point(labels, scores, t, uploads_per_day=uploads_per_day, prevalence=prevalence)

    operating = point(threshold) if threshold is not None else None
    thresholds = sorted({*REFERENCE_THRESHOLDS, *extra_thresholds, *([threshold] if threshold is not None else [])})
    ks = [k for k in ks if k <= labels.size] or [labels.size]
    return ModelEvaluation(
        model=model, labels=labels, scores=scores,
        auc=metrics.roc_auc(labels, scores), average_precision=metrics.average_precision(labels, scores),
        roc=metrics.roc_curve(labels, scores), pr=metrics.precision_recall_curve(labels, scores),
        precision_at={k: metrics.precision_at_k(labels, scores, k) for k in ks},
        target_precision=target_precision, threshold=threshold, operating=operating,
        operating_points=[point(t) for t in thresholds],
        categories=_by_category(labels, scores, categories, threshold) if categories else [],
        prevalence=float(labels.mean()) if prevalence is None else float(prevalence))


def _by_category(labels: np.ndarray, scores: np.ndarray, categories: Sequence[tuple[str, ...]],
                 threshold: float | None) -> list[CategoryRow]:
    members: dict[str, list[int]] = {}
    for i, cats in enumerate(categories):
        for cat in cats:
            members.setdefault(cat, []).append(i)
    rows = []
    for cat, index in members.items():
        y, s = labels[index], scores[index]
        flagged = s >= threshold if threshold is not None else np.zeros(y.size, bool)
        tp, fp = int((flagged & (y == 1)).sum()), int((flagged & (y == 0)).sum())
        rows.append(CategoryRow(
            category=cat, files=y.size, nsfw=int(y.sum()),
            auc=metrics.roc_auc(y, s) if 0 < y.sum() < y.size else None,
            flagged=tp + fp, precision=tp / (tp + fp) if tp + fp else None,
            recall=tp / int(y.sum()) if y.sum() else None, false_positives=fp))
    # most false positives first: where a patroller's time goes
    return sorted(rows, key=lambda r: (-r.false_positives, -r.files, r.category))


def build_evaluation(*, source: str, keys: Sequence[str], labels, scores_by_model: Mapping[str, Sequence[float]],
                     categories: Sequence[tuple[str, ...]] | None = None,
                     target_precision: float = DEFAULT_TARGET_PRECISION,
                     uploads_per_day: float | None = None, uploads_source: str | None = None,
                     prevalence: float | None = None, extra_thresholds: Iterable[float] = (),
                     errors: Mapping[str, str] | None = None, note: str | None = None) -> Evaluation:
    """An :class:`Evaluation` of each model's scores on the same files (what ``classifiers evaluate`` and the bot share)."""
    if uploads_per_day is None:
        uploads_per_day, uploads_source = DEFAULT_UPLOADS_PER_DAY, "the default; pass --uploads-per-day"
    categories = list(categories) if categories is not None else [() for _ in keys]
    extra_thresholds = tuple(extra_thresholds)
    models = [evaluate_scores(model, labels, scores, categories=categories if any(categories) else None,
                              target_precision=target_precision, uploads_per_day=uploads_per_day,
                              prevalence=prevalence, extra_thresholds=extra_thresholds)
              for model, scores in scores_by_model.items()]
    return Evaluation(source=source, keys=list(keys), categories=categories, models=models,
                      target_precision=target_precision, uploads_per_day=float(uploads_per_day),
                      uploads_source=uploads_source or "given", prevalence_given=prevalence is not None,
                      errors=dict(errors or {}), note=note)


def summary(evaluation: Evaluation) -> str:
    """A few lines for the terminal."""
    lines = []
    for ev in evaluation.models:
        op = ev.operating
        chosen = (f"threshold {op.threshold:.4f} for precision >= {ev.target_precision:g}: recall {op.recall:.3f}, "
                  f"~{op.per_day:,.0f} review entries/day" if op else
                  f"precision {ev.target_precision:g} not reached on this set")
        lines.append(f"{ev.model}: AUC {ev.auc:.4f}, AP {ev.average_precision:.4f}; {chosen}")
    return "\n".join(lines)
