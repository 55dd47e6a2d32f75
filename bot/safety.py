"""When the bot must stand still, and what ``--simulate`` means: the one place for both.

Commons' rules for bots, as this bot applies them in every command:

- **the stop page** (``settings.stop_page``): any text on it other than
  whitespace and HTML comments stops the bot until a human blanks it again;
- **a block**: a blocked account stops the bot, whether the block is seen in
  ``meta=userinfo`` (before a job) or as the API error ``blocked`` of a save;
- **simulate**: our ``--simulate`` and pywikibot's own ``-simulate`` mean the
  same, no wiki writes. Either turns the other on (:func:`resolve_simulate`);
  the review page then goes to :func:`simulate_path`. Simulating changes only
  where writes go: the stop page and a block stop a simulated run too.

Every check raises :class:`Halted` with one of the messages made here, so
operators see the same words from ``run``, ``serve`` and ``review``.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import mwparserfromhell

from .config import Settings
from .site import WikiUnavailable

__all__ = ["Halted", "StopPageSet", "BLOCK_CODES", "stop_page_says_stop", "account_blocked", "stop_reason", "check",
           "blocked_message", "raise_if_blocked", "resolve_simulate", "simulate_path"]

#: API error codes that mean "this account may not edit" (local, auto- and global blocks)
BLOCK_CODES = frozenset({"blocked", "autoblocked", "blockedfrommail", "globalblocking-blocked",
                         "globalblocked"})


class Halted(WikiUnavailable):
    """The bot must not act now: the stop page is set or the account is blocked.

    The message says which (and who set the stop page). A :class:`WikiUnavailable`,
    so commands end with exit code 5 and ``serve`` stops.
    """


class StopPageSet(Halted):
    """The stop page is set: ``run`` ends (exit 5); ``serve`` pauses and looks again at its next job."""


# -- the stop page -----------------------------------------------------------------

def stop_page_says_stop(text: str | None) -> bool:
    """The stop-page rule: any text other than whitespace and HTML comments means stop."""
    if not text:
        return False
    code = mwparserfromhell.parse(text)
    for comment in code.filter_comments():
        code.remove(comment)
    return bool(str(code).strip())


# -- blocks ------------------------------------------------------------------------

def account_blocked(site) -> bool:
    """True when the bot's account is blocked (sitewide); one ``meta=userinfo`` request.

    Not ``site.is_blocked()``: pywikibot 11 looks for a ``blockinfo`` key, while
    MediaWiki 1.39 answers ``meta=userinfo&uiprop=blockinfo`` with ``blockid``,
    ``blockedby``... at the top level, so pywikibot never sees the block.
    """
    del site.userinfo  # pywikibot caches it: ask the wiki again
    info = site.userinfo
    if "blockinfo" in info:
        return True
    return "blockid" in info and not info.get("blockpartial", False)


def blocked_message(account: str | None, code: str | None = None) -> str:
    """The one wording of "blocked": ``the account NAME is blocked (CODE)``."""
    who = f"the account {account}" if account else "the bot's account"
    return f"{who} is blocked" + (f" ({code})" if code else "")


def raise_if_blocked(error: BaseException, site=None) -> None:
    """Turn pywikibot's "you are blocked" API errors into :class:`Halted`; other errors pass.

    ``Page.save`` wraps API errors it does not map in ``OtherPageSaveError``: the
    cause is looked at too.

    :param site: names the account in the message when given
    :raises Halted: ``error`` is an API error with a code of :data:`BLOCK_CODES`
    """
    from pywikibot.exceptions import APIError, OtherPageSaveError

    cause = error.reason if isinstance(error, OtherPageSaveError) else error
    if isinstance(cause, APIError) and cause.code in BLOCK_CODES:
        raise Halted(blocked_message(site.username() if site is not None else None, cause.code)) from error


# -- both, before acting -----------------------------------------------------------

def stop_reason(site, settings: Settings, *, blocks: bool = True) -> str | None:
    """Why the bot must not act now, or None: a non-empty stop page or a blocked account.

    :param site: a logged-in pywikibot site
    :param blocks: also ask whether the account is blocked (one request; while
        editing, a block shows up as the ``blocked`` API error of the next save)
    :raises pywikibot.exceptions.Error: the wiki could not be read
    """
    try:
        check(site, settings, blocks=blocks)
    except Halted as e:
        return str(e)
    return None


def check(site, settings: Settings, *, blocks: bool = True) -> None:
    """:func:`stop_reason` as an exception.

    :raises StopPageSet: the stop page is set
    :raises Halted: the account is blocked
    :raises pywikibot.exceptions.Error: the wiki could not be read
    """
    import pywikibot
    from pywikibot.exceptions import NoPageError

    page = pywikibot.Page(site, settings.stop_page)
    try:
        text = page.get(force=True, get_redirect=True)  # one request: text and its last revision
    except NoPageError:
        text = None
    if stop_page_says_stop(text):
        raise StopPageSet(f"the stop page [[{settings.stop_page}]] is not empty "
                          f"(last edited by {page.latest_revision.user})")
    if blocks and account_blocked(site):
        raise Halted(blocked_message(site.username()))


# -- simulate ----------------------------------------------------------------------

def resolve_simulate(settings: Settings) -> Settings:
    """The one ``--simulate`` rule, applied once per process before the wiki is used.

    pywikibot's ``-simulate`` turns on ``settings.simulate`` (our writes go to
    :func:`simulate_path`); ``settings.simulate`` turns on pywikibot's
    ``config.simulate`` (pywikibot then refuses any write itself).

    :returns: ``settings``, with ``simulate=True`` when either flag was given
    """
    from pywikibot import config

    if config.simulate and not settings.simulate:
        settings = settings.replace(simulate=True)
    if settings.simulate:
        config.simulate = True
    return settings


def simulate_path(data_dir: str | Path, title: str) -> Path:
    """Where a simulated save puts a page: ``data_dir/simulate/<title, '/' escaped>.wiki``."""
    return Path(data_dir) / "simulate" / f"{quote(title, safe=' :')}.wiki"
