"""Issue 12, videos: a video over ``max_video_bytes`` without a ready transcode waits (no failure,
never given up), then is scored from MediaWiki's frame thumbnails (``iiurlparam=seek=``) within
the render budget, and from its transcode once one is ready.

The local wiki has no TimedMediaHandler, so this is the one place with a fake site: it answers
with the API answers Commons documents (``prop=videoinfo`` derivatives, ``prop=imageinfo`` with
``iiurlparam=seek=<s>``); everything else (storage, scoring, packing frames) is real.
"""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from bot.downloads import Download
from bot.pipeline import VersionScorer
from bot.thumbnails import ThumbnailKeeper
from storage import FileVersionIn

from .conftest import webm_video

HOST = "https://upload.wikimedia.org/wikipedia/commons"
ORIGINAL = f"{HOST}/a/ab/Big_talk.webm"
TRANSCODE = f"{HOST}/transcoded/a/ab/Big_talk.webm/Big_talk.webm.240p.vp9.webm"
SHA1 = "b" * 40


class Request:
    def __init__(self, answer):
        self.answer = answer

    def submit(self):
        return self.answer


class TimedMediaSite:
    """Commons' answers for one big video, page id 77: transcodes ready or not."""

    def __init__(self, *, ready: bool) -> None:
        self.ready = ready
        self.seeks: list[str] = []

    def has_extension(self, name):
        return name == "TimedMediaHandler"

    def has_right(self, right):
        return False

    def simple_request(self, **params):
        page = {"pageid": 77, "ns": 6, "title": "File:Big talk.webm"}
        if params.get("prop") == "videoinfo":
            derivatives = [{"src": ORIGINAL, "type": 'video/webm; codecs="vp9, opus"', "width": 1920,
                            "height": 1080, "bandwidth": 9000000}]
            if self.ready:
                derivatives.append({"src": TRANSCODE, "type": 'video/webm; codecs="vp9, opus"',
                                    "transcodekey": "240p.vp9.webm", "width": 426, "height": 240})
            return Request({"query": {"pages": [{**page, "videoinfo": [{"derivatives": derivatives}]}]}})
        seek = params.get("iiurlparam")
        if seek:
            self.seeks.append(seek)
            thumb = f"{HOST}/thumb/a/ab/Big_talk.webm/330px-{seek}-Big_talk.webm.jpg"
            return Request({"query": {"pages": [{**page, "imageinfo": [
                {"url": ORIGINAL, "thumburl": thumb, "thumbwidth": 330, "thumbheight": 186}]}]}})
        info = {"timestamp": "2026-11-29T10:00:00Z", "user": "Alice", "size": 3 * 2**30,
                "width": 1920, "height": 1080, "duration": 600.0, "sha1": SHA1, "mime": "video/webm",
                "mediatype": "VIDEO", "url": ORIGINAL,
                "thumburl": f"{HOST}/thumb/a/ab/Big_talk.webm/330px--Big_talk.webm.jpg"}
        return Request({"batchcomplete": True, "query": {"pages": [{**page, "imageinfo": [info]}]}})


class FakeHost:
    """The media host: a JPEG frame for each thumbnail URL, a real WebM for the transcode."""

    def __init__(self, video: Path) -> None:
        self.video = video
        self.urls: list[str] = []
        self.closed_hosts: dict[str, str] = {}  # as bot.downloads.Downloader: no host closed

    def fetch(self, version, *, transcodes=()):
        url = transcodes[0].url if transcodes else (version.thumb_url or version.url)
        self.urls.append(url)
        if url == TRANSCODE:
            return Download(url=url, kind="transcode", data=self.video.read_bytes(), size=1)
        assert url != ORIGINAL, "the 3 GiB original must never be downloaded"
        buffer = io.BytesIO()
        Image.new("RGB", (330, 186), (len(self.urls) * 40 % 255, 90, 30)).save(buffer, "JPEG")
        return Download(url=url, kind="thumbnail", data=buffer.getvalue(), size=len(buffer.getvalue()))


def add_video(store, uploaded_at):
    return store.add_file_versions([FileVersionIn(
        page_id=77, title="File:Big talk.webm", sha1=SHA1, mime="video/webm", media_type="video",
        size=3 * 2**30, duration=600.0, uploaded_at=uploaded_at, url=ORIGINAL, source="uploadlog")])[0]


def scorer(store, settings, scoring, site, host, tmp_path):
    return VersionScorer(store, settings, scoring=scoring, downloader=host, site=site,
                         thumbs=ThumbnailKeeper(tmp_path / "thumbs"))


def test_a_fresh_big_video_waits_without_failing(store, settings, scoring, tmp_path):
    add_video(store, datetime.now(timezone.utc) - timedelta(minutes=5))
    site, host = TimedMediaSite(ready=False), FakeHost(tmp_path / "none.webm")
    report = scorer(store, settings, scoring, site, host, tmp_path).run()
    assert (report.waiting, report.failed, report.errors, report.scored) == (1, 0, 0, 0)
    assert host.urls == [] and site.seeks == []
    status = store.status(scoring.model_id)
    assert status.waiting == 1 and status.given_up == 0 and status.failures == {}  # not a failure


def test_after_the_wait_the_wikis_frame_thumbnails_are_scored_within_budget(store, settings, scoring, tmp_path):
    # neither is its default (6 h, 4 frames): a video 3 h old has waited enough here
    settings = settings.replace(transcode_wait_hours=2.0, video_seek_frames=3)
    add_video(store, datetime.now(timezone.utc) - timedelta(hours=3))
    site, host = TimedMediaSite(ready=False), FakeHost(tmp_path / "none.webm")
    results = []
    report = VersionScorer(store, settings, scoring=scoring, downloader=host, site=site,
                           thumbs=ThumbnailKeeper(tmp_path / "thumbs"),
                           on_result=lambda v, r: results.append(r)).run()
    assert (report.scored, report.waiting, report.failed) == (1, 0, 0)
    assert site.seeks == ["seek=100", "seek=300", "seek=500"]  # middles of 3 spans of 600 s
    assert len(host.urls) == 3 and all("seek=" in u for u in host.urls)
    (result,) = results
    assert result.ok and len(result.frames) == 3


def test_a_ready_transcode_is_scored_instead_of_waiting(store, settings, scoring, tmp_path):
    add_video(store, datetime.now(timezone.utc) - timedelta(minutes=5))
    site, host = TimedMediaSite(ready=True), FakeHost(webm_video(tmp_path / "small.webm"))
    report = scorer(store, settings, scoring, site, host, tmp_path).run()
    assert (report.scored, report.waiting, report.failed) == (1, 0, 0)
    assert host.urls == [TRANSCODE] and site.seeks == []
