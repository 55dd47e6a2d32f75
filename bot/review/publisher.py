"""Publishing: flagged versions onto the review page, without ever losing a human edit.

One publish:

1. the on-wiki config is read (:mod:`bot.review.onwiki_config`);
2. storage gives the flagged versions not yet judged, highest score first;
   opted-out uploaders and excluded categories are left out, separately listed
   categories go to their own section;
3. the page is read *right before* the save, and the planned changes (add new
   entries, refresh the bot's parameters, archive retired entries, keep the
   page within ``review_max_entries``) are applied to that text, so every
   human verdict, comment, reordering and deletion in it stays;
4. the save carries the base revision it read; on an edit conflict the page is
   read again and the changes applied again (up to :data:`MAX_ATTEMPTS`). The
   API's answer is not trusted either: MediaWiki may merge a conflicting save
   with diff3 or drop it, so the loop ends only when a fresh read needs no change;
5. entries leaving the page are appended to ``<review page>/Archive N``
   *before* the live page drops them (archiving twice adds nothing), so even
   an interrupted publish loses nothing.

The page holds at most ``review_max_entries``: when it is full, new entries wait
in storage (highest score first) until answered entries retire. When the limit
is lowered, answered entries go to the archive and unanswered ones go back to
the queue (state ``queued``): no configuration change retires an open card.

The bot alone decides what is listed (:mod:`bot.review.ownership`): a card
removed by someone outside the trusted groups (or by its uploader) is put back,
with the bot's own parameters; a trusted person's removal is recorded with the
removing revision. Cards with ids the bot did not list are taken off, entries
whose closing ``}}`` was deleted are repaired, and a move of the page is not
followed: the list is restored at the configured title. Each of these is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from bot.config import Settings
from bot.metadata import batch_size, chunks
from bot.safety import Halted
from bot.shadow import SHADOW_MODELS_CURSOR

from .edits import EditGuard
from .feedback import apply_feedback, card_feedback
from .harvester import same_user
from .onwiki_config import effective_settings
from .order import DEFAULT_ORDER
from .ownership import Removal, removals
from .status import clear_status, status_page_text, status_title, take_status
from .uploaders import UploaderDirectory, deletion_pending
from .matches import match_wikitext
from .page import (ENTRY_TEMPLATE, EntryData, ReviewPage, append_to_archive, archive_page_text,
                   new_page_text, parse_entries)

__all__ = ["PublishReport", "publish_review", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 5
ARCHIVE_CURSOR = "review-archive:{page}"
#: the bot's last save of the review page: removals are attributed from there on
PUBLISH_CURSOR = "review-publish:{page}"
#: the entry template's wikitext, created on a wiki that lacks it
TEMPLATE_FILE = Path(__file__).with_name("templates") / "NSFW_review_entry.wiki"


@dataclass
class PublishReport:
    """What one publish did. ``problems`` are for the operator's log; nothing in them is fatal."""

    page: str
    added: int = 0
    refreshed: int = 0
    archived: int = 0
    removed_by_humans: int = 0
    skipped_opt_out: int = 0
    skipped_excluded: int = 0
    separate: int = 0
    conflicts: int = 0
    edits: int = 0
    revid: int | None = None
    simulated: list[Path] = field(default_factory=list)
    halted: str | None = None
    config_source: str = "none"
    order: str = DEFAULT_ORDER      # of the cards (bot/review/order.py), from the config page
    queued: int = 0                 # open cards taken off for room: back when room frees
    restored: list[str] = field(default_factory=list)   # what the bot undid, and whose edit
    notes: list[str] = field(default_factory=list)      # config keys pinned locally
    problems: list[str] = field(default_factory=list)

    def details(self) -> list[str]:
        return self.restored + self.notes + self.problems

    def format(self) -> str:
        """One line for logs and the CLI."""
        if self.halted:
            return f"review page [[{self.page}]]: halted: {self.halted}"
        return "\n".join([self._line()] + [f"  {d}" for d in self.details()])

    def _line(self) -> str:
        where = f"simulated to {self.simulated[-1]}" if self.simulated else f"{self.edits} edits"
        return (f"review page [[{self.page}]]: +{self.added} listed ({self.separate} apart), "
                f"{self.archived} archived, {self.removed_by_humans} removed by people, "
                f"{self.refreshed} updated, {self.skipped_opt_out} opted out, "
                f"{self.skipped_excluded} excluded, {self.conflicts} edit conflicts, {where}, "
                f"config: {self.config_source}, {len(self.problems)} problems")


