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
in storage (highest score first) until answered entries retire. An entry a
human deleted from the page is marked ``removed`` in storage and never put
back; one that comes back (a reverted blanking) is in the queue again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.metadata import batch_size, chunks
from bot.safety import Halted

from .edits import EditGuard
from .onwiki_config import effective_settings
from .page import (ENTRY_TEMPLATE, EntryData, ReviewPage, append_to_archive, archive_page_text,
                   new_page_text, parse_entries)

__all__ = ["PublishReport", "publish_review", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 5
ARCHIVE_CURSOR = "review-archive:{page}"
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
    problems: list[str] = field(default_factory=list)

    def format(self) -> str:
        """One line for logs and the CLI."""
        if self.halted:
            return f"review page [[{self.page}]]: halted: {self.halted}"
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
                   ) -> PublishReport:
    """Put flagged, unjudged versions on ``settings.review_page``; see the module docstring.

    :param site: a logged-in pywikibot site
    :param store: a :class:`storage.Store`
    :param model_id: whose scores to list; None: the model that scored last
    """
    title = settings.review_page
    report = PublishReport(page=title)
    settings, config = effective_settings(site, store, settings)
    report.config_source = config.source
    report.problems += config.problems
    guard = EditGuard(site, settings)
    try:
        guard.check()
    except Halted as e:
        report.halted = str(e)
        return report

    model_id = model_id or store.status().model_id
    if model_id is None:
        report.problems.append("nothing scored yet: no model id")
        return report
    new, refresh = _plan(site, store, settings, model_id, report)
    try:
        if new:
            _ensure_template(site, guard)
        _apply(site, store, settings, guard, report, new=new, refresh=refresh)
    except Halted as e:
        report.halted = str(e)
    report.edits = guard.edits
    report.simulated = guard.simulated
    return report


def _plan(site, store, settings: Settings, model_id: str,
          report: PublishReport) -> tuple[list[EntryData], dict[int, EntryData]]:
    """Entries to add (not on the page yet) and fresh data for entries already listed."""
    flagged = store.flagged_for_review(model_id, threshold=settings.threshold,
                                       limit=settings.review_max_entries, page=settings.review_page)
    categories = _categories(site, sorted({f.title for f in flagged}))
    opt_out = {u.replace("_", " ") for u in settings.opt_out}
    excluded, separate = set(settings.excluded_categories), set(settings.separate_categories)
    new, refresh = [], {}
    for f in flagged:
        cats = categories.get(f.title, set())
        if f.uploader and f.uploader in opt_out:
            report.skipped_opt_out += 1
            continue
        if cats & excluded:
            report.skipped_excluded += 1
            continue
        data = EntryData.from_flagged(f, separate=bool(cats & separate))
        if f.review_state == "listed":
            refresh[f.version_id] = data
        elif f.review_state is None:
            new.append(data)
    return new, refresh


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
    retired = {e.version_id for e in entries if e.state == "retired"}
    removed = {e.version_id for e in entries if e.state == "removed"}
    new_ids = {d.version_id for d in new}
    archived: set[int] = set()      # taken off by us (and safe in the archive)
    overflowed: set[int] = set()
    saved = False
    for _attempt in range(MAX_ATTEMPTS + 1):
        page, text = _read(site, title)
        review = ReviewPage(text if text is not None else new_page_text(bot_name=site.username()))
        on_page = review.ids()
        chunks = {v: review.remove(v) for v in on_page if v in retired}
        room = settings.review_max_entries - len(review.entries())
        adds = [d for d in new if d.version_id not in on_page][:max(room, 0)]
        for data in adds:
            review.add(data)
        refreshed = sum(review.refresh(d) for v, d in refresh.items() if v in on_page)
        overflow = _overflow(review, settings.review_max_entries, listed_ids)
        chunks.update({v: review.remove(v) for v in overflow})

        new_text = str(review)
        if new_text == (text or "") or (text is None and not review.entries()):
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
            overflowed.update(overflow)
        try:
            report.revid = guard.save(page, new_text, exists=text is not None,
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

    revid = page.latest_revision_id if text is not None else None
    now_on_page = review.ids()
    added = new_ids & now_on_page
    gone = [v for v in listed_ids if v not in now_on_page and v not in archived]
    report.added = len(added)
    report.separate = sum(d.separate for d in new if d.version_id in added)
    report.archived = len(archived - now_on_page)
    report.removed_by_humans = len(gone)
    for v in sorted(added):
        store.upsert_review_entry(v, page=title, state="listed", revid=revid)
    for v in gone:
        store.upsert_review_entry(v, page=title, state="removed", revid=revid)
    for v in sorted(overflowed - now_on_page):
        store.upsert_review_entry(v, page=title, state="retired", revid=revid)
    # back on the page (a blanking reverted, an entry restored): in the queue again
    for v in sorted(removed & now_on_page):
        store.upsert_review_entry(v, page=title, state="listed", revid=revid)


def _ensure_template(site, guard: EditGuard) -> None:
    """Create ``Template:NSFW review entry`` from the shipped text if the wiki lacks it.

    An existing template is never touched: on Commons people own it.
    """
    page, text = _read(site, f"Template:{ENTRY_TEMPLATE}")
    if text is None:
        guard.save(page, TEMPLATE_FILE.read_text(encoding="utf-8"), exists=False,
                   summary="NSFW review list: the template of one review entry")


def _overflow(review: ReviewPage, limit: int, listed_oldest_first: list[int]) -> list[int]:
    """Entries to archive so the page holds at most ``limit``: answered ones first, then oldest."""
    entries = review.entries()
    excess = len(entries) - limit
    if excess <= 0:
        return []
    age = {v: i for i, v in enumerate(listed_oldest_first)}
    ranked = sorted((e for e in entries if e.version_id is not None),
                    key=lambda e: (e.verdict is None, age.get(e.version_id, len(age))))
    return [e.version_id for e in ranked[:excess]]


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
