"""Every wiki write of the review package: :class:`EditGuard.save`, at a bounded edit rate.

1. the stop page is read before each save (:func:`bot.safety.check`): any
   text on it halts all edits until a human blanks it again;
2. edits are spaced to ``settings.max_edits_per_minute`` (Commons bot norm) by
   pywikibot's put throttle (:func:`pace_edits`), the only edit throttle;
3. the edit is flagged as a bot edit, not minor, with a summary;
4. an API error ``blocked``/``autoblocked`` halts the bot (:func:`bot.safety.raise_if_blocked`);
5. with ``settings.simulate`` nothing is written to the wiki: the page text goes
   to :func:`bot.safety.simulate_path` (``data_dir/simulate/<title>.wiki``).
"""
from __future__ import annotations

from pathlib import Path

from bot import safety

__all__ = ["EditGuard", "pace_edits"]


def pace_edits(site, per_minute: float) -> float:
    """Make pywikibot's put throttle, the one edit throttle, space this site's writes at least
    ``60 / per_minute`` seconds apart (or ``put_throttle``, if that is longer).

    The throttle belongs to the site, so the bound holds across every publish of a process
    (``serve``), and pywikibot widens it when several bot processes share its ``throttle.ctrl``.

    :returns: the write delay in seconds
    """
    from pywikibot import config

    if per_minute <= 0:
        raise ValueError("max_edits_per_minute must be positive")
    interval = 60.0 / per_minute
    throttle = site.throttle
    with throttle.lock:
        throttle.maxdelay = max(throttle.maxdelay, interval)  # maxthrottle (60 s) would cap a slower rate
        throttle.writedelay = max(config.put_throttle, interval)
    return throttle.writedelay


class EditGuard:
    """The only way the review package writes to the wiki.

    :param site: a logged-in pywikibot site
    :param settings: :class:`bot.config.Settings` (stop_page, max_edits_per_minute,
        simulate, data_dir)
    """

    def __init__(self, site, settings) -> None:
        self.site = site
        self.settings = settings
        if site is not None:
            pace_edits(site, settings.max_edits_per_minute)
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
        page.text = text  # page.save waits for pywikibot's put throttle (pace_edits)
        try:
            page.save(summary=summary, minor=False, bot=True, apply_cosmetic_changes=False,
                      quiet=True, **({"nocreate": True} if exists else {"createonly": True}))
        except Exception as e:
            safety.raise_if_blocked(e, self.site)
            raise
        self.edits += 1
        return page.latest_revision_id