def _categories(site, titles: list[str]) -> dict[str, set[str]]:
    """Current categories of files (without namespace), 50 titles a query (500 for bots)."""
    from pywikibot.data import api

    qualified = {t: t if t.startswith(("File:", "Image:")) else f"File:{t}" for t in titles}
    by_title: dict[str, set[str]] = {q: set() for q in qualified.values()}
    for batch in chunks(sorted(by_title), batch_size(site)):
        gen = api.PropertyGenerator("categories", site=site,
                                    parameters={"titles": list(batch), "cllimit": "max"})
        for page in gen:
            cats = {c["title"].split(":", 1)[1] for c in page.get("categories", ())}
            by_title.setdefault(page["title"], set()).update(cats)
    return {t: by_title.get(q, set()) for t, q in qualified.items()}


def _summary(*, added: int, archived: int, refreshed: int) -> str:
    parts = [f"+{added} flagged file{'s' if added != 1 else ''}"] if added else []
    if archived:
        parts.append(f"{archived} to archive")
    if refreshed:
        parts.append(f"{refreshed} updated")
    return ("NSFW review list: " + ", ".join(parts or ["tidy"]) +
            " (advisory; human verdicts kept)")


def publish_review(site, store, settings: Settings, *, model_id: str | None = None,
                   config=None) -> PublishReport:
    """Put flagged, unjudged versions on ``settings.review_page``; see the module docstring.

    :param site: a logged-in pywikibot site
    :param store: a :class:`storage.Store`
    :param model_id: whose scores to list; None: the model that scored last
    :param config: the pass's resolved :class:`~bot.review.onwiki_config.OnwikiConfig`
        (``settings`` then include it); None: read the config page now
    """
    title = settings.review_page
    report = PublishReport(page=title)
    settings, config = effective_settings(site, store, settings, config)
    report.config_source = config.source
    report.problems += config.problems
    report.notes += config.overridden
    guard = EditGuard(site, settings)
    try:
        guard.check()
    except Halted as e:
        report.halted = str(e)
        return report

    if model_id is None:
        model_id = store.status().model_id
        # a shadow candidate (bot/shadow.py) may be the model that scored last: never list it
        if model_id in (store.get_cursor(SHADOW_MODELS_CURSOR) or {}).get("models", ()):
            report.problems.append(f"the model that scored last, {model_id}, is a shadow "
                                   "candidate: nothing listed; pass --model-id")
            return report
    if model_id is None:
        report.problems.append("nothing scored yet: no model id")
        return report
    new, refresh = _plan(site, store, settings, model_id, report)
    report.order = config.values.get("review_order", DEFAULT_ORDER)
    try:
        if new:
            _ensure_template(site, guard)
        _apply(site, store, settings, guard, report, new=new, refresh=refresh)
        _write_status(site, store, settings, guard, report)
    except Halted as e:
        report.halted = str(e)
    report.edits = guard.edits
    report.simulated = guard.simulated
    return report


