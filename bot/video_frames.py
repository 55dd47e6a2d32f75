"""Videos whose transcodes are late: wait, then score the wiki's own frame thumbnails.

TimedMediaHandler makes transcodes (``240p.vp9.webm``...) minutes to hours after
an upload. A video whose original is over ``max_video_bytes`` and that has no
ready transcode is therefore put back, not failed (:func:`wait_seconds`: the
wait grows with the video's age, between 10 minutes and 2 hours), until
``transcode_wait_hours`` after its upload. Then it is scored from MediaWiki's
frame thumbnails (``iiurlparam=seek=<seconds>``, one render each on the wiki),
at most ``video_seek_frames`` of them per video: the render budget. The frames
are packed into one lossless animated WebP whose frame delays are the gaps
between the seek times, so the scorer votes over them like over any animation
(a frame's time is the start of the span it stands for). No video is ever given
up only because its transcodes were late.
"""
from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timezone

from .metadata import _query

__all__ = ["wait_seconds", "seek_times", "seek_thumbnails", "fetch_seek_frames", "MIN_WAIT", "MAX_WAIT"]

MIN_WAIT = 600.0
MAX_WAIT = 7200.0


def waited(version, now: datetime | None = None) -> float:
    """Seconds since the version was uploaded (0 when unknown: the wait starts now)."""
    if version.uploaded_at is None:
        return 0.0
    now = now or datetime.now(timezone.utc)
    uploaded = version.uploaded_at
    if uploaded.tzinfo is None:
        uploaded = uploaded.replace(tzinfo=timezone.utc)
    return max(0.0, (now - uploaded).total_seconds())


def wait_seconds(age: float) -> float:
    """How long to put a waiting video back: about its age (so the checks thin out
    geometrically, like a backoff), within [MIN_WAIT, MAX_WAIT]."""
    return min(MAX_WAIT, max(MIN_WAIT, age))


def seek_times(duration: float | None, count: int) -> list[float]:
    """``count`` times at the middle of equal spans of the video (the scorer's own rule);
    without a known duration, times spread over the first minutes (the wiki clamps a seek
    past the end to the last frame)."""
    count = max(1, count)
    if duration and duration > 0:
        return [round(duration * (i + 0.5) / count, 3) for i in range(count)]
    return [float(t) for t in (1, 10, 30, 60, 120, 300, 600, 1200)[:count]]


def seek_thumbnails(site, page_id: int, times: list[float], *, width: int) -> list[tuple[float, str]]:
    """(time, thumbnail URL) of the current version at each time: one query per time
    (``iiurlparam`` takes one seek), each a render on the wiki."""
    out = []
    for t in times:
        answer = _query(site, prop="imageinfo", pageids=str(page_id), iiprop="url",
                        iiurlwidth=str(width), iiurlparam=f"seek={t:g}")
        for page in answer["pages"].values():
            for info in (page.get("imageinfo") or [])[:1]:
                if info.get("thumburl"):
                    out.append((t, info["thumburl"]))
    return out


def fetch_seek_frames(downloader, version, frames: list[tuple[float, str]]):
    """Download the frame thumbnails and pack them as one animated WebP (a ``Download``)."""
    from PIL import Image

    images, times, size = [], [], 0
    for t, url in frames:
        one = downloader.fetch(dataclasses.replace(version, media_type="bitmap", thumb_url=url, url=None))
        size += one.size
        with Image.open(io.BytesIO(one.data)) as image:
            images.append(image.convert("RGB"))
        times.append(t)
    if not images:
        raise ValueError("the wiki gave no frame thumbnail")
    gaps = [max(1, int(round((b - a) * 1000))) for a, b in zip(times, times[1:])] or [1000]
    gaps.append(gaps[-1])
    # one canvas size: the wiki renders every seek at the same width
    first = images[0]
    images = [im if im.size == first.size else im.resize(first.size) for im in images]
    buffer = io.BytesIO()
    first.save(buffer, "WEBP", save_all=True, append_images=images[1:], lossless=True,
               duration=gaps, loop=0)
    data = buffer.getvalue()
    packed = type(one)(url=frames[0][1], kind="seek-thumbnails", data=data, size=size)
    return packed
