"""Cursor order at the bot level: a pass that fails while writing the versions it found
must not have moved its place in the upload log (docs/architecture.md, step 2).

The fault is injected at the database (the INSERT into ``file_versions`` raises), so it
lands between "versions found" and "versions stored" wherever the code puts its cursor
write: a cursor committed before (or apart from) its versions is then already durable,
and the resumed pass skips those uploads for good.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from bot.jobs import Bot
from storage.schema import File

pytestmark = pytest.mark.wiki

TITLES = ("Astronaut sample.jpg", "Coffee sample.jpg", "Chelsea sample.jpg")


class InjectedFault(RuntimeError):
    pass


def stored_titles(store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.scalars(select(File.title)))


def test_a_pass_failing_between_finding_and_storing_versions_loses_no_upload(
        wiki, site, store, settings, scoring, media_dir):
    alice = wiki.user("Alice")
    for file, title in zip(("astronaut.jpg", "coffee.jpg", "chelsea.jpg"), TITLES):
        alice.upload(media_dir / file, title)
    writes = re.compile(r"^\s*INSERT\b.*\bINTO\s+[`\"]?file_versions\b", re.I | re.S)
    fired = []

    def fail_version_writes(conn, cursor, statement, parameters, context, executemany):
        if writes.search(statement):
            fired.append(statement)
            raise InjectedFault("disk full while writing file_versions")

    event.listen(store.engine, "before_cursor_execute", fail_version_writes)
    try:
        with pytest.raises(Exception) as raised:
            Bot(settings, site=site, store=store, scoring=scoring).ingest_uploads()
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_version_writes)
    assert fired, "the fault never fired: the test proved nothing"
    assert "disk full" in str(raised.value)
    assert store.get_cursor("uploadlog") is None  # nothing of the failed pass is durable

    report = Bot(settings, site=site, store=store, scoring=scoring).ingest_uploads()
    assert report.added == len(TITLES)
    assert {"File:" + t for t in TITLES} <= stored_titles(store)
    assert store.status(scoring.model_id).pending == len(TITLES)
    assert store.get_cursor("uploadlog") is not None


def test_a_second_pass_reads_the_overlap_again_and_counts_it_as_duplicates(wiki, site, store, settings,
                                                                          media_dir):
    """The report the run prints: the overlap window is read again (``entries``) and dropped by
    log id (``duplicates``), nothing added twice (bot/sources.py, UploadLog)."""
    alice = wiki.user("Alice")
    for file, title in zip(("astronaut.jpg", "coffee.jpg"), TITLES):
        alice.upload(media_dir / file, title)
    bot = Bot(settings, site=site, store=store)
    first = bot.ingest_uploads()
    assert (first.entries, first.added, first.duplicates) == (2, 2, 0)
    again = bot.ingest_uploads()  # both uploads lie within overlap_seconds of the cursor
    assert (again.entries, again.added, again.duplicates) == (2, 0, 2)
    assert again.format() == "uploadlog: entries=2, duplicates=2"


def test_max_files_per_run_stops_the_pass_and_the_next_one_goes_on(wiki, site, store, settings, media_dir):
    """``max_files_per_run``: a pass stops after that many new versions (``done`` False) with its
    cursor after them, and the next pass takes the rest, nothing twice (bot/sources.py)."""
    alice = wiki.user("Alice")
    for file, title in zip(("astronaut.jpg", "coffee.jpg", "chelsea.jpg"), TITLES):
        alice.upload(media_dir / file, title)
    bot = Bot(settings.replace(max_files_per_run=2), site=site, store=store)
    first = bot.ingest_uploads()
    assert (first.added, first.done) == (2, False)
    assert len(stored_titles(store)) == 2
    second = bot.ingest_uploads()
    assert (second.added, second.done) == (1, True)
    assert stored_titles(store) == {f"File:{t}" for t in TITLES}


def test_a_pass_stores_at_most_one_query_batch_per_transaction(wiki, site, store, settings, media_dir,
                                                                monkeypatch):
    """Each batch of log entries is as large as one API query may be (50 titles, 500 with
    ``apihighlimits``: bot/metadata.py) and no larger. Shrunk to 2 here, so five uploads show
    the boundary without 51 of them."""
    import bot.sources

    alice = wiki.user("Alice")
    files = ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "astronaut-v2.jpg")
    for n, file in enumerate(files):
        alice.upload(media_dir / file, f"Batch sample {n}.jpg")
    monkeypatch.setattr(bot.sources, "batch_size", lambda site: 2)
    sizes = []
    real = store.add_file_versions

    def counted(versions, **kwargs):
        versions = list(versions)
        sizes.append(len(versions))
        return real(versions, **kwargs)

    monkeypatch.setattr(store, "add_file_versions", counted)
    report = Bot(settings, site=site, store=store).ingest_uploads()
    assert report.added == 5 and sizes == [2, 2, 1]
