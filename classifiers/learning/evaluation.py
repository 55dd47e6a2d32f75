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
           "ModelEvaluation", "Evaluation", "evaluate_scores", "build_evaluation", "summary", "format_threshold"]

DEFAULT_TARGET_PRECISION = 0.9
#: Commons receives "tens of thousands" of uploads a day; ``python -m bot evaluate`` measures it from storage
DEFAULT_UPLOADS_PER_DAY = 20_000.0
DEFAULT_KS = (10, 50, 100, 500)
#: thresholds every evaluation lists besides the chosen one (Yahoo's 0.2 / 0.8 guidance and the middle)
REFERENCE_THRESHOLDS = (0.2, 0.5, 0.8)
#: fewer files than this in a class and the report says its figures are rough: with 30
#: NSFW files one file moves recall by over 3 points
MIN_FILES_PER_CLASS = 30


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
    #: the threshold the bot uses now, when the caller said (``bot evaluate``: the settings')
    in_force: metrics.OperatingPoint | None = None


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
    #: caveats printed first in the report and the summary (small set, training files reused)
    warnings: list[str] = field(default_factory=list)


def evaluate_scores(model: str, labels, scores, *, categories: Sequence[tuple[str, ...]] | None = None,
                    target_precision: float = DEFAULT_TARGET_PRECISION,
                    uploads_per_day: float = DEFAULT_UPLOADS_PER_DAY, prevalence: float | None = None,
                    ks: Iterable[int] = DEFAULT_KS, extra_thresholds: Iterable[float] = (),
                    in_force: float | None = None) -> ModelEvaluation:
    """Every figure of the report for one model's scores.

    :param labels: 1 NSFW, 0 safe
    :param categories: per file, the categories it is in (for the breakdown)
    :param prevalence: share of NSFW among real uploads for the review volume (None: this set's)
    :param extra_thresholds: operating points to list besides the chosen one (e.g. the bot's current threshold)
    :param in_force: the threshold the bot uses now: marked on the plots next to the chosen one
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
    thresholds = sorted({*REFERENCE_THRESHOLDS, *extra_thresholds,
                         *([threshold] if threshold is not None else []),
                         *([in_force] if in_force is not None else [])})
    ks = [k for k in ks if k <= labels.size] or [labels.size]
    return ModelEvaluation(
        model=model, labels=labels, scores=scores,
        auc=metrics.roc_auc(labels, scores), average_precision=metrics.average_precision(labels, scores),
        roc=metrics.roc_curve(labels, scores), pr=metrics.precision_recall_curve(labels, scores),
        precision_at={k: metrics.precision_at_k(labels, scores, k) for k in ks},
        target_precision=target_precision, threshold=threshold, operating=operating,
        operating_points=[point(t) for t in thresholds],
        categories=_by_category(labels, scores, categories, threshold) if categories else [],
        prevalence=float(labels.mean()) if prevalence is None else float(prevalence),
        in_force=point(in_force) if in_force is not None else None)


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
                     in_force: float | None = None,
                     errors: Mapping[str, str] | None = None, note: str | None = None,
                     sha1s: Sequence[str] | None = None,
                     training_sha1s: Mapping[str, Iterable[str]] | None = None) -> Evaluation:
    """An :class:`Evaluation` of each model's scores on the same files (what ``classifiers evaluate`` and the bot share).

    :param sha1s: per file, the sha1 of its bytes; with ``training_sha1s`` (model -> sha1s of
        the files it was trained on) the files a model saw in training are counted in a warning
    """
    if uploads_per_day is None:
        uploads_per_day, uploads_source = DEFAULT_UPLOADS_PER_DAY, "the default; pass --uploads-per-day"
    categories = list(categories) if categories is not None else [() for _ in keys]
    extra_thresholds = tuple(extra_thresholds)
    models = [evaluate_scores(model, labels, scores, categories=categories if any(categories) else None,
                              target_precision=target_precision, uploads_per_day=uploads_per_day,
                              prevalence=prevalence, extra_thresholds=extra_thresholds,
                              in_force=in_force)
              for model, scores in scores_by_model.items()]
    return Evaluation(source=source, keys=list(keys), categories=categories, models=models,
                      target_precision=target_precision, uploads_per_day=float(uploads_per_day),
                      uploads_source=uploads_source or "given", prevalence_given=prevalence is not None,
                      errors=dict(errors or {}), note=note,
                      warnings=_warnings(models[0].labels, sha1s, training_sha1s or {}))


def _warnings(labels: np.ndarray, sha1s: Sequence[str] | None,
              training_sha1s: Mapping[str, Iterable[str]]) -> list[str]:
    nsfw = int(labels.sum())
    safe = int(labels.size) - nsfw
    found = []
    if min(nsfw, safe) < MIN_FILES_PER_CLASS:
        found.append(f"small evaluation set: {nsfw} NSFW and {safe} safe files (fewer than "
                     f"{MIN_FILES_PER_CLASS} in a class): one file moves recall by "
                     f"{1 / max(nsfw, 1):.0%} and the false positive rate by {1 / max(safe, 1):.0%}; "
                     "treat thresholds and curves as rough")
    if sha1s is not None:
        for model, trained in training_sha1s.items():
            seen = set(trained)
            overlap = sum(1 for sha1 in sha1s if sha1 in seen)
            if overlap:
                found.append(f"{model} was trained on {overlap} of these {len(sha1s)} files (same "
                             "sha1): its figures are optimistic; evaluate on files it never saw")
    return found


def format_threshold(value: float) -> str:
    """Enough significant digits to set the threshold from the text: 0.6318, but 6.6e-06 for a
    fine-tune whose scores crowd near 0 (four decimals would print 0.0000)."""
    return f"{value:.4f}" if value >= 0.01 or value == 0 else f"{value:.3g}"


def summary(evaluation: Evaluation) -> str:
    """A few lines for the terminal."""
    lines = [f"warning: {w}" for w in evaluation.warnings]
    for ev in evaluation.models:
        op = ev.operating
        chosen = (f"threshold {format_threshold(op.threshold)} for precision >= {ev.target_precision:g}: recall {op.recall:.3f}, "
                  f"~{op.per_day:,.0f} review entries/day" if op else
                  f"precision {ev.target_precision:g} not reached on this set")
        lines.append(f"{ev.model}: AUC {ev.auc:.4f}, AP {ev.average_precision:.4f}; {chosen}")
    return "\n".join(lines)
