"""Issue 12 on the real wiki: what is scored is what a viewer can reach, every version of it.

Audio is skipped, an animated WebP (an icon as its thumbnail here) is scored from
its original's frames, a version overwritten before the run is scored from its
archive URL, moves (with and without a redirect) are followed by page id, and a
deletion between ingest and download is a final state.
"""
from __future__ import annotations

import time

import pytest
from PIL import Image

from bot.jobs import Bot
from bot.locations import FILE_GONE, Locator
from bot.sources import UploadLog
from storage.records import ScoreIn
from tests.media.makers import make_audio

pytestmark = pytest.mark.wiki


def animated_webp(path, colours=("red", "green", "blue")):
    frames = [Image.new("RGB", (64, 48), c) for c in colours]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    return path


def score_all(bot):
    results = {}
    report = bot.score_pending(on_result=lambda v, r: results.setdefault(v.version_id, (v, r)))
    return report, results


def test_audio_is_skipped_and_an_animated_webp_scored_from_its_frames(
        wiki, site, store, settings, scoring, tmp_path):
    alice = wiki.user("Alice")
    alice.upload(make_audio(tmp_path / "tone.ogg"), "Tone.ogg")
    alice.upload(animated_webp(tmp_path / "anim.webp"), "Flag animation.webp")
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    assert bot.ingest_uploads().added == 2
    claimed = {v.title: v for v in store.claim(scoring.model_id, worker="peek", limit=5)}
    store.release([v.version_id for v in claimed.values()], scoring.model_id, worker="peek")
    # the wiki's thumbnail of the WebP is a file-type icon: not kept as its thumbnail
    assert claimed["File:Flag animation.webp"].thumb_url is None
    report, results = score_all(bot)
    assert (report.claimed, report.scored, report.skipped, report.errors, report.failed) == (2, 1, 1, 0, 0)
    (version, result), = results.values()
    assert version.title == "File:Flag animation.webp"
    assert result.media_type == "animated" and len(result.frames) == 3
    status = store.status(scoring.model_id)
    assert status.skipped == {"non-visual": 1} and status.errors == {} and status.pending == 0
    # not retried: a later pass claims nothing
    assert score_all(bot)[0].claimed == 0


def test_a_version_overwritten_before_the_run_is_scored_from_its_archive_url(
        wiki, site, store, settings, scoring, media_dir):
    alice = wiki.user("Alice")
    first = alice.upload(media_dir / "astronaut.jpg", "Twice.jpg")
    time.sleep(1.1)  # MediaWiki keeps one version per second
    alice.upload(media_dir / "astronaut-v2.jpg", "Twice.jpg")
    time.sleep(1.1)
    history = alice.api(action="query", prop="imageinfo", titles="File:Twice.jpg", iilimit="max",
                        iiprop="archivename")["query"]["pages"][0]["imageinfo"]
    alice.api("POST", action="filerevert", filename="Twice.jpg", comment="back",
              archivename=history[-1]["archivename"], token=alice.token())  # the first sha1 again
    actions = [e["action"] for e in alice.api(action="query", list="logevents", letype="upload")
               ["query"]["logevents"]]
    # (MediaWiki 1.39 logs a filerevert as "overwrite"; Commons' newer releases say "revert":
    # the bot treats all three alike, by the version timestamp each entry names)
    assert actions in (["revert", "overwrite", "upload"], ["overwrite", "overwrite", "upload"])
    report = UploadLog(site, store, settings).ingest()
    assert report.entries == 3 and report.missing == 0
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    scored, results = score_all(bot)
    assert scored.scored == 2 and scored.failed == 0  # the revert's sha1 is not scored again
    assert {r.ok for _, r in results.values()} == {True}
    status = store.status(scoring.model_id)
    assert (status.versions, status.scored, status.pending) == (2, 2, 0)
    assert first["imageinfo"]["sha1"] in {v.sha1 for v, _ in results.values()}


def test_moves_with_and_without_redirect_are_followed(wiki, site, store, settings, scoring, media_dir):
    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    alice.upload(media_dir / "rocket.jpg", "Rocket.jpg")
    alice.upload(media_dir / "coffee.jpg", "Coffee cup.jpg")
    sam.api("POST", action="move", **{"from": "File:Rocket.jpg"}, to="File:Rocket moved.jpg",
            reason="with redirect", token=sam.token())
    sam.api("POST", action="move", **{"from": "File:Coffee cup.jpg"}, to="File:Coffee moved.jpg",
            noredirect="1", reason="without redirect", token=sam.token())
    report = UploadLog(site, store, settings).ingest()
    assert report.added == 2 and report.missing == 0
    # and a move without a redirect between ingest and download: fetched where it is now
    sam.api("POST", action="move", **{"from": "File:Coffee moved.jpg"}, to="File:Coffee again.jpg",
            noredirect="1", reason="again", token=sam.token())
    scored, results = score_all(Bot(settings, site=site, store=store, scoring=scoring))
    assert (scored.scored, scored.failed, scored.skipped) == (2, 0, 0)
    assert {v.title for v, _ in results.values()} == {"File:Rocket moved.jpg", "File:Coffee again.jpg"}


def test_titles_without_page_id_use_the_move_log(wiki, site, media_dir):
    from bot.logs import page_ids_of

    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    page_id = alice.upload(media_dir / "rocket.jpg", "Old rocket.jpg")
    sam.api("POST", action="move", **{"from": "File:Old rocket.jpg"}, to="File:New rocket.jpg",
            noredirect="1", reason="no redirect", token=sam.token())
    found = page_ids_of(site, ["File:Old rocket.jpg", "File:Never.jpg"])
    expected = sam.api(action="query", titles="File:New rocket.jpg")["query"]["pages"][0]["pageid"]
    assert found == {"File:Old rocket.jpg": expected} and page_id


