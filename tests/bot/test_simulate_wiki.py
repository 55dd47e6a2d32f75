"""Simulate for every command that writes to the wiki (docs/operator.md: ``--simulate``, or
pywikibot's own ``-simulate``: no wiki writes). ``run`` and ``-simulate run`` are in
test_cli_wiki.py; here ``review publish`` in its widest case, where it would archive answered
cards (edit the archive subpage), list new ones and rewrite the live page."""
from __future__ import annotations

import pytest

import storage
from tests.review.conftest import MODEL, add_flagged
from tests.review.test_wiki import entry_ids, set_verdict

from .test_cli_wiki import run_bot

pytestmark = pytest.mark.wiki

REVIEW = "User:CommonsNsfwBot/Review"


def bot_edits(user) -> list[int]:
    changes = user.api(action="query", list="recentchanges", rcuser="NsfwBot", rclimit=500)
    return [c["revid"] for c in changes["query"]["recentchanges"]]


@pytest.mark.parametrize("flag", ["--simulate", "-simulate"])
def test_review_publish_that_would_archive_writes_nothing(wiki, bot_env, tmp_path, flag):
    data = tmp_path / "data"
    config = tmp_path / "bot.toml"
    config.write_text("max_edits_per_minute = 600.0\nreview_max_entries = 2\n"
                      "reviewed_retention_hours = 0.0\n")
    with storage.open_store(None, data_dir=data) as store:
        ids = add_flagged(store, [(f"File:F{n}.jpg", 0.99 - n / 100) for n in range(3)])
    common = ("--data-dir", str(data), "--config", str(config))

    # for real: two cards listed, Patty answers one, harvest retires it
    done = run_bot(bot_env, *common, "review", "publish", "--model-id", MODEL)
    assert done.returncode == 0, done.stdout + done.stderr
    patty = wiki.user("Patty")
    patty.edit(REVIEW, set_verdict(patty.page_text(REVIEW), ids[0], "nsfw", "explicit --Patty"))
    done = run_bot(bot_env, *common, "review", "harvest")
    assert done.returncode == 0, done.stdout + done.stderr
    edits, live = bot_edits(patty), patty.page_text(REVIEW)

    # simulated: a real publish would now archive ids[0] and list ids[2]
    args = (flag, *common, "review", "publish", "--model-id", MODEL)
    done = run_bot(bot_env, *args) if flag == "--simulate" else run_bot(bot_env, flag, *args[1:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert bot_edits(patty) == edits and patty.page_text(REVIEW) == live
    assert patty.page_text(f"{REVIEW}/Archive 1") is None
    written = {p.name for p in (data / "simulate").glob("*.wiki")}
    assert len(written) == 2, written  # the live page and its archive, to local files instead
    with storage.open_store(None, data_dir=data) as store:
        assert ids[2] not in {e.version_id for e in store.review_entries(REVIEW)}

    # the same publish for real does write both: the simulated one had something to write
    done = run_bot(bot_env, *common, "review", "publish", "--model-id", MODEL)
    assert done.returncode == 0, done.stdout + done.stderr
    assert entry_ids(patty.page_text(f"{REVIEW}/Archive 1") or "") == [ids[0]]
    assert ids[2] in entry_ids(patty.page_text(REVIEW))
