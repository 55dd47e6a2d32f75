"""Downloads from the media host: one ``requests.Session``, the bot's User-Agent, polite by default.

Stills come from the API's ``thumburl`` (a standard thumbnail step, which also
covers SVG, TIFF and PDF: the wiki renders them); videos from their smallest
ready transcode, else the original within ``max_video_bytes``. Concurrency is
the caller's thread pool (``download_concurrency``, default 2, Wikimedia's
advice outside Toolforge); a Retry-After from the host pauses every thread.
"""
from __future__ import annotations

import logging
import os
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .config import Settings

__all__ = ["DownloadError", "Download", "Downloader", "THUMBNAIL_STEP_MARKERS"]

log = logging.getLogger(__name__)

#: a 429 whose body says this is the media host refusing a non-standard
#: thumbnail width: a bug on our side (we asked for a width the API did not
#: give us), never worth a retry
THUMBNAIL_STEP_MARKERS = ("thumbnail step", "thumbnail-step", "standard thumbnail", "thumbnail width")

#: how long one Retry-After may make us wait before the file is given up for this run
MAX_RETRY_AFTER = 120.0


class DownloadError(Exception):
    """A file could not be fetched. ``permanent`` errors are not retried on later runs."""

    def __init__(self, kind: str, message: str, *, permanent: bool = False) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.permanent = permanent
        self.retry_after: float | None = None  # seconds the host asked for (429/503)
        self.retry_now = True  # False: not within this run