def _plan(site, store, settings: Settings, model_id: str,
          report: PublishReport) -> tuple[list[EntryData], dict[int, EntryData]]:
    """Entries to add (not on the page yet) and the bot's data for every entry it lists."""
    title = settings.review_page
    flagged = store.flagged_for_review(model_id, threshold=settings.threshold,
                                       limit=settings.review_max_entries, page=title,
                                       trusted_verdicts_only=True)
    flagged = [f for f in flagged if f.review_state in (None, "queued")]
    listed = store.flagged_versions(
        model_id, [e.version_id for e in store.review_entries(title, states=["listed"])],
        page=title)
    categories = _categories(site, sorted({f.title for f in flagged + listed}))
    opt_out = {u.replace("_", " ") for u in settings.opt_out}
    excluded, separate = set(settings.excluded_categories), set(settings.separate_categories)
    new, refresh = [], {}
    for f in listed:
        cats = categories.get(f.title, set())
        refresh[f.version_id] = EntryData.from_flagged(f, separate=bool(cats & separate))
    for f in flagged:
        cats = categories.get(f.title, set())
        if f.uploader and f.uploader in opt_out:
            report.skipped_opt_out += 1
            continue
        if cats & excluded:
            report.skipped_excluded += 1
            continue
        new.append(EntryData.from_flagged(f, separate=bool(cats & separate)))
    # uploader context for every card shown, in batches (room on the page is not known yet,
    # so this may ask about a few uploaders whose cards wait: still one query per batch)
    uploaders = UploaderDirectory(site, store)
    uploaders.fetch(d.uploader for d in [*refresh.values(), *new])
    now = datetime.now(timezone.utc)

    def context(d: EntryData) -> EntryData:
        return d.with_context(uploaders.get(d.uploader), now=now,
                              deletion=deletion_pending(categories.get(d.title, ())))

    # a re-upload of a judged or deleted file: its card names the earlier file (bot/matching.py)
    matches = store.matches_for([*refresh, *(d.version_id for d in new)], model_id)

    def matched(d: EntryData) -> EntryData:
        return replace(d, match=match_wikitext(matches.get(d.version_id, ())))

    return ([matched(context(d)) for d in new],
            {v: matched(context(d)) for v, d in refresh.items()})


def _read(site, title: str):
    """A fresh page object and its current text (None when the page does not exist)."""
    import pywikibot
    from pywikibot.exceptions import NoPageError

    page = pywikibot.Page(site, title)
    try:
        return page, page.get(force=True, get_redirect=True)
    except NoPageError:
        return page, None


