"""Downloads through a real HTTP server on loopback that answers the way upload.wikimedia.org does."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import storage
from bot.downloads import Downloader, DownloadError
from bot.metadata import Derivative
from bot.pipeline import VersionScorer
from bot.thumbnails import ThumbnailKeeper
from storage.records import FileVersionIn, PendingVersion

from .conftest import jpeg_bytes, photo

# The media host's answer to a thumbnail width that is not a standard step (no Retry-After).
THUMB_STEP_429 = ("Use thumbnail steps listed on https://w.wiki/GHai. "
                  "Please contact noc@wikimedia.org for further information (a1b2c3)")


class MediaHost(ThreadingHTTPServer):
    """Routes: path -> list of (status, headers, body) answered in turn (the last one repeats)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        self.agents: list[str] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.delay = 0.0
        self.hold_until = 0  # hold each request until this many are in flight ...
        self.hold_seconds = 30.0  # ... or this long
        self.gate = threading.Condition(self.lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        host: MediaHost = self.server
        with host.lock:
            host.active += 1
            host.max_active = max(host.max_active, host.active)
            host.agents.append(self.headers.get("User-Agent", ""))
            n = host.hits.get(self.path, 0)
            host.hits[self.path] = n + 1
            host.gate.notify_all()
            host.gate.wait_for(lambda: host.active >= host.hold_until, timeout=host.hold_seconds)
        try:
            time.sleep(host.delay)
            answers = host.routes.get(self.path, [(404, {}, b"not found")])
            status, headers, body = answers[min(n, len(answers) - 1)]
        finally:
            # no longer in flight before the client can see the answer: its next request
            # must not meet this one still counted
            with host.lock:
                host.active -= 1
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def host():
    server = MediaHost()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


JPEG = jpeg_bytes(photo("coffee").resize((330, 220)))
AGENT = "commons-nsfw-bot/0.1 (test) Pywikibot/11"


def pending(version_id: int, *, thumb_url=None, url=None, media_type="bitmap", size=1000) -> PendingVersion:
    return PendingVersion(version_id=version_id, page_id=version_id, title=f"File:F{version_id}.jpg",
                          sha1=f"{version_id:040x}", mime="image/jpeg", media_type=media_type, size=size,
                          url=url, thumb_url=thumb_url, attempts=0)


def downloader(settings, tmp_path, **kwargs) -> Downloader:
    return Downloader(settings, user_agent=AGENT, tmp_dir=tmp_path / "tmp", backoff=0.01, **kwargs)


def test_thumbnail_with_the_bots_agent(host, settings, tmp_path):
    host.routes["/thumb/a.jpg"] = [(200, {"Content-Type": "image/jpeg"}, JPEG)]
    got = downloader(settings, tmp_path).fetch(pending(1, thumb_url=host.url("/thumb/a.jpg"),
                                                       url=host.url("/a.jpg")))
    assert got.data == JPEG and got.kind == "thumbnail"
    assert host.agents == [AGENT]
    assert "/a.jpg" not in host.hits  # never the original of a still


def test_retry_after_is_honoured(host, settings, tmp_path):
    host.routes["/busy.jpg"] = [(429, {"Retry-After": "1"}, b"slow down"), (200, {}, JPEG)]
    started = time.monotonic()
    got = downloader(settings, tmp_path).fetch(pending(1, thumb_url=host.url("/busy.jpg")))
    assert got.data == JPEG
    assert time.monotonic() - started >= 1.0
    assert host.hits["/busy.jpg"] == 2


def test_thumbnail_step_429_is_a_bug_not_retried(host, settings, tmp_path):
    host.routes["/thumb/331px-a.jpg"] = [(429, {}, THUMB_STEP_429.encode())]
    with pytest.raises(DownloadError) as error:
        downloader(settings, tmp_path).fetch(pending(1, thumb_url=host.url("/thumb/331px-a.jpg")))
    assert error.value.kind == "thumbnail-step" and error.value.permanent
    assert host.hits["/thumb/331px-a.jpg"] == 1


def test_size_cap_and_server_errors(host, settings, tmp_path):
    host.routes["/big.jpg"] = [(200, {}, b"x" * 5000)]
    host.routes["/down.jpg"] = [(503, {}, b"")]
    small = downloader(settings.replace(max_image_bytes=4000), tmp_path)
    with pytest.raises(DownloadError) as error:
        small.fetch(pending(1, thumb_url=host.url("/big.jpg")))
    assert error.value.kind == "too-large" and error.value.permanent
    with pytest.raises(DownloadError) as error:
        small.fetch(pending(2, thumb_url=host.url("/down.jpg")))
    assert error.value.kind == "http-503" and not error.value.permanent
    assert host.hits["/down.jpg"] == 3  # tries within the run, then stored for a later run


def test_timeout(host, settings, tmp_path):
    host.routes["/slow.jpg"] = [(200, {}, JPEG)]
    host.delay = 1.5
    with pytest.raises(DownloadError) as error:
        downloader(settings.replace(download_timeout=0.3), tmp_path, tries=1).fetch(
            pending(1, thumb_url=host.url("/slow.jpg")))
    assert error.value.kind == "timeout"


def test_video_smallest_transcode_else_original_within_cap(host, settings, tmp_path):
    host.routes["/t/240p.webm"] = [(200, {}, b"webm-bytes")]
    fetcher = downloader(settings, tmp_path)
    video = pending(1, url=host.url("/orig.webm"), thumb_url=host.url("/poster.jpg"), media_type="video",
                    size=10**9)
    got = fetcher.fetch(video, transcodes=[Derivative(host.url("/t/240p.webm"), "video/webm", 426, 240,
                                                      "240p.vp9.webm")])
    assert got.kind == "transcode" and got.path.read_bytes() == b"webm-bytes"
    got.discard()
    assert not got.path.exists()
    with pytest.raises(DownloadError) as error:  # no transcode, original over max_video_bytes
        fetcher.fetch(video)
    assert error.value.kind == "too-large"
    assert "/orig.webm" not in host.hits


def test_failures_are_stored_and_retried_with_backoff(host, settings, tmp_path, scoring):
    """A 503 is stored with its reason; the next run (after the backoff) scores the file."""
    host.routes["/ok.jpg"] = [(200, {}, JPEG)]
    host.routes["/flaky.jpg"] = [(503, {}, b"")] * 3 + [(200, {}, JPEG)]
    host.routes["/gone.jpg"] = [(404, {}, b"")]
    settings = settings.replace(retry_backoff_seconds=0, max_attempts=2)
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([
            FileVersionIn(page_id=i, title=f"File:{name}", sha1=f"{i:040x}", media_type="bitmap",
                          thumb_url=host.url(f"/{name}"))
            for i, name in enumerate(("ok.jpg", "flaky.jpg", "gone.jpg"), start=1)])
        model_id = scoring.model_id

        def loop():
            return VersionScorer(store, settings, scoring=scoring,
                                 downloader=downloader(settings, tmp_path),
                                 thumbs=ThumbnailKeeper(tmp_path / "thumbs"))

        first = loop().run()
        assert (first.scored, first.failed) == (1, 2)
        status = store.status(model_id)
        assert status.failures == {"http-503": 1, "not-found": 1}
        second = loop().run()
        assert (second.scored, second.failed) == (1, 1)  # flaky now works; gone fails again
        status = store.status(model_id)
        assert status.given_up == 1 and status.pending == 0 and status.scored == 2
        assert loop().run().claimed == 0  # given up: not retried without a human


def test_concurrency_to_the_media_host_is_bounded(host, settings, tmp_path, scoring):
    # download_concurrency 3, not the default 2: the bound must come from the setting.
    # Every request is held until four are in flight, or 2 s: the allowed three always meet
    # (a downloader fetching fewer at a time shows a lower max_active whatever the load), and
    # a fourth request, if the downloader sent one, finds them still there.
    settings = settings.replace(download_concurrency=3)
    host.hold_until, host.hold_seconds = 4, 2.0
    for i in range(8):
        host.routes[f"/{i}.jpg"] = [(200, {}, JPEG)]
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([FileVersionIn(page_id=i + 1, title=f"File:{i}.jpg", sha1=f"{i + 1:040x}",
                                               media_type="bitmap", thumb_url=host.url(f"/{i}.jpg"))
                                 for i in range(8)])
        report = VersionScorer(store, settings, scoring=scoring,
                               downloader=downloader(settings, tmp_path),
                               thumbs=ThumbnailKeeper(tmp_path / "thumbs")).run()
    assert report.scored == 8
    assert host.max_active == settings.download_concurrency == 3


def test_a_long_retry_after_gives_the_file_up_for_this_run(host, settings, tmp_path):
    # 2 s: over the bound set here (0.5 s), under the default bound (120 s): the setting decides
    host.routes["/later.jpg"] = [(503, {"Retry-After": "2"}, b"")]
    with pytest.raises(DownloadError) as error:
        downloader(settings.replace(max_retry_after_seconds=0.5), tmp_path).fetch(
            pending(1, thumb_url=host.url("/later.jpg")))
    assert error.value.kind == "http-503" and not error.value.permanent
    assert host.hits["/later.jpg"] == 1  # not hammered within the run


def test_a_long_retry_after_closes_the_host_for_the_run_and_charges_no_attempt(host, settings, tmp_path,
                                                                               scoring):
    """429 Retry-After: 60 (bound 30 s, under the default 120 s: the setting decides): one
    request, no waiting, every file still pending and uncharged; the next run, once the host
    answers, scores them all."""
    for i in range(6):
        host.routes[f"/{i}.jpg"] = [(429, {"Retry-After": "60"}, b"slow down")]
    settings = settings.replace(max_retry_after_seconds=30, batch_size=2)
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([FileVersionIn(page_id=i + 1, title=f"File:{i}.jpg", sha1=f"{i + 1:040x}",
                                               media_type="bitmap", thumb_url=host.url(f"/{i}.jpg"))
                                 for i in range(6)])

        def loop():
            return VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                                 thumbs=ThumbnailKeeper(tmp_path / "thumbs"))

        first = loop().run()
        assert (first.scored, first.failed) == (0, 0) and first.deferred == first.claimed >= 1
        # one request per download thread at most (both may be in flight together), then left alone
        assert sum(host.hits.values()) <= settings.download_concurrency
        assert all(n == 1 for n in host.hits.values())
        status = store.status(scoring.model_id)
        assert status.pending == 6 and status.failures == {} and status.given_up == 0
        for i in range(6):  # the outage is over
            host.routes[f"/{i}.jpg"] = [(200, {}, JPEG)]
        second = loop().run()
        assert second.scored == 6 and second.failed == 0


def test_a_retry_after_within_the_bound_is_waited_out_by_urllib3(host, settings, tmp_path):
    host.routes["/busy.jpg"] = [(503, {"Retry-After": "0"}, b""), (503, {}, b""), (200, {}, JPEG)]
    got = downloader(settings, tmp_path).fetch(pending(1, thumb_url=host.url("/busy.jpg")))
    assert got.data == JPEG and host.hits["/busy.jpg"] == 3
