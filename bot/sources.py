"""Where files to score come from: the upload log, a category walk, explicit titles.

Every source writes the file versions it found as *pending* in the same
transaction that advances its cursor (``store.add_file_versions(..., cursor=)``),
so a crash can neither skip an upload nor lose a place.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

from .config import Settings
from .ingest_report import IngestReport
from .log_cursor import LogCursor, iso
from .timestamps import as_utc
from .logs import page_ids_of
from .metadata import (IIPROP, THUMBNAILS_PER_REQUEST, batch_size, file_histories, file_versions,
                       version_at, version_from_imageinfo, with_metadata)

__all__ = ["IngestReport", "UploadLog", "CategoryBackfill", "ExplicitTitles", "category_title"]

log = logging.getLogger(__name__)




class UploadLog:
    """New uploads, overwrites and reverts from ``list=logevents&letype=upload``, oldest first.

    The cursor is a :class:`~bot.log_cursor.LogCursor`: the newest (timestamp,
    logid) ingested and the log ids within the overlap window before it, stored
    with the versions it passed in one transaction.

    Every entry (``upload``, ``overwrite``, ``revert``) names a version by its
    timestamp: that version is taken from the file's history (current or
    archived, with its own URL and thumbnail), so a version overwritten before
    the bot ran is scored too. Storage keeps versions apart by sha1: a revert to
    a version it already holds is not scored twice. Files are looked up by the
    entry's page id, which a move keeps (with or without a redirect).
    """

    name = "uploadlog"

    def __init__(self, site, store, settings: Settings, *, now: datetime | None = None) -> None:
        self.site = site
        self.store = store
        self.settings = settings
        self.now = now

    def _entries(self, start: datetime) -> Iterator[dict]:
        import pywikibot

        for entry in self.site.logevents(logtype="upload", start=pywikibot.Timestamp.fromISOformat(iso(start)),
                                         reverse=True):
            yield entry

    def ingest(self, *, limit: int | None = None) -> IngestReport:
        """Read the log from the cursor on and store what is new; ``limit`` caps new versions."""
        report = IngestReport(self.name)
        overlap = timedelta(seconds=self.settings.overlap_seconds)
        cursor = LogCursor.load(self.store.get_cursor(self.name))
        first = (self.now or datetime.now(timezone.utc)) - timedelta(hours=self.settings.lookback_hours)
        entries = self._entries(cursor.start(overlap=overlap, first=first))
        step = batch_size(self.site)
        limit = limit if limit is not None else self.settings.max_files_per_run

        while True:
            batch: list[tuple[int, datetime, LogVersion | None]] = []
            for entry in entries:
                logid, ts = int(entry["logid"]), as_utc(entry["timestamp"])
                report.entries += 1
                if logid in cursor.seen:
                    report.duplicates += 1
                    continue
                try:
                    wanted = LogVersion.from_entry(entry, ts)
                except KeyError:  # pywikibot's HiddenKeyError: a suppressed entry
                    wanted = None
                    report.hidden += 1
                batch.append((logid, ts, wanted))
                if len(batch) >= step or (limit is not None and report.added + len(batch) >= limit):
                    break
            if not batch:
                break
            found = self._versions([(logid, w) for logid, _, w in batch if w], report)
            for logid, ts, _ in batch:
                cursor.read(logid, ts)
            # the versions and the cursor that passed them in one transaction: a crash loses neither
            self.store.add_file_versions(found, cursor=(self.name, cursor.state(overlap=overlap)))
            report.added += len(found)
            if limit is not None and report.added >= limit:
                report.done = False
                break
        return report

    def _versions(self, wanted: list[tuple[int, LogVersion]], report: IngestReport) -> list:
        """The version each entry names, from the files' histories (by page id, which moves keep)."""
        if not wanted:
            return []
        unknown = [w.title for _, w in wanted if not w.page_id]
        page_ids = page_ids_of(self.site, unknown) if unknown else {}
        since = min(w.version_ts for _, w in wanted) - timedelta(seconds=60)
        ids = {logid: w.page_id or page_ids.get(w.title) for logid, w in wanted}
        histories = file_histories(self.site, [i for i in ids.values() if i],
                                   thumb_width=self.settings.thumb_width, since=since)
        found = []
        for logid, w in wanted:
            page = histories.get(ids[logid]) if ids[logid] else None
            version = version_at(page, w.version_ts, source=self.name, log_id=logid) if page else None
            if version is None:
                report.missing += 1  # the file (or this version of it) was deleted since
            else:
                found.append(version)
        return found


@dataclass(frozen=True)
class LogVersion:
    """The file version an upload-log entry names: its page (id, title) and the version's
    timestamp (``img_timestamp``; an ``overwrite`` or ``revert`` names the new version)."""

    title: str
    page_id: int | None
    version_ts: datetime

    @classmethod
    def from_entry(cls, entry, ts: datetime) -> LogVersion:
        title = entry["title"]  # raises HiddenKeyError (a KeyError) when suppressed
        params = entry.get("params") or {}
        page_id = entry.get("logpage") or entry.get("pageid") or None
        version_ts = params.get("img_timestamp")
        return cls(title=title, page_id=int(page_id) if page_id else None,
                   version_ts=as_utc(version_ts) if version_ts else ts)


