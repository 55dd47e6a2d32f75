"""Learning from patrollers: export judged files, evaluate models on them, fine-tune a new one.

The bot side of ``classifiers evaluate|train``: it reads trusted verdicts and
stored scores from ``storage`` and the thumbnails the bot kept of flagged files
(``data_dir/thumbs``), and hands ``classifiers`` plain data: paths, labels,
categories, scores and the upload rate measured from the upload log.

    python -m bot export-labelled DIR
    python -m bot evaluate [--compare MODEL_A MODEL_B] [--out DIR]
    python -m bot train --out DIR [--epochs N ...]

A model argument is a stored model id (``name@hash``: its stored scores are
used as they are) or a model spec (timm name, ``hf-hub:`` id, checkpoint):
then stored scores under its model id are used where they exist and the kept
thumbnails are scored for the rest.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .commandline import Command, arg
from .config import Settings
from .exit_codes import EXIT_OK, EXIT_USAGE
from .shadow import COMMANDS as SHADOW_COMMANDS

__all__ = ["COMMANDS", "ExportedSet", "export_labelled", "observed_uploads_per_day", "kept_thumbnail",
           "export_labelled_command", "evaluate_command", "train_command"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportedSet:
    root: Path
    exported: int
    nsfw: int
    missing: list[str]  # titles with a verdict but no kept thumbnail


def kept_thumbnail(thumbs: Path, version_id: int) -> Path | None:
    """The thumbnail :class:`bot.thumbnails.ThumbnailKeeper` kept for a version (``<id>-<sha1>.<ext>``)."""
    if not thumbs.is_dir():
        return None
    for path in sorted(thumbs.glob(f"{version_id}-*")):
        if path.is_file() and not path.name.endswith(".tmp"):
            return path
    return None


def export_labelled(store, *, thumbs: Path, out: Path, trusted_only: bool = True, copy: bool = False) -> ExportedSet:
    """Write ``out/sfw``, ``out/nsfw`` (hard links to kept thumbnails, copies across file systems)
    and ``out/manifest.jsonl`` (title, version id, categories, stored scores by model id)."""
    from classifiers.learning.labelled import write_manifest

    labelled = store.labelled_versions(trusted_only=trusted_only)
    rows, missing = [], []
    for label in ("sfw", "nsfw"):
        (out / label).mkdir(parents=True, exist_ok=True)
    for version in labelled:
        source = kept_thumbnail(thumbs, version.version_id)
        if source is None:
            missing.append(version.title)
            continue
        relative = f"{version.label}/{source.name}"
        target = out / relative
        if not target.exists():
            _link_or_copy(source, target, copy=copy)
        rows.append({"path": relative, "label": version.label, "categories": list(version.categories),
                     "title": version.title, "version_id": version.version_id, "scores": version.scores})
    write_manifest(out, rows)
    return ExportedSet(root=out, exported=len(rows), nsfw=sum(r["label"] == "nsfw" for r in rows),
                       missing=missing)


def _link_or_copy(source: Path, target: Path, *, copy: bool) -> None:
    if not copy:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy instead
    shutil.copy2(source, target)


def observed_uploads_per_day(store, *, days: float = 7.0) -> tuple[float, str] | None:
    """Uploads a day seen in the upload log over the last ``days`` of ingested entries, and how it was measured.

    None when the upload log has not been read over at least an hour. A run cap
    (``max_files_per_run``) that skipped uploads makes this an underestimate.
    """
    return store.uploads_per_day(days=days)


# -- commands ----------------------------------------------------------------------

def _open(settings: Settings):
    import storage

    return storage.open_store(settings.database_url, data_dir=settings.data_dir)


def export_labelled_command(*, settings: Settings, directory: str, untrusted: bool, copy: bool) -> int:
    """Patrollers' verdicts as a labelled folder for ``python -m classifiers evaluate|train``."""
    with _open(settings) as store:
        result = export_labelled(store, thumbs=Path(settings.data_dir) / "thumbs", out=Path(directory),
                                 trusted_only=not untrusted, copy=copy)
    print(f"exported {result.exported} files ({result.nsfw} nsfw, {result.exported - result.nsfw} sfw) "
          f"to {result.root}")
    if result.missing:
        print(f"{len(result.missing)} judged files have no kept thumbnail (pruned or never flagged), e.g. "
              f"{result.missing[0]}", file=sys.stderr)
    return EXIT_OK


