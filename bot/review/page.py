"""The review page as wikitext: entries rendered, parsed and merged with mwparserfromhell.

Every entry is one call of :data:`ENTRY_TEMPLATE`::

    {{NSFW review entry
    |id=42
    |file=Example.jpg
    ...
    |verdict=
    |comment=
    }}

The parameters in :data:`BOT_PARAMS` belong to the bot and are refreshed on
every publish; every other parameter (``verdict``, ``comment`` and anything a
human adds) belongs to people and is never touched. An entry *owns* the text
that follows it up to the next entry or heading: a signed remark written under
an entry moves (and is archived) with it.

The page has two level-2 sections, :data:`MAIN_SECTION` and
:data:`SEPARATE_SECTION` (files in categories where models are known to fail:
art, anatomy, medicine). New entries go into their section before the first
entry with a lower score, so a page the bot alone writes is sorted by score,
highest first, while an order people chose is left alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

import mwparserfromhell
from mwparserfromhell.nodes import Heading, Template, Text
from mwparserfromhell.wikicode import Wikicode

from .order import DEFAULT_ORDER, order_note, priority

__all__ = [
    "ENTRY_TEMPLATE", "BOT_PARAMS", "VERDICTS", "VERDICT_ALIASES", "MAIN_SECTION",
    "SEPARATE_SECTION", "EntryData", "ParsedEntry", "ReviewPage", "normalize_verdict",
    "render_entry", "new_page_text", "archive_page_text",
]

ENTRY_TEMPLATE = "NSFW review entry"

#: parameters the bot writes and refreshes; all others are human
BOT_PARAMS = ("id", "file", "uploader", "uploaded", "score", "model", "type", "frames", "match",
              "account", "edits", "uploads", "blocked", "answered", "deletion")
#: the uploader context parameters (bot/review/uploaders.py), empty when unknown
CONTEXT_PARAMS = ("account", "edits", "uploads", "blocked", "answered", "deletion")

#: the answers a patroller can give, with what each means (also in docs/patrollers.md)
VERDICTS = {
    "nsfw": "the flag is right: sexual or explicit content. A label only: the file stays "
            "(nudity alone is no reason to delete, COM:NUDE)",
    "sfw": "the flag is wrong: not sexual or explicit (art, medicine, swimwear, sport...)",
    "out-of-scope": "needs a deletion request a human files; the bot never files one",
    "unsure": "needs another opinion; the entry stays on the page",
}
#: other spellings people use; "ok" is deliberately absent: it does not say whether
#: the file is explicit (an explicit file in scope is "ok" too), so it is reported
VERDICT_ALIASES = {
    "safe": "sfw", "not nsfw": "sfw", "false positive": "sfw", "fp": "sfw",
    "explicit": "nsfw", "oos": "out-of-scope", "out of scope": "out-of-scope",
    "delete": "out-of-scope", "?": "unsure",
}

#: where a signature starts in a verdict slot: "--", "~~~" or a user link
_SIGNATURE = re.compile(r"\s*(?:--|—|~~~|\[\[\s*(?:user|user talk)\s*:)", re.IGNORECASE)

#: the opening of an entry, as found in plain text when its closing braces are gone
_OPENING = re.compile(r"\{\{\s*(?:template\s*:\s*)?nsfw[ _]review[ _]entry\s*(?:\||\n|$)",
                      re.IGNORECASE)

#: the bot's line saying which order is in force (bot/review/order.py)
_ORDER_NOTE = re.compile(r'<div class="nsfw-review-order"[^>]*>.*?</div>\n?', re.S)

MAIN_SECTION = "Flagged files"
SEPARATE_SECTION = "Separately listed categories"

#: most evidence frames shown per video or animated image
MAX_FRAMES = 3


def _norm_name(name: str) -> str:
    name = str(name).strip().replace("_", " ")
    if name.lower().startswith("template:"):
        name = name[len("template:"):].strip()
    return name[:1].upper() + name[1:]


def is_entry(template: Template) -> bool:
    return _norm_name(template.name) == ENTRY_TEMPLATE


def normalize_verdict(raw: str) -> tuple[str | None, str | None]:
    """``(verdict, problem)``: an empty slot is ``(None, None)``; an unknown value has a problem.

    Human forms are read: any case, a trailing signature (``sfw --~~~~`` as saved,
    ``[[User:...]]``) and trailing punctuation (``nsfw.``; ``?`` stays: it means unsure).
    """
    value = _SIGNATURE.split(raw, maxsplit=1)[0]
    value = " ".join(value.strip().lower().split()).rstrip(".,;:!").strip()
    if not value:
        return None, None
    if value in VERDICTS:
        return value, None
    if value in VERDICT_ALIASES:
        return VERDICT_ALIASES[value], None
    allowed = ", ".join(VERDICTS)
    if value == "ok":
        return None, f"verdict 'ok' is ambiguous: use sfw or nsfw (allowed: {allowed})"
    return None, f"unknown verdict {raw.strip()!r} (allowed: {allowed})"


@dataclass(frozen=True)
class EntryData:
    """What the bot says about one flagged version.

    :param frames: ``(index, time, score)`` triples of the sampled frames
    :param separate: list it under :data:`SEPARATE_SECTION`
    """

    version_id: int
    title: str
    score: float
    model_id: str
    uploader: str | None = None
    uploaded_at: datetime | None = None
    media_type: str | None = None
    frames: tuple[tuple[int, float | None, float], ...] = ()
    separate: bool = False
    #: uploader context as the card shows it (:meth:`with_context`): ``name -> text``
    context: tuple[tuple[str, str], ...] = ()
    #: the earlier judged or deleted files this version matches (:func:`bot.review.matches.match_wikitext`)
    match: str = ""

    @property
    def file(self) -> str:
        """The file name without namespace, as ``[[File:...]]`` wants it."""
        title = self.title
        for prefix in ("File:", "Image:"):
            if title.startswith(prefix):
                title = title[len(prefix):]
        return title

    @classmethod
    def from_flagged(cls, flagged, *, separate: bool = False) -> EntryData:
        """From a :class:`storage.records.FlaggedVersion`."""
        return cls(version_id=flagged.version_id, title=flagged.title, score=flagged.score,
                   model_id=flagged.model_id, uploader=flagged.uploader,
                   uploaded_at=flagged.uploaded_at, media_type=flagged.media_type,
                   frames=tuple(flagged.frames or ()), separate=separate)

    def params(self) -> dict[str, str]:
        """The bot-owned parameters, as they appear on the page."""
        return {
            "id": str(self.version_id),
            "file": self.file,
            "uploader": self.uploader or "",
            "uploaded": _format_time(self.uploaded_at),
            "score": f"{self.score:.3f}",
            "model": self.model_id,
            # only the kinds that need a second look at their frames are labelled
            "type": {"video": "video", "animated": "animated image"}.get(self.media_type or "", ""),
            "frames": self._frames_wikitext(),
            "match": self.match,
            **{name: "" for name in CONTEXT_PARAMS}, **dict(self.context),
        }

    def with_context(self, uploader, *, deletion: bool, now: datetime) -> EntryData:
        """This entry with its uploader's context (a :class:`bot.review.uploaders.UploaderContext`
        or None) and whether the file has an open deletion request."""
        from dataclasses import replace

        from .uploaders import format_age

        shown = {"deletion": "deletion request open" if deletion else ""}
        if uploader is not None and uploader.exists:
            answered = [f"{uploader.answered_count(v)} {v}" for v in ("nsfw", "out-of-scope")
                        if uploader.answered_count(v)]
            expiry = uploader.block_expiry or ""
            shown.update({
                "account": format_age(uploader.registered, now),
                "edits": "" if uploader.edit_count is None else str(uploader.edit_count),
                "uploads": "" if uploader.uploads is None else
                           f"{uploader.uploads}{'+' if uploader.uploads_capped else ''}",
                "blocked": "" if not uploader.blocked else
                           "blocked" + ("" if expiry in ("", "infinite", "infinity")
                                        else f" until {expiry[:10]}"),
                "answered": ", ".join(answered) or "none",
            })
        return replace(self, context=tuple(shown.items()))

    def _frames_wikitext(self) -> str:
        """The best frames of a video (thumbnails at their times) or an animated image (text)."""
        if self.media_type not in ("video", "animated") or len(self.frames) < 2:
            return ""
        best = sorted(self.frames, key=lambda f: -f[2])[:MAX_FRAMES]
        shown = []
        for index, time, score in sorted(best, key=lambda f: (f[1] is None, f[1] or 0, f[0])):
            when = f"{time:.1f} s" if time is not None else f"frame {index}"
            if self.media_type == "video" and time is not None:
                # thumbtime= is TimedMediaHandler's way to show the frame at a time
                shown.append(f"[[File:{self.file}|80px|thumbtime={time:g}|link=File:{self.file}"
                             f"|{when}]]&nbsp;{when}&nbsp;'''{score:.2f}'''")
            else:
                shown.append(f"{when}&nbsp;'''{score:.2f}'''")
        return "frames: " + " · ".join(shown)


def _format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def render_entry(data: EntryData, *, human: dict[str, str] | None = None) -> Template:
    """A new entry: one parameter a line, with empty ``verdict`` and ``comment`` slots."""
    template = Template(ENTRY_TEMPLATE + "\n")
    for name, value in data.params().items():
        template.add(name, value + "\n", preserve_spacing=False)
    for name, value in {"verdict": "", "comment": "", **(human or {})}.items():
        template.add(name, value + "\n", preserve_spacing=False)
    return template


@dataclass
class ParsedEntry:
    """One entry as found on the page."""

    template: Template
    version_id: int | None
    verdict: str | None
    comment: str
    score: float | None
    problem: str | None

    @property
    def raw_verdict(self) -> str:
        return _param(self.template, "verdict")


def _param(template: Template, name: str) -> str:
    return str(template.get(name).value).strip() if template.has(name) else ""


def parse_entry(template: Template) -> ParsedEntry:
    problems = []
    raw_id = _param(template, "id")
    try:
        version_id = int(raw_id)
    except ValueError:
        version_id = None
        problems.append(f"entry without a valid id ({raw_id!r})" if raw_id else "entry without id")
    try:
        score = float(_param(template, "score"))
    except ValueError:
        score = None
    verdict, problem = normalize_verdict(_param(template, "verdict"))
    if problem:
        problems.append(problem)
    return ParsedEntry(template=template, version_id=version_id, verdict=verdict,
                       comment=_param(template, "comment"), score=score,
                       problem="; ".join(problems) or None)


def parse_entries(text: str) -> list[ParsedEntry]:
    """Every entry on a page (nested ones included), in page order."""
    code = mwparserfromhell.parse(text)
    return [parse_entry(t) for t in code.filter_templates(matches=is_entry)]


def new_page_text(*, bot_name: str) -> str:
    """The skeleton of a review page: an introduction and the two sections."""
    verdicts = ", ".join(f"<code>{v}</code>" for v in VERDICTS)
    return (
        f"<!-- Maintained by {bot_name}. Answer an entry by filling in its |verdict= "
        f"({', '.join(VERDICTS)}) and, if you like, a signed |comment=. The bot keeps every "
        "human edit. -->\n"
        "Files a classifier flagged as possibly sexual or explicit, in the order stated below. "
        "The list is advisory: the bot never tags, hides or deletes a file, and nudity alone "
        "is no reason to delete ([[Commons:Nudity]]). Answer by setting "
        f"<code>verdict=</code> to one of {verdicts} and sign a <code>comment=</code> if "
        "you like. Answered entries leave the page after a few days (to the archive). "
        f"Questions and problems: [[User talk:{bot_name}]].\n\n"
        f"== {MAIN_SECTION} ==\n\n"
        f"== {SEPARATE_SECTION} ==\n"
        "''Files in categories where classifiers often err (art, anatomy, medicine; "
        "set on the bot's config page), listed apart.''\n\n"
    )


def archive_page_text(review_page: str) -> str:
    return (f"Entries moved here from [[{review_page}]]. Answers given here are not read "
            "by the bot; answer on the live page.\n")


class ReviewPage:
    """A review page's wikitext, changed in place the way a careful human editor would."""

    def __init__(self, text: str) -> None:
        self.code: Wikicode = mwparserfromhell.parse(text)
        # id(node) -> (node, version id, score): reading parameters is the slow part
        self._keys: dict[int, tuple[Template, int | None, float | None]] = {}

    def __str__(self) -> str:
        return str(self.code)

    # -- reading -------------------------------------------------------------
    def entries(self) -> list[ParsedEntry]:
        """Entries at the top level of the page, in page order (the ones the bot manages)."""
        return [parse_entry(n) for n in self._entry_nodes()]

    def _key(self, node: Template) -> tuple[int | None, float | None]:
        """``(version id, score)`` of an entry node, parsed once."""
        hit = self._keys.get(id(node))
        if hit is None or hit[0] is not node:
            entry = parse_entry(node)
            hit = self._keys[id(node)] = (node, entry.version_id, entry.score)
        return hit[1], hit[2]

    def _entry_nodes(self) -> list[Template]:
        return [n for n in self.code.nodes if isinstance(n, Template) and is_entry(n)]

    def ids(self) -> set[int]:
        return {v for v, _ in map(self._key, self._entry_nodes()) if v is not None}

    def find(self, version_id: int) -> ParsedEntry | None:
        for node in self._entry_nodes():
            if self._key(node)[0] == version_id:
                return parse_entry(node)
        return None

    def _section(self, title: str) -> Wikicode | None:
        for section in self.code.get_sections(levels=[2]):
            heading = section.nodes[0]
            if isinstance(heading, Heading) and heading.title.strip_code().strip() == title:
                return section
        return None

    # -- writing -------------------------------------------------------------
    def add(self, data: EntryData, *, order: str = DEFAULT_ORDER) -> None:
        """Insert an entry in its section, before the first entry of lower priority
        (:mod:`bot.review.order`; by default: that scores lower)."""
        section = self._section(SEPARATE_SECTION if data.separate else MAIN_SECTION)
        scope = section if section is not None else self.code
        entry = render_entry(data)
        mine = priority(order, data.params())
        # positions by identity: Wikicode.insert_before searches the whole tree for a node
        for i, node in enumerate(scope.nodes):
            if isinstance(node, Template) and is_entry(node):
                theirs = (self._key(node)[1] if order == DEFAULT_ORDER else
                          priority(order, {str(p.name).strip(): str(p.value).strip()
                                           for p in node.params}))
                if theirs is not None and mine is not None and theirs < mine:
                    scope.insert(i, Text("\n"))
                    scope.insert(i, entry)
                    return
        # after everything in the section: its text ends where the next heading starts
        if not str(scope).endswith("\n"):
            scope.append("\n")
        scope.append(entry)
        scope.append("\n")

    def set_order_note(self, order: str, threshold: float | None = None) -> bool:
        """Say, right above the first section's heading, which order (and threshold) is in
        force; True if changed."""
        line = f'<div class="nsfw-review-order" style="font-size:90%; color:#54595d;">' \
               f"{order_note(order, threshold)}</div>\n"
        text = str(self.code)
        found = _ORDER_NOTE.search(text)
        if found:
            if found.group(0) == line:
                return False
            text = text[:found.start()] + line + text[found.end():]
        else:
            heading = re.search(rf"^==\s*{re.escape(MAIN_SECTION)}\s*==[ \t]*\n", text, re.M)
            if heading is None:
                return False
            text = text[:heading.start()] + line + text[heading.start():]
        self.code = mwparserfromhell.parse(text)
        self._keys.clear()
        return True

    def refresh(self, data: EntryData, *, context: bool = True) -> bool:
        """Update the bot-owned parameters of an entry already on the page; True if changed.

        :param context: also the uploader context (:data:`CONTEXT_PARAMS`) of a card that
            shows it already; without it, edit counts and account ages that moved on alone
            never cause an edit (each would conflict with patrollers answering)
        """
        entry = self.find(data.version_id)
        if entry is None:
            return False
        changed = False
        for name, value in data.params().items():
            if not context and name in CONTEXT_PARAMS and entry.template.has(name):
                continue
            current = _param(entry.template, name)
            if current != value:
                if entry.template.has(name):
                    # keep the spacing the line had (one parameter a line, or all on one)
                    raw = str(entry.template.get(name).value)
                    stripped = raw.strip()
                    head = raw[:raw.index(stripped)] if stripped else ""
                    tail = raw[len(head) + len(stripped):] if stripped else raw
                    entry.template.get(name).value = head + value + tail
                else:
                    entry.template.add(name, value + "\n", preserve_spacing=False,
                                       before="verdict" if entry.template.has("verdict") else None)
                changed = True
        self._keys.pop(id(entry.template), None)  # the score may have changed
        return changed

    def repair(self) -> list[str]:
        """Close entries whose ``}}`` was deleted: they parse as plain text, so the card
        would vanish. :returns: the ``id=`` of each entry repaired (as written)"""
        repaired, parts = [], []
        for node in self.code.nodes:
            text = str(node)
            match = _OPENING.search(text) if isinstance(node, Text) else None
            if match:
                fragment = text[match.start():]
                # the entry's parameters are the "|name=value" lines right after its opening
                lines = fragment.split("\n")
                last = max((i for i, line in enumerate(lines) if line.lstrip().startswith("|")),
                           default=0)
                fixed = "\n".join(lines[:last + 1]) + "\n}}"
                rest = "\n".join(lines[last + 1:])
                text = text[:match.start()] + fixed + ("\n" + rest if rest else "\n")
                found = re.search(r"\|\s*id\s*=\s*([^|\n]*)", fixed)
                repaired.append(found.group(1).strip() if found else "")
            parts.append(text)
        if repaired:
            self.code = mwparserfromhell.parse("".join(parts))
            self._keys.clear()
        return repaired

    def remove(self, version_id: int) -> str | None:
        """Take an entry and the text it owns off the page; returns that text, or None."""
        for node in self._entry_nodes():
            if self._key(node)[0] == version_id:
                return self.remove_node(node)
        return None

    def remove_node(self, entry: Template) -> str | None:
        """Take this entry (a top-level node) and the text it owns off the page."""
        nodes = self.code.nodes
        for i, node in enumerate(nodes):
            if node is entry:
                end = i + 1
                while end < len(nodes) and not isinstance(nodes[end], Heading) and not (
                        isinstance(nodes[end], Template) and is_entry(nodes[end])):
                    end += 1
                text = "".join(str(n) for n in nodes[i:end])
                del nodes[i:end]
                return text.strip("\n") + "\n"
        return None


def append_to_archive(archive_text: str, chunks: Iterable[str]) -> tuple[str, list[int]]:
    """Append entry chunks the archive does not hold yet (archiving twice adds nothing).

    :returns: the new text and the version ids appended
    """
    held = {e.version_id for e in parse_entries(archive_text)}
    code = mwparserfromhell.parse(archive_text)
    added = []
    for chunk in chunks:
        ids = [e.version_id for e in parse_entries(chunk)]
        if ids and ids[0] in held:
            continue
        if str(code) and not str(code).endswith("\n"):
            code.append("\n")
        code.append(chunk if chunk.endswith("\n") else chunk + "\n")
        added.extend(i for i in ids[:1] if i is not None)
    return str(code), added