def category_title(site, name: str) -> str:
    """``Foo``, ``Category:Foo`` or a localized prefix -> the canonical ``Category:Foo`` title."""
    import pywikibot

    return pywikibot.Category(site, name).title()


def category_exists(site, name: str) -> bool:
    """The category page exists, or it has members (a category can be used before its page is made).

    Costs one ``prop=info|categoryinfo`` request.
    """
    import pywikibot

    category = pywikibot.Category(site, name)
    return category.exists() or bool(category.categoryinfo.get("size"))


class CategoryBackfill:
    """Files of a category tree, breadth first, with a visited set (Commons' category graph has cycles).

    The walk's whole state (queue, visited set, the API continuation inside the
    current category) is the cursor ``category:<title>``, written with each
    page of files, so a crash resumes where it stopped. Versions the current
    model has already scored are not queued again. A finished walk starts over
    on the next call (cheaply: everything scored is skipped).

    :param depth: subcategory levels below the root (0: the root only)
    :param limit: most new versions to queue in this call (None: all)
    """

    def __init__(self, site, store, settings: Settings, *, category: str, model_id: str,
                 depth: int = 0, limit: int | None = None) -> None:
        self.site = site
        self.store = store
        self.settings = settings
        self.root = category_title(site, category)
        self.model_id = model_id
        self.depth = depth
        self.limit = limit
        self.name = f"category:{self.root}"

    def _fresh_state(self) -> dict:
        return {"queue": [[self.root, 0]], "visited": [self.root], "current": None,
                "continue": None, "depth": self.depth, "done": False}

    def ingest(self, *, progress=None) -> IngestReport:
        report = IngestReport(self.name)
        state = self.store.get_cursor(self.name)
        if not state or state.get("done") or state.get("depth") != self.depth:
            state = self._fresh_state()
        queue = deque(tuple(x) for x in state["queue"])
        visited = set(state["visited"])
        current, cont = state["current"], state["continue"]

        def save(versions, *, done=False):
            snapshot = {"queue": [list(x) for x in queue], "visited": sorted(visited),
                        "current": current, "continue": cont, "depth": self.depth, "done": done}
            return self.store.add_file_versions(versions, cursor=(self.name, snapshot))

        # thumbnails are wanted: MediaWiki builds at most 50 thumbnail URLs a request, so a
        # bigger page would only come back in iicontinue pieces
        page_size = THUMBNAILS_PER_REQUEST
        while current or queue:
            if current is None:
                current, cont = list(queue.popleft()), {}
                report.categories += 1
            title, level = current
            # Files: one generator query per page carries their imageinfo (no per-file requests).
            while cont is not None:
                remaining = None if self.limit is None else self.limit - report.added
                if remaining is not None and remaining <= 0:
                    report.done = False
                    return report
                step = page_size if remaining is None else min(page_size, remaining)
                data = self.site.simple_request(
                    action="query", formatversion="2", generator="categorymembers",
                    gcmtitle=title, gcmtype="file", gcmlimit=str(step),
                    prop="imageinfo", iiprop=IIPROP, iiurlwidth=str(self.settings.thumb_width),
                    **(cont or {})).submit()
                pages = data.get("query", {}).get("pages", [])
                # animated or not decides thumbnail or original (one more query, animatable formats only)
                with_metadata(self.site, {p["title"]: p for p in pages if "title" in p})
                report.entries += len(pages)
                versions = [v for v in (version_from_imageinfo(p, source=self.name) for p in pages) if v]
                # (a page without imageinfo but not missing waits for the API's iicontinue)
                report.missing += sum(1 for p in pages if p.get("missing"))
                cont = data.get("continue")
                scored = (self.store.scored_version_ids(self.model_id, [v.page_id for v in versions])
                          if versions else set())
                ids = save(versions)
                new = sum(i not in scored for i in ids)
                report.added += new
                report.already_scored += len(ids) - new
                if progress is not None:
                    progress(new)
            # Subcategories, appended once each (the visited set breaks cycles).
            if level < self.depth:
                for sub in self._subcategories(title):
                    if sub not in visited:
                        visited.add(sub)
                        queue.append((sub, level + 1))
            current, cont = None, None
            save([])
        save([], done=True)
        return report

    def _subcategories(self, title: str) -> Iterator[str]:
        cont: dict = {}
        while True:
            data = self.site.simple_request(action="query", formatversion="2", list="categorymembers",
                                            cmtitle=title, cmtype="subcat", cmprop="title",
                                            cmlimit="max", **cont).submit()
            for member in data.get("query", {}).get("categorymembers", []):
                yield member["title"]
            if "continue" not in data:
                return
            cont = data["continue"]


class ExplicitTitles:
    """Files named on the command line (``python -m bot score TITLE...``)."""

    name = "explicit"

    def __init__(self, site, store, settings: Settings, titles: Iterable[str]) -> None:
        import pywikibot

        self.site = site
        self.store = store
        self.settings = settings
        self.titles = [pywikibot.FilePage(site, t).title() for t in titles]

    def ingest(self) -> IngestReport:
        report = IngestReport(self.name, entries=len(self.titles))
        versions = file_versions(self.site, self.titles, thumb_width=self.settings.thumb_width,
                                 source=self.name)
        found = [v for v in versions.values() if v is not None]
        report.missing = len(versions) - len(found)
        report.extra["missing_titles"] = [t for t, v in versions.items() if v is None]
        self.store.add_file_versions(found)
        report.added = len(found)
        return report
