"""Category backfills against the local wiki: breadth first, cycles, depth, limits, crash and resume."""
from __future__ import annotations

import re

import pytest

from bot import cli
from bot.jobs import Bot
from bot.sources import CategoryBackfill

from .conftest import photo

pytestmark = pytest.mark.wiki

#: Category:Animals -> Cats -> Kittens -> Tiny (too deep for depth 2); Cats -> Animals closes a cycle
TREE = {"Category:Animals": "[[Category:Cats]]", "Category:Cats": "[[Category:Animals]]",
        "Category:Kittens": "[[Category:Cats]]", "Category:Tiny": "[[Category:Kittens]]"}
FILES = {"Animals": 2, "Cats": 2, "Kittens": 1, "Tiny": 1}


@pytest.fixture(scope="module")
def category_tree(local_wiki, tmp_path_factory):
    """Built once for this module's tests (each has its own database); nothing here writes to the wiki."""
    wiki, tmp_path = local_wiki, tmp_path_factory.mktemp("tree")
    wiki.reset()
    alice = wiki.user("Alice")
    for title, text in TREE.items():
        alice.edit(title, text)
    titles = {}
    n = 0
    for category, count in FILES.items():
        for _ in range(count):
            image = photo(("astronaut", "coffee", "chelsea", "rocket")[n % 4]).resize((200 + n, 150))
            path = tmp_path / f"f{n}.jpg"
            image.save(path)
            alice.upload(path, f"{category} {n}.jpg", text=f"[[Category:{category}]]")
            titles.setdefault(category, []).append(f"File:{category} {n}.jpg")
            n += 1
    wiki.run_jobs()  # category links are written by jobs on this wiki
    return titles


@pytest.fixture
def site(category_tree):
    import pywikibot

    site = pywikibot.Site()
    site.login()
    return site


def queued_titles(store, model_id):
    return sorted(v.title for v in store.claim(model_id, worker="test", limit=100))


def test_walk_breadth_first_with_cycle_and_depth(category_tree, site, store, settings, scoring):
    report = CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id,
                              depth=2).ingest()
    expected = sorted(t for c in ("Animals", "Cats", "Kittens") for t in category_tree[c])
    assert report.done and report.categories == 3  # Animals, Cats, Kittens; the cycle ends nothing
    assert queued_titles(store, scoring.model_id) == expected


def test_category_pages_ask_50_files_when_thumbnails_are_wanted(category_tree, site, store, settings,
                                                              scoring, monkeypatch):
    """MediaWiki builds at most 50 thumbnail URLs a request: a bot's 500 would come back in pieces."""
    from bot.metadata import batch_size

    sent = []
    original = type(site).simple_request

    def simple_request(self, **params):
        sent.append(params)
        return original(self, **params)

    monkeypatch.setattr(type(site), "simple_request", simple_request)
    CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id, depth=0).ingest()
    limits = [p["gcmlimit"] for p in sent if p.get("generator") == "categorymembers"]
    assert batch_size(site) == 500 and limits and set(limits) == {"50"}


class CrashingStore:
    """The real store, except that the ``crash_at``-th write dies like a killed process would."""

    def __init__(self, store, crash_at: int) -> None:
        self.store, self.crash_at, self.writes = store, crash_at, 0

    def add_file_versions(self, versions, *, cursor=None):
        self.writes += 1
        if self.writes == self.crash_at:
            raise KeyboardInterrupt("killed")
        return self.store.add_file_versions(versions, cursor=cursor)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_crash_resumes_where_it_stopped(category_tree, site, store, settings, scoring):
    settings = settings.replace(batch_size=1)
    crashing = CrashingStore(store, crash_at=3)
    with pytest.raises(KeyboardInterrupt):
        CategoryBackfill(site, crashing, settings, category="Category:Animals", model_id=scoring.model_id,
                         depth=5).ingest()
    state = store.get_cursor("category:Category:Animals")
    assert state and not state["done"]
    report = CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id,
                              depth=5).ingest()
    assert report.done
    everything = sorted(t for ts in category_tree.values() for t in ts)
    assert queued_titles(store, scoring.model_id) == everything


def test_limit_then_resume_then_skip_scored(category_tree, site, store, settings, scoring):
    first = CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id,
                             depth=1, limit=3).ingest()
    assert first.added == 3 and not first.done
    rest = CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id,
                            depth=1).ingest()
    assert rest.done and rest.added == 1  # Animals (2) + Cats (2), none twice
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    assert bot.score_pending().scored == 4
    # A new walk over a scored tree queues nothing new.
    again = CategoryBackfill(site, store, settings, category="Animals", model_id=scoring.model_id,
                             depth=1).ingest()
    assert again.added == 0 and again.already_scored == 4


def test_backfill_command(category_tree, settings, capsys):
    code = cli.main(["backfill", "--category", "Kittens", "--depth", "1", "--data-dir",
                     str(settings.data_dir), "--batch-size", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "scored 2 (" in out  # Kittens and Tiny


def test_score_command_prints_verdicts(category_tree, settings, capsys):
    title = category_tree["Cats"][0]
    code = cli.main(["score", title, "File:Nothing here.jpg", "--data-dir", str(settings.data_dir)])
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(title)}: 0\.\d{{3}} (ok|FLAGGED)$", out, re.M), out
    assert "File:Nothing here.jpg: missing or deleted" in out
    assert code == 1  # a named file was missing