def _apply(site, store, settings: Settings, guard: EditGuard, report: PublishReport, *,
           new: list[EntryData], refresh: dict[int, EntryData]) -> None:
    """Read, change, save; repeat until a fresh read shows the page as it should be.

    MediaWiki may merge a conflicting save with diff3, or even drop it ("nochange"
    after a failed merge), so success is judged by reading the page again, not by
    the API's answer: the loop ends when applying the plan to a fresh read
    changes nothing.
    """
    from pywikibot.exceptions import EditConflictError

    title = settings.review_page
    entries = store.review_entries(title)  # oldest first
    listed_ids = [e.version_id for e in entries if e.state == "listed"]
    reviewed = {e.version_id for e in entries if e.state == "reviewed"}
    # a deleted file's card leaves like a retired one (storage.mark_deleted)
    retired = {e.version_id for e in entries if e.state in ("retired", "deleted")}
    new_ids = {d.version_id for d in new}
    cursor_name = PUBLISH_CURSOR.format(page=title)
    removed = _trusted_removals(site, store, settings, report, cursor_name,
                                set(listed_ids) - set(refresh), refresh)
    # what the bot lists (retired entries leave through the archive)
    keep = (set(listed_ids) - set(removed)) | reviewed | retired | new_ids
    archived: set[int] = set()      # taken off by us (and safe in the archive)
    overflowed: set[int] = set()
    queued: set[int] = set()
    saved = False
    for _attempt in range(MAX_ATTEMPTS + 1):
        page, text = _read(site, title)
        exists = text is not None
        if text is not None and page.isRedirectPage():
            report.problems.append(f"[[{title}]] was turned into a redirect (moved?): the bot "
                                   "does not follow it and restores its list here")
            text = None
        review = ReviewPage(text if text is not None else new_page_text(bot_name=site.username()))
        for broken in review.repair():
            report.restored.append(f"entry {broken or '(no id)'}: its template was broken "
                                   "(closing braces deleted); repaired")
        for entry in review.entries():
            if entry.version_id not in keep:  # not the bot's card: an unknown id, or one it took off
                review.remove_node(entry.template)
                report.restored.append(f"entry {entry.version_id}: not listed by the bot; "
                                       "taken off")
        on_page = review.ids()
        chunks = {v: review.remove(v) for v in on_page if v in retired}
        if review.entries() or new:
            review.set_order_note(report.order, settings.threshold)
        for v, data in refresh.items():
            if v in keep and v not in on_page:
                review.add(data, order=report.order)
        room = settings.review_max_entries - len(review.entries())
        adds = [d for d in new if d.version_id not in on_page][:max(room, 0)]
        for data in adds:
            review.add(data, order=report.order)
        refreshed = sum(review.refresh(d, context=False) for v, d in refresh.items() if v in on_page)
        marked = apply_feedback(review, card_feedback(store, review))  # counted=, why=
        answered, waiting = _overflow(review, settings.review_max_entries, listed_ids, reviewed)
        chunks.update({v: review.remove(v) for v in answered})
        for v in waiting:
            review.remove(v)

        new_text = str(review)
        if new_text != (text or ""):  # saving anyway: bring every card's uploader context up to date
            for v, d in refresh.items():
                review.refresh(d)
            new_text = str(review)
        if new_text == (text or "") or (text is None and not exists and not review.entries()):
            break                       # the page says what it should (or needs not exist)
        if saved:
            report.conflicts += 1       # our last save was merged away or dropped
        if _attempt == MAX_ATTEMPTS:
            report.problems.append(f"[[{title}]] kept changing over {MAX_ATTEMPTS} attempts; "
                                   "will try again next run")
            return
        if chunks:
            if not _archive(site, store, settings, guard, report, list(chunks.values())):
                report.problems.append(f"the archive of [[{title}]] kept changing; nothing "
                                       "moved, will try again next run")
                return
            archived.update(chunks)
            overflowed.update(answered)
        queued.update(waiting)
        try:
            report.revid = guard.save(page, new_text, exists=exists,
                                      summary=_summary(added=len(adds), archived=len(chunks),
                                                       refreshed=refreshed))
        except EditConflictError:
            report.conflicts += 1
            saved = False
            continue
        report.refreshed = refreshed
        if settings.simulate:
            # nothing went to the wiki: report the plan, and storage must not believe it
            report.added, report.archived = len(adds), len(chunks)
            report.separate = sum(d.separate for d in adds)
            return
        saved = True

    revid = page.latest_revision_id if exists else None
    if revid:
        latest = page.latest_revision
        store.set_cursor(cursor_name, {"revid": revid,
                                       "timestamp": latest.timestamp.isoformat()})
    now_on_page = review.ids()
    added = new_ids & now_on_page
    report.added = len(added)
    report.separate = sum(d.separate for d in new if d.version_id in added)
    report.archived = len(archived - now_on_page)
    report.removed_by_humans = len(removed)
    report.queued = len(queued - now_on_page)
    for v in sorted(added):
        store.upsert_review_entry(v, page=title, state="listed", revid=revid)
    for v, r in sorted(removed.items()):  # who and when, not only the revision
        store.upsert_review_entry(v, page=title, state="removed", revid=r.revid, removed_by=r.user,
                                  removed_at=datetime.fromisoformat(r.timestamp.replace("Z", "+00:00")))
    for v in sorted(overflowed - now_on_page):
        store.upsert_review_entry(v, page=title, state="retired", revid=revid)
    for v in sorted(queued - now_on_page):
        store.upsert_review_entry(v, page=title, state="queued", revid=revid)


def _trusted_removals(site, store, settings: Settings, report: PublishReport, cursor_name: str,
                      unrenderable: set[int], refresh: dict[int, EntryData]) -> dict[int, Removal]:
    """Listed cards a trusted person took off since the bot's last save: ``id -> removal``.
    Every other missing card is put back (and said so)."""
    page, text = _read(site, settings.review_page)
    if unrenderable:
        report.problems.append(f"entries {sorted(unrenderable)} have no score by this model: "
                               "left as they are")
    if text is None or page.isRedirectPage():
        return {}
    missing = set(refresh) - ReviewPage(text).ids()
    found = removals(page, store.get_cursor(cursor_name) or {}, missing)
    names = {r.user for r in found.values() if r.user}
    groups = {u["name"]: set(u.get("groups", ())) for u in site.users(sorted(names))} \
        if names else {}
    trusted, uploaders = set(settings.trusted_groups), store.uploaders(missing)
    removed = {}
    for v in sorted(missing):
        r = found.get(v)
        who = r.user if r else None
        if r and who and groups.get(who, set()) & trusted and not same_user(who, uploaders.get(v)):
            removed[v] = r
            report.restored.append(f"entry {v}: removed by {who} in revision {r.revid} "
                                   f"({r.timestamp}): recorded")
        else:
            how = f"by {who or 'a hidden user'} in revision {r.revid}" if r else "(not in the history)"
            report.restored.append(f"entry {v}: removed {how}, who may not; put back")
    return removed


