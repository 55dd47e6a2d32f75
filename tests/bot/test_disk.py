"""A read-only or full disk is exit 4 with one timestamped line; the kept-thumbnail cache is optional.

Tests run as root, where ``chmod`` does not stop writes, and a read-only bind mount needs
privileges the test cannot count on: the OSError (EROFS / ENOSPC) is injected at the write.
"""
from __future__ import annotations

import errno
import re

import storage
from bot import cli
from bot.pipeline import VersionScorer
from bot.thumbnails import ThumbnailKeeper
from storage.records import FileVersionIn

from .test_downloads import JPEG, downloader, host  # noqa: F401 (host is a fixture)

STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


def _failing_command(error: OSError):
    def write(*, settings) -> int:
        raise error
    return cli.Command("write", write, "writes to the data directory")


def test_a_read_only_or_full_data_directory_is_exit_4_with_one_line(monkeypatch, capsys, tmp_path):
    commands = cli.COMMANDS
    for code, reason in ((errno.EROFS, "Read-only file system"), (errno.ENOSPC, "No space left on device")):
        error = OSError(code, reason, str(tmp_path / "run.lock"))
        monkeypatch.setattr(cli, "COMMANDS", commands + [_failing_command(error)])
        assert cli.main(["write", "--data-dir", str(tmp_path)]) == 4
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert re.match(STAMP + f"disk unavailable: {reason}: {tmp_path / 'run.lock'}$", err.strip()), err


def test_the_run_lock_on_a_read_only_directory_is_exit_4(monkeypatch, capsys, tmp_path):
    import pathlib

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    # `db upgrade` needs no wiki; the lock is taken by run/serve/backfill the same way
    from bot.lock import RunLock

    def locked_upgrade(*, settings, action) -> int:
        with RunLock(settings.data_dir):
            return 0

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + [cli.Command("locked", locked_upgrade, "x", arguments=(
        cli.arg("action"),))])
    assert cli.main(["locked", "x", "--data-dir", str(tmp_path / "ro")]) == 4
    assert "disk unavailable: Read-only file system" in capsys.readouterr().err


class FullDisk(ThumbnailKeeper):
    def keep(self, version, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.dir))


def test_a_full_thumbnail_cache_is_skipped_and_scoring_goes_on(host, settings, tmp_path, scoring,  # noqa: F811
                                                                caplog):
    for i in range(3):
        host.routes[f"/{i}.jpg"] = [(200, {}, JPEG)]
    import dataclasses

    from bot.pipeline import ScoringModel

    class FlagEverything:  # every file flagged: each thumbnail would be kept
        @staticmethod
        def score(items):
            return (dataclasses.replace(r, flagged=True) for r in real.score(items))

    real = scoring.pipeline
    scoring = ScoringModel(FlagEverything, scoring.model_id)
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([FileVersionIn(page_id=i + 1, title=f"File:{i}.jpg", sha1=f"{i + 1:040x}",
                                               media_type="bitmap", thumb_url=host.url(f"/{i}.jpg"))
                                 for i in range(3)])
        report = VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                               thumbs=FullDisk(tmp_path / "thumbs")).run()
        assert (report.scored, report.flagged, report.failed) == (3, 3, 0)
        assert store.status(scoring.model_id).scored == 3
    assert [r.message for r in caplog.records if "kept thumbnails off" in r.message]


def test_a_full_disk_while_spooling_ends_the_run_instead_of_charging_the_files(settings, tmp_path):
    """ENOSPC at a download's write is the disk's fault, not the file's: it propagates (exit 4)."""
    import pytest

    from bot.downloads import Download

    class FullSpool:
        closed_hosts: dict = {}

        def fetch(self, version, *, transcodes=()) -> Download:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "tmp"))

    class Scoring:
        model_id = "m@0"

        class pipeline:  # noqa: N801
            @staticmethod
            def score(items):
                for _ in items:
                    raise AssertionError("nothing was downloaded")
                return iter(())

    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([FileVersionIn(page_id=1, title="File:v.webm", sha1="1" * 40,
                                               media_type="video", url="http://x/v.webm")])
        with pytest.raises(OSError) as caught:
            VersionScorer(store, settings, scoring=Scoring, downloader=FullSpool(),
                          thumbs=ThumbnailKeeper(tmp_path / "thumbs")).run()
        assert caught.value.errno == errno.ENOSPC
        assert store.status("m@0").failures == {}


def test_run_stops_claiming_when_the_review_page_is_due(host, settings, tmp_path, scoring):  # noqa: F811
    """A deadline already past: nothing is claimed, the backlog stays pending for the next run."""
    import time

    host.routes["/0.jpg"] = [(200, {}, JPEG)]
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        store.add_file_versions([FileVersionIn(page_id=1, title="File:0.jpg", sha1="1" * 40,
                                               media_type="bitmap", thumb_url=host.url("/0.jpg"),
                                               source="uploadlog")])
        late = VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                             thumbs=ThumbnailKeeper(tmp_path / "thumbs"), deadline=time.monotonic()).run()
        assert late.claimed == 0 and store.status(scoring.model_id).pending == 1
        on_time = VersionScorer(store, settings, scoring=scoring, downloader=downloader(settings, tmp_path),
                                thumbs=ThumbnailKeeper(tmp_path / "thumbs"), sources=("uploadlog",),
                                deadline=time.monotonic() + 3600).run()
        assert on_time.scored == 1
