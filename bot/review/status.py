"""The status subpage: what the bot refused, put back or could not read, with links.

``<review page>/Status`` lists, newest first, every refusal, restoration and
unreadable value the bot reported, each line linking its revision
(``[[Special:Diff/REVID|revision REVID]]``). Harvesting never edits the wiki: it
queues its lines in a cursor (:func:`queue_status`) and the next publish writes
them with its own.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["STATUS_CURSOR", "MAX_STATUS_LINES", "status_title", "queue_status", "take_status",
           "clear_status", "status_page_text"]

#: lines harvesting reported and the status subpage does not show yet
STATUS_CURSOR = "review-status:{page}"
#: most lines the status subpage keeps (older ones are in its history)
MAX_STATUS_LINES = 200
_REVISION = re.compile(r"\brevision (\d+)\b")
_LINK = re.compile(r"\[\[Special:Diff/(\d+)\|revision \1\]\]")
_STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC: ")


def status_title(review_page: str) -> str:
    return f"{review_page}/Status"


def queue_status(store, page: str, lines: list[str]) -> None:
    """Keep report lines (harvesting's) for the next publish to put on the status subpage."""
    if not lines:
        return
    name = STATUS_CURSOR.format(page=page)
    pending = (store.get_cursor(name) or {}).get("lines", [])
    stamp = _now()
    store.set_cursor(name, {"lines": (pending + [f"{stamp}: {line}" for line in lines])
                            [-MAX_STATUS_LINES:]})


def take_status(store, page: str) -> list[str]:
    """The queued lines (see :func:`queue_status`), oldest first."""
    return (store.get_cursor(STATUS_CURSOR.format(page=page)) or {}).get("lines", [])


def clear_status(store, page: str, written: list[str]) -> None:
    """Forget the queued lines that reached the status subpage."""
    name = STATUS_CURSOR.format(page=page)
    pending = take_status(store, page)
    store.set_cursor(name, {"lines": [line for line in pending if line not in written]})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _body(line: str) -> str:
    """A status line without its bullet, time stamp and links (for deduplication)."""
    line = _LINK.sub(r"revision \1", line.lstrip("* ").strip())
    return line[_STAMP.match(line).end():] if _STAMP.match(line) else line


def status_page_text(current: str | None, *, review_page: str, bot_name: str,
                     lines: list[str]) -> str:
    """The status subpage with ``lines`` (``"<time>: <text>"``, or bare text stamped now)
    added at the top; a line whose text the page shows already is not repeated.
    Revisions are linked as ``[[Special:Diff/REVID|revision REVID]]``."""
    old = [line for line in (current or "").splitlines() if line.startswith("* ")]
    shown = {_body(line) for line in old}
    stamp = _now()
    new = []
    for line in reversed(lines):
        if not _STAMP.match(line):
            line = f"{stamp}: {line}"
        body = _body(line)
        linked = _REVISION.sub(lambda m: f"[[Special:Diff/{m.group(1)}|revision {m.group(1)}]]",
                               line)
        if body in shown:
            continue
        shown.add(body)
        new.append(f"* {linked}")
    kept = (new + old)[:MAX_STATUS_LINES]
    # no trailing newline: MediaWiki strips it on save, and a text that differed from the page
    # read back only by it was saved again (a null edit, one of the edit rate) at every publish
    return (f"<!-- Maintained by {bot_name}; edits here are overwritten. -->\n"
            f"What the bot did not count, refused, put back or could not read on "
            f"[[{review_page}]], newest first. A verdict counts only from a member of the "
            "trusted groups who is not the file's uploader and who wrote it (a revert "
            f"credits nobody). Questions: [[User talk:{bot_name}]].\n\n" + "\n".join(kept))