def _write_status(site, store, settings: Settings, guard: EditGuard,
                  report: PublishReport) -> None:
    """Put what harvesting queued and what this publish undid or refused on the status
    subpage (:mod:`bot.review.status`); saved only when a line is new there."""
    from pywikibot.exceptions import EditConflictError

    title = settings.review_page
    queued = take_status(store, title)
    lines = queued + report.restored + report.problems
    if not lines:
        return
    page, text = _read(site, status_title(title))
    new_text = status_page_text(text, review_page=title, bot_name=site.username(), lines=lines)
    if new_text != (text or ""):
        try:
            guard.save(page, new_text, exists=text is not None,
                       summary="NSFW review list: what did not count, was put back or "
                               "could not be read")
        except EditConflictError:
            report.problems.append(f"[[{status_title(title)}]] changed while saving: "
                                   "its lines wait for the next publish")
            return
    if not settings.simulate:
        clear_status(store, title, queued)


def _ensure_template(site, guard: EditGuard) -> None:
    """Create ``Template:NSFW review entry`` from the shipped text if the wiki lacks it.

    An existing template is never touched: on Commons people own it.
    """
    page, text = _read(site, f"Template:{ENTRY_TEMPLATE}")
    if text is None:
        guard.save(page, TEMPLATE_FILE.read_text(encoding="utf-8"), exists=False,
                   summary="NSFW review list: the template of one review entry")


def _overflow(review: ReviewPage, limit: int, listed_oldest_first: list[int],
              reviewed: set[int]) -> tuple[list[int], list[int]]:
    """Entries to take off so the page holds at most ``limit``: answered ones (a counted
    verdict) first, to the archive; then open ones, newest first, back to the queue."""
    entries = [e.version_id for e in review.entries() if e.version_id is not None]
    excess = len(entries) - limit
    if excess <= 0:
        return [], []
    age = {v: i for i, v in enumerate(listed_oldest_first)}
    answered = [v for v in entries if v in reviewed][:excess]
    open_ = sorted((v for v in entries if v not in reviewed),
                   key=lambda v: -age.get(v, len(age)))[:excess - len(answered)]
    return answered, open_


def _archive(site, store, settings: Settings, guard: EditGuard, report: PublishReport,
             chunks: list[str]) -> bool:
    """Append entry texts to the current archive subpage (a new one past
    ``review_max_entries`` entries), and read it back.

    :returns: False when the archive changed under every attempt (nothing may leave
        the live page then)
    """
    from pywikibot.exceptions import EditConflictError

    cursor_name = ARCHIVE_CURSOR.format(page=settings.review_page)
    number = (store.get_cursor(cursor_name) or {}).get("number", 1)
    for _attempt in range(MAX_ATTEMPTS + 1):
        archive_title = f"{settings.review_page}/Archive {number}"
        page, text = _read(site, archive_title)
        base = text if text is not None else archive_page_text(settings.review_page)
        new_text, added = append_to_archive(base, chunks)
        if not added:
            break  # all there: saved (and read back) now, or by an interrupted publish
        held = len(parse_entries(base))
        if held and held + len(added) > settings.review_max_entries:
            number += 1
            continue
        try:
            guard.save(page, new_text, exists=text is not None,
                       summary=f"NSFW review list: archiving {len(added)} "
                               f"entr{'y' if len(added) == 1 else 'ies'} from "
                               f"[[{settings.review_page}]]")
        except EditConflictError:
            report.conflicts += 1
            continue
        if settings.simulate:
            break
        # read back on the next turn: a save MediaWiki merged away must not lose entries
    else:
        return False
    if not settings.simulate:
        store.set_cursor(cursor_name, {"number": number})
    return True
