"""``python -m classifiers evaluate``: how good is a model on judged files, and which threshold to use.

Scores a labelled folder (:mod:`classifiers.learning.labelled`) with one model,
or two with ``--compare A B`` on the very same files, and writes a report folder
(:mod:`classifiers.learning.report`): ROC and precision-recall curves, AUC,
precision at k, the threshold that reaches a target precision, the review-page
volume per day it implies, and a breakdown by category.

``bot/`` calls :func:`~classifiers.learning.evaluation.build_evaluation` directly
with scores already stored for reviewed files, so nothing here touches the database.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ..commandline import EXIT_OK, EXIT_USAGE, Command, arg
from ..model_card import DEFAULT_MODEL
from ..runtimes import RUNTIMES
from .evaluation import DEFAULT_TARGET_PRECISION, DEFAULT_UPLOADS_PER_DAY, build_evaluation

__all__ = ["COMMAND", "REPORT_ARGUMENTS", "score_files", "evaluate_command"]

log = logging.getLogger(__name__)


def score_files(classifier, paths: Sequence[str | os.PathLike], *, frames: int = 16, voting=None,
                progress: bool = True) -> tuple[np.ndarray, dict[int, str]]:
    """File scores as the bot computes them (its :class:`~classifiers.pipeline.ScoringPipeline`), NaN where a file failed.

    :param voting: a :class:`~classifiers.voting.VotingPolicy` (default: majority of frames)
    :returns: scores, and error messages by index
    """
    from tqdm import tqdm

    from ..pipeline import ScoringPipeline
    from ..voting import VotingPolicy

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


def training_sha1s(spec: str) -> list[str]:
    """The sha1s of the files a checkpoint from ``classifiers train`` was trained on (none for
    other models): read from the checkpoint's metadata, without loading its weights."""
    path = Path(spec)
    if not (path.suffix == ".safetensors" and path.is_file()):
        return []
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as fp:
        extra = json.loads((fp.metadata() or {}).get("extra") or "{}")
    return list(extra.get("train_sha1s") or ())


def evaluate_command(*, folder: Path, model: str | None = None, compare: Sequence[str] | None = None,
                     out: Path = Path("evaluation"), target_precision: float = DEFAULT_TARGET_PRECISION,
                     uploads_per_day: float | None = None, prevalence: float | None = None,
                     threshold: Sequence[float] = (), runtime: str = "auto", batch_size: int | None = None,
                     frames: int = 16, note: str | None = None, no_progress: bool = False) -> int:
    """Score a labelled folder with one model (or two) and write the report into ``out``.

    :param threshold: thresholds to report besides the chosen one (e.g. the bot's current one)
    :returns: 0, or 2 when the folder cannot be read, both ``model`` and ``compare`` are given,
        or the scored files lack one of the labels
    """
    from ..classifier import load_classifier
    from .labelled import file_sha1, read_labelled_folder
    from .report import write_and_print

    try:
        items = read_labelled_folder(folder)
    except (OSError, ValueError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return EXIT_USAGE
    models = list(compare) if compare else [model or DEFAULT_MODEL]
    if compare and model:
        print("evaluate: give --model or --compare, not both", file=sys.stderr)
        return EXIT_USAGE
    scores_by_model: dict[str, np.ndarray] = {}
    errors: dict[int, str] = {}
    for spec in models:
        classifier = load_classifier(spec, runtime=runtime, batch_size=batch_size)
        log.info("scoring %d files with %s", len(items), classifier)
        scores, failed = score_files(classifier, [item.path for item in items], frames=frames,
                                     progress=not no_progress)
        name = classifier.model_id
        if name in scores_by_model:  # the same weights twice: keep both columns apart
            name = f"{name} ({spec})"
        scores_by_model[name] = scores
        errors.update(failed)
    keep = [i for i in range(len(items)) if i not in errors]
    trained_on = {name: training_sha1s(spec) for name, spec in zip(scores_by_model, models)}
    try:
        evaluation = build_evaluation(
            source=str(folder), keys=[items[i].key for i in keep], labels=[items[i].label for i in keep],
            scores_by_model={m: s[keep] for m, s in scores_by_model.items()},
            categories=[items[i].categories for i in keep], target_precision=target_precision,
            uploads_per_day=uploads_per_day, uploads_source=None if uploads_per_day is None else "given",
            prevalence=prevalence, extra_thresholds=threshold,
            # the first --threshold is the one in force (the bot's), marked on the plots
            in_force=threshold[0] if threshold else None,
            errors={items[i].key: message for i, message in errors.items()}, note=note,
            sha1s=[file_sha1(items[i].path) for i in keep] if any(trained_on.values()) else None,
            training_sha1s=trained_on)
    except ValueError as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return EXIT_USAGE
    write_and_print(evaluation, out)
    return EXIT_OK


#: the options that shape a report
REPORT_ARGUMENTS = (
    arg("--target-precision", type=float, default=DEFAULT_TARGET_PRECISION,
        help=f"choose the lowest threshold whose flags are at least this precise (default {DEFAULT_TARGET_PRECISION})"),
    arg("--uploads-per-day", type=float, default=None,
        help=f"uploads a day, for the review-page volume (default {DEFAULT_UPLOADS_PER_DAY:,.0f}; "
             "the bot measures it from storage)"),
    arg("--prevalence", type=float, default=None,
        help="share of NSFW among uploads, for the review-page volume (default: this set's own)"),
    arg("--threshold", type=float, action="append", default=[],
        help="also report this threshold (repeatable); the first is marked on the plots as the "
             "one in force, e.g. the one the bot uses now"),
)


COMMAND = Command(
    "evaluate", evaluate_command, "score a labelled folder and write ROC/PR plots and a report",
    description="Score a labelled folder (sfw/ and nsfw/ subfolders, optional manifest.jsonl or\n"
                "manifest.csv with categories) and write ROC/PR plots and a Markdown report.",
    arguments=(
        arg("folder", type=Path, help="labelled folder (e.g. from `python -m bot export-labelled`)"),
        arg("--model", default=None, help="timm name, hf-hub: id or checkpoint from `classifiers train` "
                                          f"(default {DEFAULT_MODEL})"),
        arg("--compare", nargs=2, metavar=("MODEL_A", "MODEL_B"),
            help="evaluate two models on the same files, side by side"),
        arg("--out", type=Path, default=Path("evaluation"), help="report folder (default ./evaluation)"),
        *REPORT_ARGUMENTS,
        arg("--runtime", default="auto", help=" | ".join(RUNTIMES)),
        arg("--batch-size", type=int, default=None),
        arg("--frames", type=int, default=16, help="frames sampled from animations and videos"),
        arg("--note", default=None, help="a line for the report's header (e.g. where the labels come from)"),
        arg("--no-progress", action="store_true", help="no progress bar")))
