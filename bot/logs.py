"""The move, deletion and suppression logs: where a file went, and what must be forgotten.

* **Moves.** A file page keeps its page id when it is moved, so versions are
  looked up by page id. A title without one (a log entry that does not carry
  it) is looked up by title, following redirects, and, when a move left no
  redirect, through the move log (``list=logevents&letype=move``).
* **Deletions.** ``letype=delete`` (``delete``) and, where the account may read
  it, ``letype=suppress`` (``delete`` with suppression): the file is marked
  deleted in storage (its cards leave the review page) and the thumbnails the
  bot kept of it are removed.
* **Suppressed user names.** A suppression-log ``block`` entry that hides the
  user name (``hidden`` in its flags) removes that name from every stored version.

Suppressed entries whose fields are hidden from us raise pywikibot's
``HiddenKeyError``: they are counted and passed, never a reason to stop.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from .config import Settings
from .ingest_report import IngestReport
from .log_cursor import LogCursor, iso
from .timestamps import as_utc
from .metadata import _query, _resolve, batch_size, chunks

__all__ = ["page_ids_of", "moved_to", "DeletionLog", "MAX_MOVES"]

log = logging.getLogger(__name__)

#: moves followed from one title; a longer chain (or a cycle) is given up as missing
MAX_MOVES = 10




def moved_to(site, title: str) -> str | None:
    """Where the newest move of ``title`` took it, following later moves; None if never moved."""
    seen, current = {title}, title
    for _ in range(MAX_MOVES):
        target = None
        for entry in site.logevents(logtype="move", page=current, total=1):
            try:
                target = entry.target_title
            except KeyError:  # HiddenKeyError: the move itself was suppressed
                target = None
        if target is None or target in seen:
            break
        seen.add(target)
        current = target
    return None if current == title else current


def page_ids_of(site, titles: Iterable[str]) -> dict[str, int]:
    """Page ids of file titles (redirects followed, then the move log for moves without
    one); titles of deleted files are left out."""
    titles = list(dict.fromkeys(titles))
    out: dict[str, int] = {}
    lost: list[str] = []
    for batch in chunks(titles, batch_size(site)):
        answer = _query(site, prop="info", titles="|".join(batch), redirects="1")
        for title in batch:
            page = answer["pages"].get(_resolve(title, answer["aliases"])) or {}
            if page.get("pageid"):
                out[title] = int(page["pageid"])
            else:
                lost.append(title)
    for title in lost:
        target = moved_to(site, title)
        if target is not None:
            found = page_ids_of(site, [target]) if target not in lost else {}
            if target in found:
                out[title] = found[target]
    return out


class DeletionLog:
    """Deletions and suppressions since the cursor ``deletionlog`` (a :class:`~bot.log_cursor.LogCursor`).

    :param purge: called with the version ids of each deleted file (the bot's kept
        thumbnails go); storage marks the file deleted in the same pass
    """

    name = "deletionlog"

    def __init__(self, site, store, settings: Settings, *, purge: Callable[[list[int]], object] | None = None,
                 now: datetime | None = None) -> None:
        self.site = site
        self.store = store
        self.settings = settings
        self.purge = purge
        self.now = now

    def _entries(self, logtype: str, start: datetime) -> Iterator:
        import pywikibot

        stamp = pywikibot.Timestamp.fromISOformat(iso(start))
        yield from self.site.logevents(logtype=logtype, start=stamp, reverse=True)

    def ingest(self):
        report = IngestReport(self.name)
        overlap = timedelta(seconds=self.settings.overlap_seconds)
        cursor = LogCursor.load(self.store.get_cursor(self.name))
        first = (self.now or datetime.now(timezone.utc)) - timedelta(hours=self.settings.lookback_hours)
        start = cursor.start(overlap=overlap, first=first)
        deleted_ids: set[int] = set()
        deleted_titles: set[str] = set()
        for logtype in ("delete", "suppress"):
            for entry in self._entries(logtype, start):
                logid, ts = int(entry["logid"]), as_utc(entry["timestamp"])
                report.entries += 1
                if not cursor.read(logid, ts):
                    report.duplicates += 1
                    continue
                try:
                    self._read(entry, deleted_ids, deleted_titles, report)
                except KeyError:  # HiddenKeyError: we may not see what this entry is about
                    report.hidden += 1
        if deleted_ids or deleted_titles:
            versions = self.store.mark_deleted(page_ids=sorted(deleted_ids), titles=sorted(deleted_titles))
            report.extra["deleted_versions"] = len(versions)
            if self.purge is not None and versions:
                self.purge(versions)
        state = cursor.state(overlap=overlap)
        if state is not None:
            self.store.set_cursor(self.name, state)
        return report

    def _read(self, entry, deleted_ids: set[int], deleted_titles: set[str], report) -> None:
        action = entry["action"]
        if action == "delete" and int(entry.get("ns", 6)) == 6:
            page_id = entry.get("logpage") or entry.get("pageid")
            if page_id:
                deleted_ids.add(int(page_id))
            else:  # by title only without a page id: a re-upload under the title is a new page
                deleted_titles.add(entry["title"])
            report.missing += 1
        elif entry["type"] == "suppress" and action in ("block", "reblock"):
            params = entry.get("params") or {}
            if "hiddenname" in str(params.get("flags", "")) or "hidden" in str(params.get("flags", "")):
                name = entry["title"].split(":", 1)[-1]
                report.extra["names_forgotten"] = (report.extra.get("names_forgotten", 0)
                                                   + self.store.forget_uploader(name))
