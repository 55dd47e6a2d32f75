"""What a patroller wants to know about an uploader, fetched in batches once per publish.

For each uploader on the review page: account age, edit count, groups and any
current block (one ``list=users`` query per 50 names, 500 for accounts with
``apihighlimits``), the number of uploads (the upload log, see
:func:`upload_count`) and how trusted patrollers answered their earlier files
(the bot's own storage). One :class:`UploaderDirectory` lives for one publish:
each name is asked about once, however many cards it has.

Whether a file has an open deletion request costs no request of its own: the
publisher already reads every listed file's categories (50 titles a query), and
Commons' ``{{delete}}`` family files a page into ``Category:Deletion requests
<month year>`` and the speedy templates into ``Category:Candidates for speedy
deletion``; see :func:`deletion_pending`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from bot.metadata import batch_size, chunks

__all__ = ["UploaderContext", "UploaderDirectory", "deletion_pending", "format_age",
           "USPROP", "UPLOAD_COUNT_CAP"]

USPROP = "editcount|registration|blockinfo|groups"
#: at most one page of the upload log per uploader: more shows as "500+"
UPLOAD_COUNT_CAP = 500
#: categories (without namespace) that say a deletion is being discussed or requested
DELETION_CATEGORY_PREFIXES = ("Deletion requests", "Candidates for speedy deletion")


@dataclass(frozen=True)
class UploaderContext:
    """One uploader as the API and the bot's storage describe them."""

    name: str
    registered: datetime | None = None
    edit_count: int | None = None
    uploads: int | None = None
    uploads_capped: bool = False        # the log had more than UPLOAD_COUNT_CAP uploads
    blocked: bool = False
    block_expiry: str | None = None     # "infinite" or an ISO timestamp
    groups: tuple[str, ...] = ()
    answered: tuple[tuple[str, int], ...] = ()   # trusted verdicts on their files
    exists: bool = True                 # False: an IP or an unknown name

    def answered_count(self, verdict: str) -> int:
        return dict(self.answered).get(verdict, 0)


def format_age(registered: datetime | None, now: datetime) -> str:
    """Coarse on purpose ("3 days", "5 months", "2 years"): the card changes rarely, and
    a finer age says nothing more to a patroller."""
    if registered is None:
        return ""
    days = max((now - registered).days, 0)
    if days < 1:
        return "under a day"
    for size, unit in ((365, "year"), (30, "month"), (1, "day")):
        if days >= size:
            n = days // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return ""  # pragma: no cover


def deletion_pending(categories: Iterable[str]) -> bool:
    return any(c.startswith(DELETION_CATEGORY_PREFIXES) for c in categories)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


class UploaderDirectory:
    """Uploader context for one publish: fetched in batches, each name once."""

    def __init__(self, site, store) -> None:
        self.site, self.store = site, store
        self._known: dict[str, UploaderContext] = {}

    def get(self, name: str | None) -> UploaderContext | None:
        return self._known.get(name.replace("_", " ")) if name else None

    def fetch(self, names: Iterable[str | None]) -> dict[str, UploaderContext]:
        """Context for every name (fetching only the ones not asked about yet)."""
        wanted = sorted({n.replace("_", " ") for n in names if n} - set(self._known))
        if wanted:
            users = self._users(wanted)
            answered = self.store.uploader_verdicts(wanted)
            for name in wanted:
                info = users.get(name, {})
                exists = bool(info) and "missing" not in info and "invalid" not in info
                uploads = self.upload_count(name) if exists else None
                self._known[name] = UploaderContext(
                    name=name, registered=_time(info.get("registration")),
                    edit_count=info.get("editcount"),
                    uploads=None if uploads is None else min(uploads, UPLOAD_COUNT_CAP),
                    uploads_capped=uploads is not None and uploads > UPLOAD_COUNT_CAP,
                    blocked="blockid" in info, block_expiry=info.get("blockexpiry"),
                    groups=tuple(g for g in info.get("groups", ()) if g not in ("*", "user")),
                    answered=tuple(sorted(answered.get(name, {}).items())), exists=exists)
        return {n: self._known[n] for n in wanted}

    def _users(self, names: list[str]) -> dict[str, dict]:
        """``list=users`` for many names: one request per batch."""
        from pywikibot.data import api

        found: dict[str, dict] = {}
        for batch in chunks(names, batch_size(self.site)):
            gen = api.ListGenerator("users", site=self.site,
                                    parameters={"ususers": list(batch), "usprop": USPROP})
            for user in gen:
                found[user["name"]] = user
        return found

    def upload_count(self, name: str) -> int:
        """Uploads in the upload log (overwrites and since-deleted files included: both tell a
        patroller something). MediaWiki has no per-user upload count and no query that
        counts the log for several users at once, so this is one request per *uploader*
        (not per card), reading at most :data:`UPLOAD_COUNT_CAP` + 1 log entries."""
        from pywikibot.data import api

        data = api.Request(site=self.site, parameters={
            "action": "query", "list": "logevents", "letype": "upload", "leuser": name,
            "leprop": "ids", "lelimit": UPLOAD_COUNT_CAP}).submit()
        events = data.get("query", {}).get("logevents", [])
        # a "continue" means the log holds more than one page: counted as the cap + 1
        return len(events) + (1 if "continue" in data else 0)
