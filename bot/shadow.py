"""A candidate model side by side with the one in use (shadow mode): it scores, it never lists.

    python -m bot shadow --candidate MODEL [--limit N]

The candidate (a timm name, an ``hf-hub:`` id or a checkpoint from ``train``)
scores the thumbnails the normal run already downloaded and kept
(``data_dir/thumbs``: the files the model in use flagged, which are the files
patrollers judge), with the bot's own settings (frames, voting, size caps), and
its scores are stored under its own model id. Nothing is downloaded, nothing is
published: the review page and the normal run's queue never see these scores
(jobs pass the model in use explicitly, and ``review publish`` refuses to guess
a shadow model, see :data:`SHADOW_MODELS_CURSOR`). It holds its own lock
(``shadow-<hash>.lock``), so it runs next to ``run``/``serve`` and a second
shadow of the same candidate is refused with exit code 3.

Then ``python -m bot evaluate --compare <model in use> <candidate id>`` shows both
models on the same judged files; docs/evaluation.md says how to promote it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

from .commandline import Command, arg
from .config import Settings
from .exit_codes import EXIT_FAILURES, EXIT_OK, EXIT_USAGE

__all__ = ["COMMANDS", "SHADOW_MODELS_CURSOR", "kept_thumbnails", "shadow_command"]

log = logging.getLogger(__name__)

#: storage cursor listing the model ids that scored in shadow mode (never listed)
SHADOW_MODELS_CURSOR = "shadow-models"
#: ``<version id>-<12 hex of sha1>.<ext>``, as bot.thumbnails.ThumbnailKeeper names them
_KEPT = re.compile(r"^(\d+)-[0-9a-f]{12}\.\w+$")
#: files scored between two stores of their scores
CHUNK = 64


def kept_thumbnails(thumbs: Path) -> dict[int, Path]:
    """Kept thumbnails by version id (unfinished ``.tmp`` files left out)."""
    if not thumbs.is_dir():
        return {}
    found = {}
    for path in sorted(thumbs.iterdir()):
        match = _KEPT.match(path.name)
        if match and path.is_file():
            found.setdefault(int(match.group(1)), path)
    return found


def shadow_command(*, settings: Settings, candidate: str, limit: int | None = None) -> int:
    """Score the kept thumbnails with ``candidate`` and store its scores; list nothing."""
    import storage

    from .lock import RunLock
    from .pipeline import build_scoring, to_score_record

    scoring = build_scoring(settings.replace(model=candidate))
    model_id = scoring.model_id
    slug = hashlib.sha1(model_id.encode()).hexdigest()[:12]
    with RunLock(settings.data_dir, f"shadow-{slug}.lock"), \
            storage.open_store(settings.database_url, data_dir=settings.data_dir) as store:
        shadows = set((store.get_cursor(SHADOW_MODELS_CURSOR) or {}).get("models", ()))
        in_use = store.status().model_id
        if model_id == in_use and model_id not in shadows:
            print(f"shadow: {model_id} is the model in use; a candidate must differ",
                  file=sys.stderr)
            return EXIT_USAGE
        # recorded before the first score: a publish never mistakes it for the model in use
        store.set_cursor(SHADOW_MODELS_CURSOR, {"models": sorted(shadows | {model_id})})
        kept = kept_thumbnails(Path(settings.data_dir) / "thumbs")
        done = store.scored_version_ids(model_id)
        todo = [v for v in sorted(kept) if v not in done][:limit]
        failed = 0
        for start in range(0, len(todo), CHUNK):
            batch = todo[start:start + CHUNK]
            results = list(scoring.pipeline.score((str(v), kept[v]) for v in batch))
            store.record_scores([(int(r.key), model_id, to_score_record(r, getattr(scoring.pipeline, "voting", None)))
                                 for r in results])
            failed += sum(1 for r in results if not r.ok)
    print(f"shadow {model_id}: {len(todo) - failed} kept thumbnails scored, {failed} failed, "
          f"{len(kept) - len(todo)} already scored or over the limit; nothing listed")
    print(f"next: python -m bot evaluate --compare {in_use or '<model in use>'} {model_id}")
    return EXIT_FAILURES if failed else EXIT_OK


COMMANDS = [
    Command("shadow", shadow_command,
            "score the kept thumbnails with a candidate model, side by side; lists nothing",
            arguments=(
                arg("--candidate", required=True,
                    help="timm name, hf-hub: id or checkpoint (e.g. from `train`)"),
                arg("--limit", type=int, default=None, help="score at most this many files"))),
]
