"""Feedback on the wiki: whether each answer counted, and what the bot refused or undid.

Each answered card carries two parameters the bot writes (:data:`FEEDBACK_PARAMS`):

* ``counted=yes`` — the verdict in the slot was stored as a trusted verdict;
* ``counted=no`` with ``why=`` one of :data:`NOT_TRUSTED`, :data:`OWN_UPLOAD`,
  :data:`UNREADABLE` — the verdict was stored (or read) but does not count;
* both empty — the slot is empty, or the verdict was not harvested yet.

What the bot refused, restored or could not read goes to the status subpage
(:mod:`bot.review.status`).
"""
from __future__ import annotations

from .harvester import same_user
from .page import ReviewPage, normalize_verdict

__all__ = ["FEEDBACK_PARAMS", "card_feedback", "apply_feedback"]

FEEDBACK_PARAMS = ("counted", "why")
NOT_TRUSTED = "not a trusted reviewer"
OWN_UPLOAD = "own upload"
UNREADABLE = "unreadable value: use nsfw, sfw, out-of-scope or unsure"
def card_feedback(store, review: ReviewPage) -> dict[int, tuple[str, str]]:
    """``version id -> (counted, why)`` for every card on the page.

    The verdict in a slot is matched to the latest stored verdict with that value
    (a revert restores an earlier author's verdict, so the earlier record speaks
    for it). A stored untrusted verdict by the file's uploader says :data:`OWN_UPLOAD`
    (nobody clears their own file, whatever their groups); any other untrusted one
    says :data:`NOT_TRUSTED`.
    """
    out: dict[int, tuple[str, str]] = {}
    entries = [e for e in review.entries() if e.version_id is not None]
    uploaders = store.uploaders([e.version_id for e in entries if e.raw_verdict])
    for entry in entries:
        raw = entry.raw_verdict
        if not raw:
            out[entry.version_id] = ("", "")
            continue
        verdict, problem = normalize_verdict(raw)
        if problem:
            out[entry.version_id] = ("no", UNREADABLE)
            continue
        matching = [v for v in store.verdicts(entry.version_id) if v.verdict == verdict]
        if not matching:
            out[entry.version_id] = ("", "")  # not harvested yet
            continue
        latest = matching[-1]
        if latest.trusted:
            out[entry.version_id] = ("yes", "")
        elif same_user(latest.reviewer, uploaders.get(entry.version_id)):
            out[entry.version_id] = ("no", OWN_UPLOAD)
        else:
            out[entry.version_id] = ("no", NOT_TRUSTED)
    return out


def apply_feedback(review: ReviewPage, feedback: dict[int, tuple[str, str]]) -> int:
    """Write ``counted``/``why`` on the cards (before ``verdict=``); :returns: cards changed.

    Empty values are written only on cards that already carry the parameters, so a
    page nobody answered does not change.
    """
    changed = 0
    for entry in review.entries():
        if entry.version_id not in feedback:
            continue
        template, values = entry.template, dict(zip(FEEDBACK_PARAMS, feedback[entry.version_id]))
        touched = False
        for name, value in values.items():
            if template.has(name):
                if str(template.get(name).value).strip() != value:
                    template.get(name).value = value + "\n"
                    touched = True
            elif value:
                template.add(name, value + "\n", preserve_spacing=False,
                             before="verdict" if template.has("verdict") else None)
                touched = True
        changed += touched
    return changed
