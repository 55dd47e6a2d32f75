"""Revisions saved within one second (MediaWiki's timestamp resolution) may come from the API
in either order; who removed a card or changed a verdict is read in revision-id order.

On the real wiki the swap happens only now and then (two edits in one second), so the history
is given here out of order on purpose: an injected fault, with real parsing behind it."""
from __future__ import annotations

from dataclasses import dataclass

from bot.review.harvester import _history_since
from bot.review.ownership import removals


@dataclass
class Revision:
    revid: int
    user: str
    text: str
    timestamp: str = "2026-12-07T10:00:00Z"


class History:
    """A page whose history comes newest-within-the-second first."""

    def __init__(self, *revisions: Revision) -> None:
        self.given = list(revisions)

    def revisions(self, **kwargs):
        return iter(self.given)


CARD = "{{NSFW review entry|id=1}}\n"
OTHER = "{{NSFW review entry|id=2}}\n"


def test_the_removal_is_credited_to_the_edit_that_made_it():
    page = History(Revision(8, "127.0.0.1", OTHER + "\nvandal"),   # later, but listed first
                   Revision(7, "Patty", OTHER))                     # took card 1 off
    found = removals(page, {"revid": 5, "timestamp": "2026-12-07T10:00:00Z"}, {1})
    assert (found[1].user, found[1].revid) == ("Patty", 7)


def test_verdict_history_is_read_oldest_first():
    page = History(Revision(9, "Sam", "c"), Revision(7, "Patty", "a"), Revision(8, "IP", "b"))
    baseline, revisions = _history_since(page, {})
    assert baseline == "" and [r.revid for r in revisions] == [7, 8, 9]
