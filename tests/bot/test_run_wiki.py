"""The bot against the real local MediaWiki: uploads by a normal user become stored scores."""
from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest

from bot.jobs import Bot
from bot.sources import UploadLog

pytestmark = pytest.mark.wiki


def upload_samples(wiki, media_dir):
    alice = wiki.user("Alice")
    names = {}
    for file, title in (("astronaut.jpg", "Astronaut sample.jpg"), ("coffee.jpg", "Coffee sample.jpg"),
                        ("chelsea.jpg", "Chelsea sample.jpg"), ("cat.gif", "Cat animation.gif"),
                        ("coffee.webm", "Coffee pan.webm")):
        alice.upload(media_dir / file, title)
        names[file] = "File:" + title
    return alice, names


def scored(store, model_id):
    status = store.status(model_id)
    return status.scored, status.pending


def test_run_scores_uploads_overwrites_once(wiki, site, store, settings, scoring, media_dir):
    alice, names = upload_samples(wiki, media_dir)
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    seen, errors = [], []
    bot.score_pending = partial(bot.score_pending, on_result=lambda v, r: r.ok or errors.append(
        (v.title, r.error_kind, r.error_message)))
    report = bot.run_pass(review=False)
    assert report.ingest[0].added == 5
    assert report.score.scored == 5, (report.format(), errors)
    assert report.score.failed == 0 and report.score.errors == 0
    cursor = store.get_cursor("uploadlog")

    # A new version of one file: the overwrite is scored, nothing else again.
    alice.upload(media_dir / "astronaut-v2.jpg", "Astronaut sample.jpg", comment="flipped")
    again = Bot(settings, site=site, store=store, scoring=scoring)
    report = again.score_pending(on_result=lambda v, r: seen.append((v.title, r.media_type)))
    assert report.scored == 0  # nothing ingested yet
    report = again.run_pass(review=False)
    assert report.ingest[0].added == 1
    assert report.score.scored == 1
    status = store.status(scoring.model_id)
    assert status.versions == 6 and status.scored == 6 and status.pending == 0
    new_cursor = store.get_cursor("uploadlog")
    assert (new_cursor["timestamp"], new_cursor["logid"]) > (cursor["timestamp"], cursor["logid"])

    # Re-reading the overlap window finds the same entries and queues nothing.
    report = Bot(settings, site=site, store=store, scoring=scoring).run_pass(review=False)
    assert report.ingest[0].added == 0 and report.ingest[0].duplicates >= 1
    assert report.score.scored == 0
    assert store.get_cursor("uploadlog") == new_cursor


def test_media_types_reach_the_classifier(wiki, site, store, settings, scoring, media_dir):
    upload_samples(wiki, media_dir)
    results = {}
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    bot.ingest_uploads()
    bot.score_pending(on_result=lambda v, r: results.setdefault(v.title, r))
    assert results["File:Cat animation.gif"].media_type == "animated"
    assert len(results["File:Cat animation.gif"].frames) > 1
    # The local wiki has no TimedMediaHandler: the original video is downloaded and sampled.
    assert results["File:Coffee pan.webm"].media_type == "video"
    assert len(results["File:Coffee pan.webm"].frames) > 1
    assert results["File:Coffee sample.jpg"].media_type == "still"
    assert all(r.ok for r in results.values())


class UploadLogWithSuppressed(UploadLog):
    """The real log plus two suppressed entries, as Commons returns them (``actionhidden``, no title).

    The local wiki's sysops may not delete log entries, so the suppressed
    entry is Commons' documented answer, parsed by pywikibot's own LogEntry.
    """

    def _entries(self, start):
        from pywikibot.logentries import LogEntryFactory

        entries = list(super()._entries(start))
        factory = LogEntryFactory(self.site, "upload")
        return entries + [factory.create({
            "logid": entries[-1]["logid"] + n, "ns": 6, "pageid": 0, "logpage": 0, "actionhidden": "",
            "type": "upload", "action": "upload", "user": "Someone",
            "timestamp": entries[-1]["timestamp"], "comment": ""}) for n in (999, 1000)]


def test_hidden_and_deleted_entries_are_skipped(wiki, site, store, settings, scoring, media_dir):
    alice, names = upload_samples(wiki, media_dir)
    sam = wiki.user("Sam")
    sam.delete(names["chelsea.jpg"])
    entries = sam.api(action="query", list="logevents", letype="upload", lelimit=50)["query"]["logevents"]
    report = UploadLogWithSuppressed(site, store, settings).ingest()
    assert report.hidden == 2
    assert report.missing == 1  # deleted since its upload
    assert report.added == 4
    cursor = store.get_cursor("uploadlog")
    assert cursor["logid"] == max(e["logid"] for e in entries) + 1000  # passed, not stuck on it
    titles = {v.title for v in store.claim(scoring.model_id, worker="t", limit=10)}
    assert names["chelsea.jpg"] not in titles and len(titles) == 4


def test_first_run_looks_back_only_as_configured(wiki, site, store, settings, media_dir):
    upload_samples(wiki, media_dir)
    future = datetime.fromisoformat("2100-01-01T00:00:00+00:00")
    report = UploadLog(site, store, settings, now=future).ingest()
    assert report.entries == 0 and report.added == 0


def test_user_agent_names_the_bot(site, settings):
    from bot.site import configure_pywikibot, user_agent

    configure_pywikibot(settings.replace(user_agent_description="ops@example.org"))
    agent = user_agent(site)
    assert agent.startswith("commons-nsfw-bot/")
    assert "ops@example.org" in agent and "Pywikibot/" in agent
    assert "__main__" not in agent


def test_moved_file_is_found_under_its_new_title(wiki, site, store, settings, scoring, media_dir):
    alice = wiki.user("Alice")
    alice.upload(media_dir / "rocket.jpg", "Rocket old name.jpg")
    sam = wiki.user("Sam")
    sam.api("POST", action="move", **{"from": "File:Rocket old name.jpg"}, to="File:Rocket new name.jpg",
            reason="better name", token=sam.token())
    report = UploadLog(site, store, settings).ingest()
    assert report.added == 1 and report.missing == 0
    assert [v.title for v in store.claim(scoring.model_id, worker="t", limit=5)] == ["File:Rocket new name.jpg"]
