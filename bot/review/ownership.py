"""Who changed the bot's list: removals attributed from the page history.

The bot alone decides which cards are on the review page. A card missing from
the page is put back unless the person who removed it may: a member of the
trusted groups who is not the file's uploader. Who removed a card is read from
the history since the bot's last save, so a later unrelated edit by someone
else does not change the answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from .page import parse_entries

__all__ = ["Removal", "removals"]


@dataclass(frozen=True)
class Removal:
    """The revision in which a card last left the page."""

    version_id: int
    user: str | None
    revid: int
    timestamp: str


def removals(page, since: dict, missing: set[int]) -> dict[int, Removal]:
    """For each of ``missing``, the revision after the bot's last save (``since``: its
    ``revid`` and ISO ``timestamp``) that took it off the page (absent when the history
    does not show it, e.g. after a move)."""
    import pywikibot

    since_revid, start = since.get("revid"), since.get("timestamp")
    if not missing or not since_revid or not start:
        return {}
    found: dict[int, Removal] = {}
    present = set(missing)  # on the page at the bot's last save
    # oldest first by revision id: edits saved within one second (MediaWiki's timestamp
    # resolution) may come in either order, and whoever removed a card last is the one
    history = sorted(page.revisions(reverse=True, content=True,
                                    starttime=pywikibot.Timestamp.fromISOformat(start[:19] + "Z")),
                     key=lambda r: r.revid)
    for rev in history:
        if rev.revid <= since_revid:
            continue
        ids = {e.version_id for e in parse_entries(rev.text or "")} & missing
        for version_id in present - ids:
            found[version_id] = Removal(version_id, rev.user, rev.revid, str(rev.timestamp))
        for version_id in ids:
            found.pop(version_id, None)  # back again: a later removal is the one that counts
        present = ids
    return found
