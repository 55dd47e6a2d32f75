"""``score TITLE...`` scores exactly the named files and prints a verdict for each (issue 13)."""
from __future__ import annotations

import re

import pytest

from bot import cli
from bot.jobs import Bot
from bot.sources import CategoryBackfill

from .test_backfill_wiki import category_tree, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.wiki


def test_score_scores_only_the_named_titles_and_shows_stored_verdicts(category_tree, site, store,  # noqa: F811
                                                                      settings, scoring, capsys):
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id, depth=2).ingest()
    pending = store.status(scoring.model_id).pending
    assert pending >= 3
    title = category_tree["Cats"][0]
    args = ["score", title, "--data-dir", str(settings.data_dir)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(title)}: 0\.\d{{3}} (ok|FLAGGED)$", out, re.M), out
    assert re.search(r"scored 1 \(", out), out
    assert store.status(bot.model_id).pending == pending - 1  # the backlog was left alone
    assert cli.main(args) == 0  # already scored: the stored verdict, nothing scored again
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(title)}: 0\.\d{{3}} (ok|FLAGGED) \(stored\)$", out, re.M), out
    assert re.search(r"scored 0 \(", out), out
