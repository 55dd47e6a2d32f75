"""Issue 12, deletions and suppressions: a deleted file's card leaves the review page and the
thumbnail kept of it goes; a suppressed user name is removed from storage."""
from __future__ import annotations

import pytest

from bot.logs import DeletionLog
from bot.thumbnails import ThumbnailKeeper
from bot.review import publish_review
from bot.review.page import ReviewPage
from bot.sources import UploadLog
from storage import ScoreIn

pytestmark = pytest.mark.wiki

MODEL = "opennsfw_resnet50_1by2@0123456789ab"


def test_deleted_file_leaves_the_review_page_and_its_thumbnail_goes(wiki, site, store, settings, media_dir):
    settings = settings.replace(review_page="User:NsfwBot/Review", config_page="User:NsfwBot/Config",
                                stop_page="User:NsfwBot/Stop", max_edits_per_minute=6000.0)
    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    alice.upload(media_dir / "chelsea.jpg", "Flagged one.jpg")
    alice.upload(media_dir / "coffee.jpg", "Flagged two.jpg")
    UploadLog(site, store, settings).ingest()
    versions = store.claim(MODEL, worker="w", limit=5)
    keeper = ThumbnailKeeper(settings.data_dir / "thumbs")
    for v in versions:
        store.record_score(v.version_id, MODEL, ScoreIn(flagged=True, score=0.97, frames=((0, None, 0.97),)))
        keeper.keep(v, b"kept thumbnail bytes")
    publish_review(site, store, settings, model_id=MODEL)
    ids = {v.title: v.version_id for v in versions}
    assert sorted(ReviewPage(alice.page_text(settings.review_page)).ids()) == sorted(ids.values())

    sam.delete("File:Flagged one.jpg")
    report = DeletionLog(site, store, settings, purge=keeper.remove).ingest()
    assert report.missing == 1 and report.extra["deleted_versions"] == 1
    gone = ids["File:Flagged one.jpg"]
    assert sorted(p.name.split("-")[0] for p in keeper.dir.iterdir()) == [str(ids["File:Flagged two.jpg"])]
    publish_review(site, store, settings, model_id=MODEL)
    assert set(ReviewPage(alice.page_text(settings.review_page)).ids()) == {ids["File:Flagged two.jpg"]}
    assert [f.version_id for f in store.flagged_for_review(MODEL, threshold=0.5, limit=5)] == \
        [ids["File:Flagged two.jpg"]]
    assert {e.version_id: e.state for e in store.review_entries(settings.review_page)}[gone] != "listed"
    # the log is read once: a second pass finds nothing new
    again = DeletionLog(site, store, settings, purge=keeper.remove).ingest()
    assert again.missing == 0 and again.duplicates >= 1


class SuppressionLogAsCommons(DeletionLog):
    """The local wiki's sysop may not suppress, so the suppression log gives what Commons
    documents for an oversighter's reader: a block that hides the user name, and an entry
    whose target is hidden from us (HiddenKeyError). Parsed by pywikibot's own LogEntry."""

    def _entries(self, logtype, start):
        from pywikibot.logentries import LogEntryFactory

        if logtype != "suppress":
            yield from super()._entries(logtype, start)
            return
        stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        factory = LogEntryFactory(self.site, "suppress")
        yield factory.create({"logid": 9001, "ns": 2, "title": "User:Alice", "pageid": 0, "logpage": 0,
                              "params": {"duration": "infinity", "flags": ["nocreate", "hiddenname"]},
                              "type": "suppress", "action": "block", "user": "Oversighter",
                              "timestamp": stamp, "comment": ""})
        yield factory.create({"logid": 9002, "ns": 6, "pageid": 0, "logpage": 0, "actionhidden": "",
                              "type": "suppress", "action": "delete", "user": "Oversighter",
                              "timestamp": stamp, "comment": ""})


def test_suppressed_user_name_is_removed_and_hidden_entries_pass(wiki, site, store, settings, media_dir):
    alice = wiki.user("Alice")
    alice.upload(media_dir / "rocket.jpg", "By alice.jpg")
    UploadLog(site, store, settings).ingest()
    (v,) = store.claim(MODEL, worker="w", limit=5)
    assert store.uploaders([v.version_id]) == {v.version_id: "Alice"}
    report = SuppressionLogAsCommons(site, store, settings).ingest()
    assert report.hidden == 1 and report.extra["names_forgotten"] == 1
    assert store.uploaders([v.version_id]) == {v.version_id: None}
    assert store.get_cursor("deletionlog")["seen"]  # passed, not stuck on the hidden entry
