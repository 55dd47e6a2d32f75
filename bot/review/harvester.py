"""Harvesting: verdicts read back from the review page's history, with who, when and where.

The page history is walked revision by revision from the last one harvested
(cursor ``review-harvest:<page>``). A verdict is an edit that changes an
entry's ``verdict=``: it is attributed to that revision's user, timestamp and
revision id, and stored with the entry's ``comment=`` as it stood then.
Editing only a comment is not a verdict, and neither is putting back an entry
as it was (reverting a blanking).

A verdict counts only when all three hold:

* its author is in ``settings.trusted_groups`` (from ``list=users&usprop=groups``);
* its author is not the uploader of that file version (nobody clears their own file);
* its author wrote it: a revision MediaWiki tags as a revert (``mw-undo``,
  ``mw-rollback``, ``mw-manual-revert``) or whose sha1 equals an earlier
  revision's credits nobody, and a slot that says what it said when last seen
  (kept in the cursor while the entry is off the page) is nobody's new verdict.
  So the earlier author keeps the credit and the earlier trust status.

Counted verdicts mark the entry ``reviewed`` (``unsure`` keeps it on the page).
Every other verdict is stored as untrusted with its reason and reported, never
applied.
* A malformed entry (no id, an id storage does not know, an unknown verdict)
  is reported once, at the revision that introduced it, and skipped.
* Entries with a trusted verdict older than ``settings.reviewed_retention_hours``
  are retired; the next publish moves them to the archive.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.config import Settings
from bot.timestamps import as_utc

from .onwiki_config import effective_settings
from .page import parse_entries
from .status import queue_status

__all__ = ["HarvestReport", "Untrusted", "harvest_verdicts", "REVERT_TAGS", "same_user"]

CURSOR = "review-harvest:{page}"
#: change tags MediaWiki itself puts on revisions that restore earlier text
REVERT_TAGS = frozenset({"mw-undo", "mw-rollback", "mw-manual-revert"})
NOT_TRUSTED = "not in the trusted groups"
OWN_UPLOAD = "own upload"


@dataclass(frozen=True)
class Untrusted:
    """A verdict by someone outside the trusted groups: stored, reported, not applied."""

    version_id: int
    reviewer: str
    verdict: str
    revid: int
    reason: str = NOT_TRUSTED


@dataclass
class HarvestReport:
    page: str
    revisions: int = 0
    verdicts: int = 0           # trusted verdicts stored
    reviewed: int = 0           # entries now marked reviewed
    untrusted: list[Untrusted] = field(default_factory=list)
    retired: int = 0
    reverts: list[int] = field(default_factory=list)  # revisions that credited nobody
    problems: list[str] = field(default_factory=list)

    def details(self) -> list[str]:
        """Every refusal and problem, one line each, with the revision to look at."""
        return ([f"not counted: entry {u.version_id}: {u.verdict!r} by {u.reviewer} in "
                 f"revision {u.revid} ({u.reason})" for u in self.untrusted] +
                [f"revision {r} restores earlier text: credits nobody" for r in self.reverts] +
                list(self.problems))

    def format(self) -> str:
        """For logs and the CLI: a summary line, then the details (``run`` and ``serve`` too)."""
        line = (f"verdicts from [[{self.page}]]: {self.revisions} revisions read, "
                f"{self.verdicts} trusted verdicts ({self.reviewed} entries reviewed), "
                f"{len(self.untrusted)} untrusted (not applied), {self.retired} retired, "
                f"{len(self.problems)} problems")
        return "\n".join([line] + [f"  {d}" for d in self.details()])


def same_user(a: str | None, b: str | None) -> bool:
    """User names compared as MediaWiki does (underscores are spaces, first letter capital)."""
    def norm(name: str) -> str:
        name = " ".join(name.replace("_", " ").split())
        return name[:1].upper() + name[1:]
    return bool(a and b) and norm(a) == norm(b)




def _groups(site, names: set[str]) -> dict[str, set[str]]:
    """Groups of each user (IP editors and unknown names have none)."""
    found: dict[str, set[str]] = {n: set() for n in names}
    names = sorted(names)
    for start in range(0, len(names), 50):
        for user in site.users(names[start:start + 50]):
            found[user["name"]] = set(user.get("groups", ()))
    return found


def _slots(text: str) -> tuple[dict[int, tuple[str, str | None, str, str | None]], set[str]]:
    """The entries of a revision's text, parsed once: ``version id -> (raw verdict, verdict,
    comment, problem)``, and the entries without a usable id, as text (reported once, when
    they first appear)."""
    slots, malformed = {}, set()
    for entry in parse_entries(text or ""):
        if entry.version_id is None:
            malformed.add(" ".join(str(entry.template).split())[:200])
        else:
            slots[entry.version_id] = (entry.raw_verdict, entry.verdict, entry.comment,
                                       entry.problem)
    return slots, malformed


def harvest_verdicts(site, store, settings: Settings, *, config=None) -> HarvestReport:
    """Read verdicts given since the last harvest into storage; see the module docstring.

    :param site: a logged-in pywikibot site
    :param store: a :class:`storage.Store`
    :param config: the pass's resolved on-wiki configuration (see :func:`publish_review`)
    """
    import pywikibot

    from storage import VerdictIn

    title = settings.review_page
    report = HarvestReport(page=title)
    settings, config = effective_settings(site, store, settings, config)
    report.problems += config.problems
    page = pywikibot.Page(site, title)
    cursor_name = CURSOR.format(page=title)
    cursor = store.get_cursor(cursor_name) or {}
    if page.exists():
        if page.isRedirectPage():
            # a move leaves a redirect: the bot never follows it (publish restores the list)
            report.problems.append(f"[[{title}]] is a redirect (was it moved?); verdicts are "
                                   "read only at this title")
        baseline, revisions = _history_since(page, cursor)
        # the last slot seen of every entry, kept (in the cursor too) while an entry is off
        # the page, so an entry put back by a revert or a copy is nobody's new verdict
        seen, seen_malformed = _slots(baseline)
        seen.update({int(k): (v, None, "", None) for k, v in cursor.get("slots", {}).items()
                     if int(k) not in seen})
        known = {e.version_id: e.state for e in store.review_entries(title)}
        uploaders = store.uploaders(sorted(known))
        groups = _groups(site, {r.user for r in revisions if r.user})
        trusted_groups = set(settings.trusted_groups)
        bot_name = site.username()
        hashes: set = set()
        if cursor.get("sha1"):
            hashes.add(cursor["sha1"])
        for rev in revisions:
            report.revisions += 1
            current, malformed = _slots(rev.text)
            sha1 = getattr(rev, "sha1", None)
            restores = bool(set(getattr(rev, "tags", None) or ()) & REVERT_TAGS) or \
                (sha1 is not None and sha1 in hashes)
            hashes.add(sha1)
            if restores and rev.user != bot_name:
                report.reverts.append(rev.revid)
            problems = [f"entry without a usable id: {m}"
                        for m in sorted(malformed - seen_malformed)
                        if rev.user != bot_name and not restores]
            seen_malformed |= malformed
            for version_id, (raw, verdict, comment, problem) in current.items():
                before = seen.get(version_id)
                if before is not None and before[0] == raw:
                    continue  # verdict unchanged (maybe only a comment): nothing to record
                if not raw or rev.user == bot_name or restores:
                    continue  # a revert restores earlier verdicts: their authors keep them
                if problem:
                    problems.append(f"entry {version_id}: {problem}")
                    continue
                if not rev.user:  # the user name was suppressed: nobody to credit
                    problems.append(f"entry {version_id}: verdict by a hidden user, ignored")
                    continue
                if version_id not in known:
                    problems.append(f"entry {version_id}: no such entry in storage")
                    continue
                reason = None
                if not groups.get(rev.user, set()) & trusted_groups:
                    reason = NOT_TRUSTED
                elif same_user(rev.user, uploaders.get(version_id)):
                    reason = OWN_UPLOAD
                store.record_verdict(VerdictIn(
                    version_id=version_id, reviewer=rev.user, verdict=verdict,
                    revid=rev.revid, timestamp=as_utc(rev.timestamp), trusted=reason is None,
                    comment=comment or None))
                if reason:
                    report.untrusted.append(
                        Untrusted(version_id, rev.user, verdict, rev.revid, reason))
                    continue
                report.verdicts += 1
                if verdict != "unsure" and known[version_id] == "listed":
                    store.upsert_review_entry(version_id, page=title, state="reviewed",
                                              revid=rev.revid)
                    known[version_id] = "reviewed"
                    report.reviewed += 1
            report.problems += [f"revision {rev.revid} by {rev.user}: {p}" for p in problems]
            seen.update(current)
            cursor = {"revid": rev.revid, "timestamp": as_utc(rev.timestamp).isoformat(),
                      "sha1": sha1}
        if revisions:
            # entries storage has retired need no memory; the others keep their last slot
            cursor["slots"] = {str(v): slot[0] for v, slot in sorted(seen.items())
                               if known.get(v) not in (None, "retired")}
            store.set_cursor(cursor_name, cursor)
    retired = store.retire_reviewed(
        title, older_than=timedelta(hours=settings.reviewed_retention_hours))
    for version_id in retired:
        # "unsure" asks for another opinion: such an entry stays on the page
        latest = store.verdicts(version_id, trusted=True)
        if latest and latest[-1].verdict == "unsure":
            store.upsert_review_entry(version_id, page=title, state="listed",
                                      revid=latest[-1].revid)
        else:
            report.retired += 1
    queue_status(store, title, report.details())  # for the status subpage, by the next publish
    return report


def _history_since(page, cursor: dict) -> tuple[str, list]:
    """The text at the cursor's revision and every later revision, oldest first."""
    import pywikibot

    last_revid = cursor.get("revid", 0)
    baseline = _old_text(page, last_revid) if last_revid else ""
    start = cursor.get("timestamp")  # revisions share seconds: filter by id as well
    revisions = page.revisions(
        reverse=True, content=True,
        starttime=pywikibot.Timestamp.fromISOformat(start[:19] + "Z") if start else None)
    # by revision id: edits within one second (MediaWiki's timestamp resolution) may come in
    # either order, and the order decides who changed a verdict
    return baseline, sorted((r for r in revisions if r.revid > last_revid), key=lambda r: r.revid)


def _old_text(page, revid: int) -> str:
    """The text of an old revision (pywikibot >= 11.7 renamed the call)."""
    if hasattr(page, "get_revision"):
        return page.get_revision(revid, content=True).text or ""
    return page.getOldVersion(revid) or ""