def evaluate_command(*, settings: Settings, compare: Sequence[str] | None, out: str, untrusted: bool,
                     target_precision: float, uploads_per_day: float | None, prevalence: float | None,
                     rescore: bool) -> int:
    """Evaluate the bot's model (or two, side by side) on the files patrollers judged."""
    from classifiers.learning.evaluation import build_evaluation
    from classifiers.learning.report import write_and_print

    import numpy as np

    with _open(settings) as store:
        labelled = store.labelled_versions(trusted_only=not untrusted)
        measured = observed_uploads_per_day(store) if uploads_per_day is None else None
    if not labelled:
        print("no judged files yet: nothing to evaluate", file=sys.stderr)
        return EXIT_USAGE
    thumbs = Path(settings.data_dir) / "thumbs"
    specs = list(compare) if compare else [settings.model]
    stored_ids = {model for v in labelled for model in v.scores}
    columns: dict[str, list[float | None]] = {}
    for spec in specs:
        name, scores = _scores_for(spec, labelled, stored_ids=stored_ids, thumbs=thumbs, settings=settings,
                                   rescore=rescore)
        columns[name] = scores
    keep = [i for i in range(len(labelled)) if all(col[i] is not None for col in columns.values())]
    errors = {labelled[i].title: "no stored score and no kept thumbnail for "
              + ", ".join(m for m, col in columns.items() if col[i] is None)
              for i in range(len(labelled)) if i not in keep}
    if uploads_per_day is not None:
        rate, rate_source = uploads_per_day, "given"
    elif measured is not None:
        rate, rate_source = measured
    else:
        rate, rate_source = None, None
    try:
        evaluation = build_evaluation(
            source=f"{len(labelled)} files judged by {'any' if untrusted else 'trusted'} patrollers "
                   f"({settings.resolved_database_url.split('://')[0]} database)",
            keys=[labelled[i].title for i in keep], labels=[int(labelled[i].label == "nsfw") for i in keep],
            scores_by_model={m: np.array([col[i] for i in keep], dtype=float) for m, col in columns.items()},
            categories=[labelled[i].categories for i in keep], target_precision=target_precision,
            uploads_per_day=rate, uploads_source=rate_source, prevalence=prevalence,
            extra_thresholds=[settings.threshold], in_force=settings.threshold, errors=errors,
            note="judged files are mostly ones an earlier model flagged: the curves describe the high-score "
                 "region; safe files it never flagged are missing")
    except ValueError as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return EXIT_USAGE
    write_and_print(evaluation, out)
    return EXIT_OK


def _scores_for(spec: str, labelled, *, stored_ids: set[str], thumbs: Path, settings: Settings,
                rescore: bool) -> tuple[str, list[float | None]]:
    """(model id, score per labelled version or None): stored scores first, kept thumbnails scored for the rest."""
    if spec in stored_ids and not rescore:
        return spec, [v.scores.get(spec) for v in labelled]
    from classifiers import load_classifier
    from classifiers.learning.evaluate import score_files
    from classifiers.voting import VotingPolicy

    classifier = load_classifier(spec, runtime=settings.runtime, batch_size=settings.batch_size)
    model_id = classifier.model_id
    scores: list[float | None] = [None if rescore else v.scores.get(model_id) for v in labelled]
    todo = [(i, kept_thumbnail(thumbs, v.version_id)) for i, v in enumerate(labelled) if scores[i] is None]
    todo = [(i, path) for i, path in todo if path is not None]
    if todo:
        log.info("%s: scoring %d kept thumbnails without a stored score", model_id, len(todo))
        values, failed = score_files(classifier, [path for _, path in todo], frames=settings.frames,
                                     voting=VotingPolicy(threshold=settings.threshold, rule=settings.vote_rule,
                                                         quorum=settings.quorum, k=settings.vote_k))
        for j, (i, _) in enumerate(todo):
            if j not in failed:
                scores[i] = float(values[j])
    return model_id, scores


