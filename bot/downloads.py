"""Downloads from the media host: one ``requests.Session``, the bot's User-Agent, polite by default.

Stills come from the API's ``thumburl`` (a standard thumbnail step, which also
covers SVG, TIFF and PDF: the wiki renders them); videos from their smallest
ready transcode, else the original within ``max_video_bytes``. Concurrency is
the caller's thread pool (``download_concurrency``, default 2, Wikimedia's
advice outside Toolforge). Retries and backoff are urllib3's ``Retry`` on the
session's adapter, honouring Retry-After (which also pauses the other threads);
a host asking for more than ``max_retry_after_seconds`` is left alone for the
rest of the run and its files are *deferred*: given back pending, uncharged.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from .config import Settings

__all__ = ["DownloadError", "Download", "Downloader", "THUMBNAIL_STEP_MARKERS"]

log = logging.getLogger(__name__)

#: a 429 whose body says this is the media host refusing a non-standard
#: thumbnail width: a bug on our side (we asked for a width the API did not
#: give us), never worth a retry
THUMBNAIL_STEP_MARKERS = ("thumbnail step", "thumbnail-step", "standard thumbnail", "thumbnail width")

#: transient answers retried within the run (429 only with a Retry-After: without one it may
#: be the media host's thumbnail-step refusal, a bug not worth a retry)
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class DownloadError(Exception):
    """A file could not be fetched. ``permanent`` errors are not retried on later runs;
    ``deferred`` ones are not failures at all: the host asked us to stay away for longer than
    this run will wait, so the file goes back to the queue without an attempt charged."""

    def __init__(self, kind: str, message: str, *, permanent: bool = False, deferred: bool = False) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.permanent = permanent
        self.deferred = deferred
        self.retry_after: float | None = None  # seconds the host asked for (429/503)


class HostRetry(Retry):
    """urllib3's ``Retry`` that refuses a Retry-After longer than ``max_wait`` (the response then
    comes back to the caller at once) and reports the shorter ones to ``on_wait``, so that every
    download thread pauses, not only the one that was told."""

    def __init__(self, *args, max_wait: float = 120.0, on_wait=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait
        self.on_wait = on_wait

    def new(self, **kwargs) -> HostRetry:
        retry = super().new(**kwargs)
        retry.max_wait, retry.on_wait = self.max_wait, self.on_wait
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        wait = _retry_after(response.headers) if response is not None else None
        if wait is not None and wait > self.max_wait:
            raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:.0f} s > {self.max_wait:.0f} s"))
        if wait and self.on_wait is not None:
            self.on_wait(wait)
        return super().increment(method, url, response=response, error=error, _pool=_pool,
                                 _stacktrace=_stacktrace)


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


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After")
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
    :param tries: attempts within one run for transient errors (5xx, 429 with Retry-After, timeouts)
    :param backoff: urllib3's ``backoff_factor`` between tries without a Retry-After
    """

    def __init__(self, settings: Settings, *, user_agent: str, tmp_dir: str | os.PathLike | None = None,
                 session: requests.Session | None = None, tries: int = 3, backoff: float = 1.0) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        retry = HostRetry(total=tries - 1, status_forcelist=RETRY_STATUSES, backoff_factor=backoff,
                          backoff_jitter=backoff / 4, respect_retry_after_header=True, raise_on_status=False,
                          allowed_methods={"GET"}, max_wait=settings.max_retry_after_seconds,
                          on_wait=self._pause_host)
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, max_retries=retry,
                                                pool_maxsize=max(2, settings.download_concurrency))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.tmp_dir = Path(tmp_dir or tempfile.gettempdir())
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        #: host -> why it is left alone for the rest of this run
        self.closed_hosts: dict[str, str] = {}

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
        """Download one version; transient errors are retried within this run by the adapter.

        :raises DownloadError: with a ``kind`` that storage records as the reason (``deferred``:
            the host is closed for this run, record nothing)
        """
        url, kind, cap = self.choose(version, transcodes=transcodes)
        host = urlsplit(url).netloc
        if host in self.closed_hosts:
            raise DownloadError("host-closed", self.closed_hosts[host], deferred=True)
        self._wait_for_host()
        spool = kind != "thumbnail" and (version.media_type or "").lower() == "video"
        return self._get(url, kind=kind, cap=cap, spool=spool, name=str(version.version_id))

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
        except requests.RequestException as e:
            # retries used up: urllib3 wraps the last read timeout in a connection error
            reason = getattr(e.args[0] if e.args else None, "reason", None)
            timeout = isinstance(e, requests.Timeout) or isinstance(reason, ReadTimeoutError)
            raise DownloadError("timeout" if timeout else "connection", f"{url}: {e}") from e
        with response:
            if response.status_code in (429, 503):
                body = response.text[:2000] if response.status_code == 429 else ""
                if response.status_code == 429 and any(m in body.lower() for m in THUMBNAIL_STEP_MARKERS):
                    log.error("media host refused a non-standard thumbnail width (a bug to report): %s", url)
                    raise DownloadError("thumbnail-step", f"HTTP 429 for a non-standard thumbnail width: {url}",
                                        permanent=True)
                wait = _retry_after(response.headers)
                if wait is not None and wait > self.settings.max_retry_after_seconds:
                    # Sitting it out would hold the run lock for as long: leave the host alone until
                    # the next run, and do not count it against the files
                    host = urlsplit(url).netloc
                    self.closed_hosts[host] = (f"{host} asked to wait {wait:.0f} s (HTTP {response.status_code}, "
                                               f"more than max_retry_after_seconds="
                                               f"{self.settings.max_retry_after_seconds:g}): left for the next run")
                    log.warning("%s", self.closed_hosts[host])
                    error = DownloadError(f"http-{response.status_code}", self.closed_hosts[host], deferred=True)
                else:
                    error = DownloadError(f"http-{response.status_code}", f"{url} (Retry-After: {wait})")
                error.retry_after = wait
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