@dataclass
class Download:
    """What was fetched for one version: bytes in memory (thumbnails) or a temporary file (videos)."""

    url: str
    kind: str  # "thumbnail" | "transcode" | "original"
    data: bytes | None = None
    path: Path | None = None
    size: int = 0
    seconds: float = 0.0

    @property
    def source(self) -> bytes | Path:
        return self.data if self.data is not None else self.path

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class Downloader:
    """Fetches files for :class:`storage.records.PendingVersion` items; thread-safe.

    :param user_agent: the bot's agent (the same pywikibot sends to the API)
    :param tmp_dir: where video downloads are spooled (deleted after scoring)
    :param tries: attempts within one run for transient errors (5xx, 429, timeouts)
    """

    def __init__(self, settings: Settings, *, user_agent: str, tmp_dir: str | os.PathLike | None = None,
                 session: requests.Session | None = None, tries: int = 3, backoff: float = 1.0) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = requests.adapters.HTTPAdapter(pool_connections=2,
                                                pool_maxsize=max(2, settings.download_concurrency))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.tmp_dir = Path(tmp_dir or tempfile.gettempdir())
        self.tries = tries
        self.backoff = backoff
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0

    def choose(self, version, *, transcodes=()) -> tuple[str, str, int]:
        """(url, kind, byte cap) for a version: thumbnail for stills, smallest transcode or original for videos."""
        if (version.media_type or "").lower() == "video":
            if transcodes:
                return transcodes[0].url, "transcode", self.settings.max_video_bytes
            if not version.url:
                raise DownloadError("no-url", "the wiki gave no URL for this video", permanent=True)
            if version.size and version.size > self.settings.max_video_bytes:
                raise DownloadError("too-large", f"video of {version.size} bytes without a transcode exceeds "
                                    f"max_video_bytes={self.settings.max_video_bytes}", permanent=True)
            return version.url, "original", self.settings.max_video_bytes
        if version.thumb_url:
            return version.thumb_url, "thumbnail", self.settings.max_image_bytes
        if version.url:
            if version.size and version.size > self.settings.max_image_bytes:
                raise DownloadError("too-large", f"{version.size} bytes without a thumbnail exceeds "
                                    f"max_image_bytes={self.settings.max_image_bytes}", permanent=True)
            return version.url, "original", self.settings.max_image_bytes
        raise DownloadError("no-url", "the wiki gave neither a thumbnail nor a file URL", permanent=True)

    def fetch(self, version, *, transcodes=()) -> Download:
        """Download one version, retrying transient errors within this run.

        :raises DownloadError: with a ``kind`` that storage records as the reason
        """
        url, kind, cap = self.choose(version, transcodes=transcodes)
        spool = kind != "thumbnail" and (version.media_type or "").lower() == "video"
        last: DownloadError | None = None
        for attempt in range(self.tries):
            self._wait_for_host()
            try:
                return self._get(url, kind=kind, cap=cap, spool=spool, name=str(version.version_id))
            except DownloadError as e:
                if e.permanent or not e.retry_now:
                    raise
                last = e
                if attempt + 1 < self.tries and e.retry_after is None:
                    # no Retry-After: exponential backoff with a little jitter
                    time.sleep(self.backoff * 2 ** attempt * (1 + random.random() / 4))
        raise last

    def _wait_for_host(self) -> None:
        while True:
            with self._pause_lock:
                delay = self._paused_until - time.monotonic()
            if delay <= 0:
                return
            time.sleep(min(delay, 5.0))

    def _pause_host(self, seconds: float) -> None:
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _get(self, url: str, *, kind: str, cap: int, spool: bool, name: str) -> Download:
        started = time.perf_counter()
        try:
            response = self.session.get(url, stream=True, timeout=(10, self.settings.download_timeout))
        except requests.Timeout as e:
            raise DownloadError("timeout", f"{url}: {e}") from e
        except requests.RequestException as e:
            raise DownloadError("connection", f"{url}: {e}") from e
        with response:
            if response.status_code in (429, 503):
                body = response.text[:2000] if response.status_code == 429 else ""
                if response.status_code == 429 and any(m in body.lower() for m in THUMBNAIL_STEP_MARKERS):
                    log.error("media host refused a non-standard thumbnail width (a bug to report): %s", url)
                    raise DownloadError("thumbnail-step", f"HTTP 429 for a non-standard thumbnail width: {url}",
                                        permanent=True)
                wait = _retry_after(response)
                error = DownloadError(f"http-{response.status_code}", f"{url} (Retry-After: {wait})")
                if wait is not None:
                    # Every thread pauses; a wait longer than we are willing to sit out gives
                    # this file up for the run (stored, retried by a later run).
                    self._pause_host(min(wait, MAX_RETRY_AFTER))
                    error.retry_after = wait
                    error.retry_now = wait <= MAX_RETRY_AFTER
                raise error
            if response.status_code in (404, 410):
                raise DownloadError("not-found", f"HTTP {response.status_code}: {url}")
            if response.status_code >= 500:
                raise DownloadError(f"http-{response.status_code}", url)
            if response.status_code >= 400:
                raise DownloadError(f"http-{response.status_code}", url, permanent=True)
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > cap:
                raise DownloadError("too-large", f"{length} bytes > cap {cap}: {url}", permanent=True)
            try:
                if spool:
                    return self._spool(response, url=url, kind=kind, cap=cap, name=name, started=started)
                chunks, size = [], 0
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > cap:
                        raise DownloadError("too-large", f"more than cap {cap} bytes: {url}", permanent=True)
                    chunks.append(chunk)
            except requests.RequestException as e:
                raise DownloadError("connection", f"{url}: {e}") from e
            return Download(url=url, kind=kind, data=b"".join(chunks), size=size,
                            seconds=time.perf_counter() - started)

    def _spool(self, response, *, url: str, kind: str, cap: int, name: str, started: float) -> Download:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"v{name}-", suffix=Path(url.split("?")[0]).suffix[:8],
                                   dir=self.tmp_dir)
        path, size = Path(tmp), 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    if size > cap:
                        raise DownloadError("too-large", f"more than cap {cap} bytes: {url}", permanent=True)
                    f.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Download(url=url, kind=kind, path=path, size=size, seconds=time.perf_counter() - started)

    def close(self) -> None:
        self.session.close()
