"""Metadata against Commons' documented API answers, for what the local wiki cannot show
(TimedMediaHandler derivatives) and for single imageinfo answers; batching, title
normalisation and missing pages run on the real wiki in test_metadata_wiki.py."""
from __future__ import annotations

import copy

from bot.metadata import video_derivatives

UPLOAD = "https://upload.wikimedia.org/wikipedia/commons"


VIDEOINFO = {"batchcomplete": True, "query": {"pages": [{
    "pageid": 555, "ns": 6, "title": "File:Clip.webm",
    "videoinfo": [{"derivatives": [
        {"src": f"{UPLOAD}/1/12/Clip.webm", "type": 'video/webm; codecs="vp9, opus"',
         "title": "Original WebM file, 1920 × 1080 (4.1 Mbps)", "shorttitle": "WebM source",
         "width": 1920, "height": 1080, "bandwidth": 4100000},
        {"src": f"{UPLOAD}/transcoded/1/12/Clip.webm/Clip.webm.144p.mjpeg.mov",
         "type": "video/quicktime", "transcodekey": "144p.mjpeg.mov", "width": 256, "height": 144},
        {"src": f"{UPLOAD}/transcoded/1/12/Clip.webm/Clip.webm.480p.vp9.webm",
         "type": 'video/webm; codecs="vp9, opus"', "transcodekey": "480p.vp9.webm",
         "width": 854, "height": 480},
        {"src": f"{UPLOAD}/transcoded/1/12/Clip.webm/Clip.webm.240p.vp9.webm",
         "type": 'video/webm; codecs="vp9, opus"', "transcodekey": "240p.vp9.webm",
         "width": 426, "height": 240}]}]}]}}


class RecordedCommons:
    """A pywikibot-shaped site answering with Commons' recorded ``videoinfo`` JSON and counting
    requests. A fake only because TimedMediaHandler is not installed on the local wiki;
    batching, title normalisation and missing pages run on the real wiki (test_metadata_wiki.py)."""

    def __init__(self, *, extensions=("TimedMediaHandler",), highlimits: bool = False) -> None:
        self.extensions = set(extensions)
        self.highlimits = highlimits
        self.requests: list[dict] = []

    def has_extension(self, name: str) -> bool:
        return name in self.extensions

    def has_right(self, right: str) -> bool:
        return right == "apihighlimits" and self.highlimits

    def simple_request(self, **params):
        self.requests.append(params)

        class Request:
            def submit(self):
                assert params.get("prop") == "videoinfo", params
                return copy.deepcopy(VIDEOINFO)
        return Request()


def test_videoinfo_without_thumbnails_takes_500_titles_with_highlimits():
    bot = RecordedCommons(highlimits=True)
    video_derivatives(bot, [f"File:Clip {n}.webm" for n in range(120)])
    assert len(bot.requests) == 1


def test_smallest_ready_webm_transcode_first():
    commons = RecordedCommons()
    found = video_derivatives(commons, ["File:Clip.webm"])
    assert [d.transcode_key for d in found["File:Clip.webm"]] == ["240p.vp9.webm", "480p.vp9.webm"]
    assert commons.requests[0]["viprop"] == "derivatives|url|size|mime"


def test_no_videoinfo_without_timed_media_handler():
    commons = RecordedCommons(extensions=())
    assert video_derivatives(commons, ["File:Clip.webm"]) == {}
    assert commons.requests == []


# --- issue 12: a thumbnail is kept only when it renders the file ----------------------------------

def _info(name: str, thumb: str | None, *, mime="image/jpeg", mediatype="BITMAP", metadata=None) -> dict:
    page = {"pageid": 9, "ns": 6, "title": f"File:{name.replace('_', ' ')}"}
    info = {"timestamp": "2024-05-01T12:00:00Z", "user": "U", "size": 10, "sha1": "c" * 40,
            "mime": mime, "mediatype": mediatype, "url": f"{UPLOAD}/a/ab/{name}", "thumburl": thumb}
    if metadata is not None:
        info["metadata"] = metadata
    return page, info


def test_file_type_icons_are_not_thumbnails():
    from bot.metadata import version_from_imageinfo

    for icon in ("https://commons.wikimedia.org/w/resources/assets/file-type-icons/fileicon-ogg.png",
                 "https://commons.wikimedia.org/static/current/resources/assets/file-type-icons/fileicon.png",
                 None):
        page, info = _info("Song.tif", icon, mime="image/tiff")
        assert version_from_imageinfo(page, info=info).thumb_url is None, icon
    rendered = f"{UPLOAD}/thumb/a/ab/Map_(1850).tif/lossy-page1-330px-Map_(1850).tif.jpg"
    page, info = _info("Map_(1850).tif", rendered, mime="image/tiff")
    assert version_from_imageinfo(page, info=info).thumb_url == rendered
    archived = f"{UPLOAD}/thumb/archive/a/ab/20240501120000%21Map_(1850).tif/330px-Map_(1850).tif.jpg"
    page, info = _info("Map_(1850).tif", archived)
    assert version_from_imageinfo(page, info=info).thumb_url == archived


def test_a_static_thumbnail_of_an_animated_file_is_not_kept():
    from bot.metadata import version_from_imageinfo

    thumb = f"{UPLOAD}/thumb/a/ab/Loop.gif/330px-Loop.gif"
    page, info = _info("Loop.gif", thumb, mime="image/gif",
                       metadata=[{"name": "frameCount", "value": 40}])
    assert version_from_imageinfo(page, info=info).thumb_url is None  # the original is fetched
    page, info = _info("Still.gif", thumb.replace("Loop", "Still"), mime="image/gif",
                       metadata=[{"name": "frameCount", "value": 1}])
    assert version_from_imageinfo(page, info=info).thumb_url is not None
    page, info = _info("Spin.webp", thumb.replace("Loop.gif", "Spin.webp"), mime="image/webp",
                       metadata=[{"name": "animated", "value": True}])
    assert version_from_imageinfo(page, info=info).thumb_url is None


def test_audio_and_midi_are_non_visual():
    from bot.metadata import is_non_visual

    assert is_non_visual("audio", "application/ogg") and is_non_visual("AUDIO", "audio/midi")
    assert is_non_visual(None, "audio/x-flac")
    assert not is_non_visual("video", "video/webm") and not is_non_visual("bitmap", "image/jpeg")


def test_a_hidden_uploader_name_is_never_stored():
    from bot.metadata import version_from_imageinfo

    page, info = _info("Hidden.jpg", f"{UPLOAD}/thumb/a/ab/Hidden.jpg/330px-Hidden.jpg")
    info["userhidden"] = True  # Commons: the name is revision-deleted ("user" absent or kept for admins)
    assert version_from_imageinfo(page, info=info).uploader is None