def test_deletion_between_ingest_and_download_is_final(wiki, site, store, settings, scoring, media_dir):
    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    alice.upload(media_dir / "chelsea.jpg", "Going.jpg")
    alice.upload(media_dir / "coffee.jpg", "Staying.jpg")
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    assert bot.ingest_uploads().added == 2
    # the card of Going.jpg, listed when an earlier model flagged it (the operator has changed
    # models since): the deletion, found by this scorer, takes it off the page
    peek = {v.title: v.version_id for v in store.claim(scoring.model_id, worker="peek", limit=5)}
    store.release(list(peek.values()), scoring.model_id, worker="peek")
    going = peek["File:Going.jpg"]
    store.record_scores([(going, "earlier@0123456789ab",
                          ScoreIn(flagged=True, score=0.97, media_type="still", frames=((0, None, 0.97),)))])
    store.upsert_review_entry(going, page=settings.review_page, state="listed")
    sam.delete("File:Going.jpg")
    report, results = score_all(bot)
    assert (report.claimed, report.scored, report.skipped, report.failed) == (2, 1, 1, 0)
    status = store.status(scoring.model_id)
    assert status.skipped == {"deleted": 1} and status.pending == 0 and status.given_up == 0
    assert {e.version_id: e.state for e in store.review_entries(settings.review_page)} == {going: "deleted"}


def test_overwrite_between_ingest_and_download_gets_the_stored_versions_pixels(
        wiki, site, store, settings, scoring, media_dir, monkeypatch):
    alice = wiki.user("Alice")
    alice.upload(media_dir / "astronaut.jpg", "Changing.jpg")
    assert UploadLog(site, store, settings).ingest().added == 1
    (stored,) = store.claim(scoring.model_id, worker="w", limit=1)
    time.sleep(1.1)
    alice.upload(media_dir / "rocket.jpg", "Changing.jpg")
    now = Locator(site, thumb_width=settings.thumb_width).locate([stored])[stored.version_id]
    assert "/archive/" in now.url and "/archive/" in now.thumb_url  # the old sha1's own pixels
    assert now.url != stored.url
    import hashlib

    import requests
    assert hashlib.sha1(requests.get(now.url, timeout=30).content).hexdigest() == stored.sha1
    # the scorer downloads from there: the stored sha1 never gets the new pixels
    # (on Commons the old URL answers 200 with the new pixels, so no 404 may be needed to get there)
    store.release([stored.version_id], scoring.model_id, worker="w")
    from bot.downloads import Downloader

    asked, fetch = [], Downloader.fetch
    monkeypatch.setattr(Downloader, "fetch", lambda self, v, **kw: asked.append(v.thumb_url) or fetch(self, v, **kw))
    report, results = score_all(Bot(settings, site=site, store=store, scoring=scoring))
    (version, _), = results.values()
    assert report.scored == 1 and "/thumb/archive/" in version.thumb_url
    assert len(asked) == 1 and "/thumb/archive/" in asked[0], (asked, stored)
    wiki.user("Sam").delete("File:Changing.jpg")
    assert Locator(site, thumb_width=330).locate([stored]) == {stored.version_id: FILE_GONE}


def test_a_404_is_resolved_again_by_page_id(wiki, site, store, settings, scoring, media_dir, monkeypatch):
    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    alice.upload(media_dir / "rocket.jpg", "Before.jpg")
    alice.upload(media_dir / "coffee.jpg", "Gone soon.jpg")
    assert UploadLog(site, store, settings).ingest().added == 2
    # moved (no redirect) and deleted after the batch was located, before its download
    stale = iter([True])
    real = Locator.locate

    def locate_then_change(self, versions):
        versions = list(versions)
        if next(stale, False):
            sam.api("POST", action="move", **{"from": "File:Before.jpg"}, to="File:After.jpg",
                    noredirect="1", reason="x", token=sam.token())
            sam.delete("File:Gone soon.jpg")
            return {v.version_id: v for v in versions}
        return real(self, versions)

    monkeypatch.setattr(Locator, "locate", locate_then_change)
    report, results = score_all(Bot(settings, site=site, store=store, scoring=scoring))
    assert (report.scored, report.skipped, report.failed) == (1, 1, 0), report.failure_kinds
    assert [v.title for v, _ in results.values()] == ["File:After.jpg"]
    assert store.status(scoring.model_id).skipped == {"deleted": 1}


def test_tiff_and_pdf_are_never_scored_as_icons(wiki, site, store, settings, scoring, tmp_path, media_dir):
    alice = wiki.user("Alice")
    Image.open(media_dir / "coffee.jpg").save(tmp_path / "coffee.tif", "TIFF")
    alice.upload(tmp_path / "coffee.tif", "Coffee scan.tif")
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                                       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    alice.upload(tmp_path / "doc.pdf", "Leaflet.pdf")
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    bot.ingest_uploads()
    peek = {v.title: v for v in store.claim(scoring.model_id, worker="peek", limit=5)}
    store.release([v.version_id for v in peek.values()], scoring.model_id, worker="peek")
    for v in peek.values():  # a thumbnail, if kept, renders this very file
        assert v.thumb_url is None or "/thumb/" in v.thumb_url and v.title.split(":")[1].replace(" ", "_") in v.thumb_url
    report, results = score_all(bot)
    outcome = {v.title: (r.media_type, r.error_kind) for v, r in results.values()}
    assert outcome["File:Coffee scan.tif"] == ("still", None)
    # the wiki cannot render this PDF: its original is refused by the decoders, the icon never scored
    assert outcome["File:Leaflet.pdf"][1] == "unsupported-format", (outcome, peek["File:Leaflet.pdf"])
