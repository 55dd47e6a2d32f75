"""Every wiki write of the review package: :class:`EditGuard.save`, at a bounded edit rate.

1. the stop page is read before each save (:func:`bot.safety.check`): any
   text on it halts all edits until a human blanks it again;
2. edits are spaced to ``settings.max_edits_per_minute`` (Commons bot norm);
3. the edit is flagged as a bot edit, not minor, with a summary;
4. an API error ``blocked``/``autoblocked`` halts the bot (:func:`bot.safety.raise_if_blocked`);
5. with ``settings.simulate`` nothing is written to the wiki: the page text goes
   to :func:`bot.safety.simulate_path` (``data_dir/simulate/<title>.wiki``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from bot import safety

__all__ = ["EditRate", "EditGuard", "shared_rate"]


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

    def check(self, *, blocks: bool = True) -> None:
        """:raises bot.safety.Halted: stop page set (or, with ``blocks``, account blocked)"""
        safety.check(self.site, self.settings, blocks=blocks)

    def save(self, page, text: str, *, summary: str, exists: bool) -> int | None:
        """Save ``text`` to ``page`` (loaded right before, so its base revision is the one read).

        :param exists: the page existed when read: the save must not create it
            (``nocreate``), and a page that did not exist must not be overwritten
            (``createonly``); both turn a concurrent change into an edit conflict
        :returns: the new revision id (None when simulated or nothing changed)
        :raises pywikibot.exceptions.EditConflictError: someone saved in between
        :raises bot.safety.Halted: stop page set or account blocked
        """
        self.check(blocks=False)
        if self.settings.simulate:
            path = safety.simulate_path(self.settings.data_dir, page.title())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.simulated.append(path)
            return None
        self.rate.wait()
        page.text = text
        try:
            page.save(summary=summary, minor=False, bot=True, apply_cosmetic_changes=False,
                      quiet=True, **({"nocreate": True} if exists else {"createonly": True}))
        except Exception as e:
            safety.raise_if_blocked(e, self.site)
            raise
        self.edits += 1
        return page.latest_revision_id
