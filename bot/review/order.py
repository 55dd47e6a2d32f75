"""Which card goes where on the review page: the orders trusted people may choose.

A new card is inserted before the first card of lower *priority* in its section;
the bot never re-sorts, so an order patrollers made by hand stays. The priority
is computed from the card's own parameters (the ones on the page), so cards the
bot listed earlier are compared the same way as new ones.

``score`` (the default): the classifier's score alone.

``score-and-uploader``: the score plus :data:`SIGNAL_WEIGHT` for each signal
about the upload that a patroller would act on anyway: the uploader is blocked
now, trusted patrollers answered ``nsfw`` or ``out-of-scope`` on earlier files,
the file has an open deletion request. Account age and edit count are
deliberately *not* signals: they would push every newcomer's file up the page
(docs/patrollers.md, "Order of the cards", says why and what else this order
cannot see).

The on-wiki key ``review_order`` (trusted configuration only,
:mod:`bot.review.onwiki_config`) chooses the order; the page says which order is
in force in a line right above its first heading.
"""
from __future__ import annotations

from typing import Mapping

__all__ = ["ORDERS", "DEFAULT_ORDER", "SIGNAL_WEIGHT", "priority", "signals", "order_note"]

ORDERS = {
    "score": "highest score first",
    "score-and-uploader": "highest score first, with each uploader signal (blocked now, earlier "
                          "files answered nsfw or out-of-scope, open deletion request) worth "
                          "0.1 of score",
}
DEFAULT_ORDER = "score"
#: what one uploader signal adds to the score: a 0.85 with two signals goes above a 0.99
SIGNAL_WEIGHT = 0.1


def signals(params: Mapping[str, str]) -> list[str]:
    """The uploader signals a card's parameters show."""
    found = []
    if params.get("blocked"):
        found.append("blocked")
    if params.get("answered") not in (None, "", "none"):
        found.append("earlier answers")
    if params.get("deletion"):
        found.append("deletion request")
    return found


def priority(order: str, params: Mapping[str, str]) -> float | None:
    """A card's place under ``order`` (higher first); None when it has no readable score."""
    try:
        score = float(params.get("score", ""))
    except ValueError:
        return None
    if order == "score-and-uploader":
        return score + SIGNAL_WEIGHT * len(signals(params))
    return score


def order_note(order: str, threshold: float | None = None) -> str:
    """The line the page shows under its first heading (with the threshold in force, if given)."""
    listed = "" if threshold is None else (
        f"Listed: files scoring at least <b>{threshold:.2f}</b> (threshold in force). ")
    return (f"{listed}Order in force: {ORDERS[order]} (set by <code>review_order</code> on the "
            "bot's configuration page; the bot never re-sorts cards people moved).")
