"""A candidate model in shadow mode: its own lock, the kept thumbnails, no listing, compared after."""
from __future__ import annotations

import hashlib
import json

import requests

import storage
from bot.cli import main as bot_main
from bot.exit_codes import EXIT_LOCKED, EXIT_OK
from bot.lock import RunLock
from bot.shadow import SHADOW_MODELS_CURSOR

from .test_bot_learning import OLD, bot_data  # noqa: F401 - the fixture


def _shadow(settings, candidate, *extra) -> int:
    return bot_main(["--data-dir", str(settings.data_dir), "--runtime", "torch-cpu", "shadow",
                     "--candidate", str(candidate), *extra])


def test_shadow_scores_kept_thumbnails_next_to_a_run_and_compares(bot_data, trained, tmp_path,
                                                                   monkeypatch, capsys):
    result, _ = trained

    def no_download(*args, **kwargs):
        raise AssertionError("shadow mode must not download anything")

    monkeypatch.setattr(requests.Session, "request", no_download)
    with RunLock(bot_data.data_dir):                  # the normal run holds its lock meanwhile
        assert _shadow(bot_data, result.checkpoint) == EXIT_OK
    out = capsys.readouterr().out
    assert "40 kept thumbnails scored, 0 failed" in out and "nothing listed" in out
    with storage.open_store(data_dir=bot_data.data_dir) as store:
        (candidate,) = store.get_cursor(SHADOW_MODELS_CURSOR)["models"]
        assert candidate.startswith("test_resnet-ft-")
        assert len(store.scored_version_ids(candidate)) == 40
        assert store.scored_version_ids(OLD) >= store.scored_version_ids(candidate)

    assert _shadow(bot_data, result.checkpoint) == EXIT_OK       # nothing left to score
    assert "0 kept thumbnails scored" in capsys.readouterr().out

    slug = hashlib.sha1(candidate.encode()).hexdigest()[:12]
    with RunLock(bot_data.data_dir, f"shadow-{slug}.lock"):     # a second shadow of it waits
        assert _shadow(bot_data, result.checkpoint) == EXIT_LOCKED

    report = tmp_path / "report"
    assert bot_main(["--data-dir", str(bot_data.data_dir), "evaluate", "--compare", OLD, candidate,
                     "--out", str(report)]) == EXIT_OK
    old, new = json.loads((report / "results.json").read_text())["models"]
    assert (old["model"], new["model"]) == (OLD, candidate)
    assert old["files"] == new["files"] == 40                  # the same files, stored scores
