"""``python -m classifiers evaluate``: how good is a model on judged files, and which threshold to use.

Scores a labelled folder (:mod:`classifiers.labelled`) with one model, or two
with ``--compare A B`` on the very same files, and writes a report folder
(:mod:`classifiers.report`): ROC and precision-recall curves, AUC, precision at
k, the threshold that reaches a target precision, the review-page volume per
day it implies, and a breakdown by category.

``bot/`` calls :func:`evaluate_scores` directly with scores already stored for
reviewed files, so nothing here touches the database.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from . import metrics
from .labelled import LabelledItem, read_labelled_folder

__all__ = ["DEFAULT_TARGET_PRECISION", "DEFAULT_UPLOADS_PER_DAY", "CategoryRow", "ModelEvaluation",
           "Evaluation", "evaluate_scores", "build_evaluation", "score_files", "configure_parser", "run"]

log = logging.getLogger(__name__)

DEFAULT_TARGET_PRECISION = 0.9
#: Commons receives "tens of thousands" of uploads a day; ``python -m bot evaluate`` measures it from storage
DEFAULT_UPLOADS_PER_DAY = 20_000.0
DEFAULT_KS = (10, 50, 100, 500)


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
    from .report import REFERENCE_THRESHOLDS

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
    """An :class:`Evaluation` of each model's scores on the same files (what :func:`run` and the bot share)."""
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


def score_files(classifier, paths: Sequence[str | os.PathLike], *, frames: int = 16, voting=None,
                progress: bool = True) -> tuple[np.ndarray, dict[int, str]]:
    """File scores as the bot computes them (its :class:`~classifiers.pipeline.ScoringPipeline`), NaN where a file failed.

    :param voting: a :class:`~classifiers.voting.VotingPolicy` (default: majority of frames)
    :returns: scores, and error messages by index
    """
    from tqdm import tqdm

    from .pipeline import ScoringPipeline
    from .voting import VotingPolicy

    pipeline = ScoringPipeline(classifier, frames=frames, voting=voting or VotingPolicy())
    scores = np.full(len(paths), np.nan)
    errors: dict[int, str] = {}
    results = pipeline.score((str(i), path) for i, path in enumerate(paths))
    for result in tqdm(results, total=len(paths), desc="scoring", unit="file", disable=not progress):
        if result.score is None:
            errors[int(result.key)] = f"{result.error_kind}: {result.error_message}"
        else:
            scores[int(result.key)] = result.score
    return scores, errors


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Score a labelled folder (sfw/ and nsfw/ subfolders, optional manifest.jsonl or "
                          "manifest.csv with categories) and write ROC/PR plots and a Markdown report.")
    parser.add_argument("folder", type=Path, help="labelled folder (e.g. from `python -m bot export-labelled`)")
    parser.add_argument("--model", default=None,
                        help="timm name, hf-hub: id or checkpoint from `classifiers train` "
                             "(default opennsfw_resnet50_1by2)")
    parser.add_argument("--compare", nargs=2, metavar=("MODEL_A", "MODEL_B"),
                        help="evaluate two models on the same files, side by side")
    parser.add_argument("--out", type=Path, default=Path("evaluation"), help="report folder (default ./evaluation)")
    add_report_arguments(parser)
    parser.add_argument("--runtime", default="auto", help="auto | torch-cuda | torch-cpu | onnxruntime")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--frames", type=int, default=16, help="frames sampled from animations and videos")
    parser.add_argument("--note", default=None, help="a line for the report's header (e.g. where the labels come from)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that shape a report (shared with ``python -m bot evaluate``)."""
    parser.add_argument("--target-precision", type=float, default=DEFAULT_TARGET_PRECISION,
                        help=f"choose the lowest threshold whose flags are at least this precise "
                             f"(default {DEFAULT_TARGET_PRECISION})")
    parser.add_argument("--uploads-per-day", type=float, default=None,
                        help=f"uploads a day, for the review-page volume (default {DEFAULT_UPLOADS_PER_DAY:,.0f}; "
                             "the bot measures it from storage)")
    parser.add_argument("--prevalence", type=float, default=None,
                        help="share of NSFW among uploads, for the review-page volume (default: this set's own)")
    parser.add_argument("--threshold", type=float, action="append", default=[],
                        help="also report this threshold (repeatable), e.g. the one the bot uses now")


def run(args: argparse.Namespace) -> int:
    from .classifier import load_classifier
    from .models import DEFAULT_MODEL

    try:
        items = read_labelled_folder(args.folder)
    except (OSError, ValueError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2
    models = list(args.compare) if args.compare else [args.model or DEFAULT_MODEL]
    if args.compare and args.model:
        print("evaluate: give --model or --compare, not both", file=sys.stderr)
        return 2
    scores_by_model: dict[str, np.ndarray] = {}
    errors: dict[int, str] = {}
    for spec in models:
        classifier = load_classifier(spec, runtime=args.runtime, batch_size=args.batch_size)
        log.info("scoring %d files with %s", len(items), classifier)
        scores, failed = score_files(classifier, [item.path for item in items], frames=args.frames,
                                     progress=not args.no_progress)
        name = classifier.model_id
        if name in scores_by_model:  # the same weights twice: keep both columns apart
            name = f"{name} ({spec})"
        scores_by_model[name] = scores
        errors.update(failed)
    keep = [i for i in range(len(items)) if i not in errors]
    try:
        evaluation = _evaluation_of(items, keep, scores_by_model, args, source=str(args.folder),
                                    errors={items[i].key: message for i, message in errors.items()})
    except ValueError as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2
    from .report import write_report

    path = write_report(evaluation, args.out)
    print(summary(evaluation))
    print(f"report: {path}")
    return 0


def _evaluation_of(items: Sequence[LabelledItem], keep: list[int], scores_by_model: dict[str, np.ndarray],
                   args: argparse.Namespace, *, source: str, errors: dict[str, str]) -> Evaluation:
    return build_evaluation(
        source=source, keys=[items[i].key for i in keep], labels=[items[i].label for i in keep],
        scores_by_model={m: s[keep] for m, s in scores_by_model.items()},
        categories=[items[i].categories for i in keep], target_precision=args.target_precision,
        uploads_per_day=args.uploads_per_day,
        uploads_source=None if args.uploads_per_day is None else "given",
        prevalence=args.prevalence, extra_thresholds=args.threshold, errors=errors, note=args.note)


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
