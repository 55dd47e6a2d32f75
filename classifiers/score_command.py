"""Score image and video files (folders are walked recursively) and print one line per file.

Output is JSON Lines when stdout is not a terminal (path, score, label,
flagged, model_id, runtime, media_type, frames, error), a table otherwise.
The exit status is 1 when any file could not be scored.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Iterator

from .commandline import Command, arg
from .model_card import DEFAULT_MODEL
from .results import FileResult
from .runtimes import RUNTIMES
from .voting import RULES, VotingPolicy

__all__ = ["COMMAND", "score", "walk"]


def walk(paths: list[str]) -> Iterator[str]:
    """Files named, and every non-hidden file under folders named, in sorted order.

    A path that does not exist is passed on: scoring it reports the error.
    """
    for path in paths:
        if not os.path.isdir(path):
            yield path
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield os.path.join(root, name)


def score(*, paths: list[str], model: str = DEFAULT_MODEL, runtime: str = "auto", batch_size: int | None = None,
          threshold: float = 0.8, frames: int = 16, rule: str = "majority", workers: int = 2,
          threads: int | None = None, format: str = "auto") -> int:  # noqa: A002 - the option's name
    """Score files and folders, one line per file on stdout; see the module doc.

    :returns: 0, or 1 when any file could not be scored
    """
    from tqdm import tqdm

    from .classifier import load_classifier
    from .pipeline import ScoringPipeline

    classifier = load_classifier(model, runtime=runtime, batch_size=batch_size, threads=threads)
    pipeline = ScoringPipeline(classifier, frames=frames, decode_workers=workers,
                               voting=VotingPolicy(threshold=threshold, rule=rule))
    paths = list(walk(paths))
    as_json = format == "jsonl" or (format == "auto" and not sys.stdout.isatty())
    out = sys.stdout
    if not as_json:
        print(f"{'score':>7}  {'label':5}  {'media':8}  {'frames':>6}  path", file=out)
    failed = flagged = 0
    started = time.perf_counter()
    # tqdm writes to stderr, only on a terminal, and only once a run lasts over a second.
    with tqdm(total=len(paths), unit="file", delay=1.0, disable=None, file=sys.stderr) as progress:
        for result in pipeline.score((path, path) for path in paths):
            failed += not result.ok
            flagged += bool(result.flagged)
            line = _json_line(result, classifier) if as_json else _table_line(result)
            if as_json:
                print(line, file=out, flush=True)  # a reader downstream sees each file as it is done
            else:
                progress.write(line, file=out)
            progress.update()
    elapsed = time.perf_counter() - started
    print(f"{len(paths)} files, {flagged} flagged, {failed} failed in {elapsed:.1f} s "
          f"({len(paths) / max(elapsed, 1e-9):.1f} files/s) with {classifier.model_id} on {classifier.runtime}",
          file=sys.stderr)
    out.flush()
    return 1 if failed else 0


def _json_line(result: FileResult, classifier) -> str:
    return json.dumps({
        "path": result.key,
        "score": None if result.score is None else round(result.score, 6),
        "label": None if result.flagged is None else ("nsfw" if result.flagged else "sfw"),
        "flagged": result.flagged,
        "model_id": classifier.model_id,
        "runtime": classifier.runtime,
        "media_type": result.media_type,
        "frames": len(result.frames),
        "partial": result.partial,
        "error": None if result.error_kind is None else f"{result.error_kind}: {result.error_message}",
    })


def _table_line(result: FileResult) -> str:
    if result.score is None:
        return f"{'-':>7}  {'error':5}  {result.media_type or '-':8}  {'-':>6}  {result.key}  " \
               f"[{result.error_kind}: {result.error_message}]"
    label = "NSFW" if result.flagged else "sfw"
    note = f"  [partial: {result.error_kind}]" if result.partial else ""
    return f"{result.score:7.4f}  {label:5}  {result.media_type:8}  {len(result.frames):>6}  {result.key}{note}"


COMMAND = Command("score", score, "score image and video files (folders are walked)", description=__doc__, arguments=(
    arg("paths", nargs="+", metavar="PATH", help="files and folders (walked recursively)"),
    arg("--model", default=DEFAULT_MODEL, help="timm name, hf-hub:ID or checkpoint file (default: %(default)s)"),
    arg("--runtime", default="auto", choices=RUNTIMES,
        help="auto = torch-cuda with a GPU, else onnxruntime (default: %(default)s)"),
    arg("--batch-size", type=int, default=None, help="default: 256 on CUDA, 16 on CPUs"),
    arg("--threshold", type=float, default=0.8, help="flag a file when its score reaches this (default: %(default)s)"),
    arg("--frames", type=int, default=16, help="frames sampled from animations and videos (default: %(default)s)"),
    arg("--rule", default="majority", choices=RULES,
        help="how frame scores become a file verdict (default: %(default)s)"),
    arg("--workers", type=int, default=2, help="decode threads (default: %(default)s)"),
    arg("--threads", type=int, default=None, help="CPU threads for inference (default: one per core)"),
    arg("--format", default="auto", choices=("auto", "jsonl", "table"),
        help="auto: JSON Lines when stdout is not a terminal")))