def train_command(*, settings: Settings, out: str, untrusted: bool, epochs: int, lr: float, patience: int,
                  input_size: int | None, balance: str, workers: int | None, resume: str | None,
                  no_progress: bool) -> int:
    """Fine-tune the bot's model (``--model``, the starting point) on the files patrollers judged."""
    from classifiers.learning.labelled import read_labelled_folder
    from classifiers.learning.train import TrainConfig, train

    out_dir = Path(out)
    with _open(settings) as store:
        exported = export_labelled(store, thumbs=Path(settings.data_dir) / "thumbs", out=out_dir / "data",
                                   trusted_only=not untrusted)
    print(f"training on {exported.exported} judged files ({exported.nsfw} nsfw) exported to {exported.root}")
    config = TrainConfig(model=settings.model, epochs=epochs, lr=lr, patience=patience, input_size=input_size,
                         balance=balance, **({"workers": workers} if workers is not None else {}))
    try:
        result = train(read_labelled_folder(exported.root), config=config, out=out_dir,
                       resume=resume, progress=not no_progress)
    except ValueError as e:
        print(f"train: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"best validation AUC {result.best_auc:.4f} at epoch {result.best_epoch}; checkpoint {result.checkpoint}")
    print(f"next: python -m bot --model {result.checkpoint} backfill|score ... (scores are kept per model id), "
          f"then python -m bot evaluate --compare {settings.model} {result.checkpoint}")
    return EXIT_OK


_REPORT_ARGS = (
    arg("--target-precision", type=float, default=0.9,
        help="choose the lowest threshold whose flags are at least this precise (default 0.9)"),
    arg("--uploads-per-day", type=float, default=None,
        help="uploads a day for the review volume (default: measured from the upload log in storage)"),
    arg("--prevalence", type=float, default=None,
        help="share of NSFW among uploads for the review volume (default: the judged set's own)"),
)

COMMANDS = [
    Command("export-labelled", export_labelled_command,
            "write judged files as DIR/sfw, DIR/nsfw and DIR/manifest.jsonl", arguments=(
                arg("directory", metavar="DIR"),
                arg("--untrusted", action="store_true", help="also use verdicts from untrusted users"),
                arg("--copy", action="store_true", help="copy thumbnails instead of hard-linking them"))),
    Command("evaluate", evaluate_command,
            "ROC/PR curves, AUC, a threshold for a target precision and a report, on judged files",
            arguments=(
                arg("--compare", nargs=2, metavar=("MODEL_A", "MODEL_B"),
                    help="two stored model ids or model specs, on the same files"),
                arg("--out", default="evaluation", help="report folder (default ./evaluation)"),
                arg("--untrusted", action="store_true", help="also use verdicts from untrusted users"),
                arg("--rescore", action="store_true", help="score kept thumbnails even where scores are stored"),
                *_REPORT_ARGS)),
    Command("train", train_command, "fine-tune --model on judged files (see docs/evaluation.md)", arguments=(
        arg("--out", default="training", help="output folder (default ./training)"),
        arg("--untrusted", action="store_true", help="also use verdicts from untrusted users"),
        arg("--epochs", type=int, default=10),
        arg("--lr", type=float, default=1e-4),
        arg("--patience", type=int, default=3, help="stop after this many epochs without a better validation AUC"),
        arg("--input-size", type=int, default=None),
        arg("--balance", choices=("sampler", "loss", "none"), default="sampler"),
        arg("--workers", type=int, default=None),
        arg("--resume", default=None, help="OUT/state.pt of an earlier run"),
        arg("--no-progress", action="store_true"))),
    # a candidate scored next to the model in use (joined here: bot/cli.py stays as it is)
    *SHADOW_COMMANDS,
]
