"""What keeps the bot polite and stoppable: stop page, edit rate, block, ``--simulate``.

Every wiki write of the review package goes through :class:`EditGuard.save`:

1. the stop page (``settings.stop_page``) is read; **any text on it** (HTML
   comments and whitespace aside) halts all edits until a human blanks it again;
2. edits are spaced to ``settings.max_edits_per_minute`` (Commons bot norm);
3. the edit is flagged as a bot edit, not minor, with a summary;
4. an API error ``blocked``/``autoblocked`` halts the bot (Commons: a blocked
   bot stops);
5. with ``settings.simulate`` nothing is written to the wiki: the page text goes
   to ``data_dir/simulate/<title>.wiki``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import mwparserfromhell

__all__ = ["Halted", "EditRate", "EditGuard", "account_blocked", "shared_rate",
           "stop_page_says_stop", "simulate_path"]

BLOCK_CODES = frozenset({"blocked", "autoblocked", "blockedfrommail", "globalblocking-blocked",
                         "globalblocked"})


class Halted(RuntimeError):
    """The bot must not edit now (stop page set, account blocked); the reason is the message."""


def stop_page_says_stop(text: str | None) -> bool:
    """The stop-page rule: any text other than whitespace and HTML comments means stop."""
    if not text:
        return False
    code = mwparserfromhell.parse(text)
    for comment in code.filter_comments():
        code.remove(comment)
    return bool(str(code).strip())


def simulate_path(data_dir: str | Path, title: str) -> Path:
    """Where ``--simulate`` puts a page: ``data_dir/simulate/<title, '/' escaped>.wiki``."""
    return Path(data_dir) / "simulate" / f"{quote(title, safe=' :')}.wiki"


def account_blocked(site) -> bool:
    """True when the bot's account is blocked (sitewide).

    Not ``site.is_blocked()``: pywikibot 11 looks for a ``blockinfo`` key, while
    MediaWiki 1.39 answers ``meta=userinfo&uiprop=blockinfo`` with ``blockid``,
    ``blockedby``... at the top level, so pywikibot never sees the block.
    """
    del site.userinfo  # pywikibot caches it: ask the wiki again
    info = site.userinfo
    if "blockinfo" in info:
        return True
    return "blockid" in info and not info.get("blockpartial", False)


class EditRate:
    """Spaces edits at least ``60 / per_minute`` seconds apart (a token per interval)."""

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("max_edits_per_minute must be positive")
        self.interval = 60.0 / per_minute
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> float:
        """Sleep until the next edit is allowed; returns the seconds slept."""
        slept = 0.0
        if self._last is not None:
            slept = max(0.0, self._last + self.interval - self._clock())
            if slept:
                self._sleep(slept)
        self._last = self._clock()
        return slept


_SHARED_RATES: dict[float, EditRate] = {}


def shared_rate(per_minute: float) -> EditRate:
    """One :class:`EditRate` per process and rate: the bound holds across publishes (``serve``)."""
    if per_minute not in _SHARED_RATES:
        _SHARED_RATES[per_minute] = EditRate(per_minute)
    return _SHARED_RATES[per_minute]


class EditGuard:
    """The only way the review package writes to the wiki.

    :param site: a logged-in pywikibot site
    :param settings: :class:`bot.config.Settings` (stop_page, max_edits_per_minute,
        simulate, data_dir)
    """

    def __init__(self, site, settings, *, rate: EditRate | None = None) -> None:
        self.site = site
        self.settings = settings
        self.rate = rate or shared_rate(settings.max_edits_per_minute)
        self.edits = 0
        self.simulated: list[Path] = []

    def halt_reason(self, *, blocks: bool = True) -> str | None:
        """Why no edit may be made now, or None.

        :param blocks: also ask whether the account is blocked (one request; during a
            run a block shows up as the ``blocked`` API error of the next save)
        """
        import pywikibot
        from pywikibot.exceptions import NoPageError

        page = pywikibot.Page(self.site, self.settings.stop_page)
        try:
            text = page.get(force=True, get_redirect=True)
        except NoPageError:
            text = None
        if stop_page_says_stop(text):
            return (f"the stop page [[{self.settings.stop_page}]] is not empty "
                    f"(last edited by {page.latest_revision.user})")
        if blocks and not self.settings.simulate and account_blocked(self.site):
            return f"the account {self.site.username()} is blocked"
        return None

    def check(self, *, blocks: bool = True) -> None:
        reason = self.halt_reason(blocks=blocks)
        if reason:
            raise Halted(reason)

    def save(self, page, text: str, *, summary: str, exists: bool) -> int | None:
        """Save ``text`` to ``page`` (loaded right before, so its base revision is the one read).

        :param exists: the page existed when read: the save must not create it
            (``nocreate``), and a page that did not exist must not be overwritten
            (``createonly``); both turn a concurrent change into an edit conflict
        :returns: the new revision id (None when simulated or nothing changed)
        :raises pywikibot.exceptions.EditConflictError: someone saved in between
        :raises Halted: stop page set or account blocked
        """
        from pywikibot.exceptions import APIError, OtherPageSaveError

        self.check(blocks=False)
        if self.settings.simulate:
            path = simulate_path(self.settings.data_dir, page.title())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.simulated.append(path)
            return None
        self.rate.wait()
        page.text = text
        try:
            page.save(summary=summary, minor=False, bot=True, apply_cosmetic_changes=False,
                      quiet=True, **({"nocreate": True} if exists else {"createonly": True}))
        except (APIError, OtherPageSaveError) as e:
            # Page.save wraps API errors it does not map in OtherPageSaveError
            cause = getattr(e, "reason", e)
            code = getattr(cause, "code", None)
            if code in BLOCK_CODES:
                raise Halted(f"the account {self.site.username()} is blocked ({code})") from e
            raise
        self.edits += 1
        return page.latest_revision_id
