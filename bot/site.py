"""The wiki, the pywikibot way: site and account from ``user-config.py`` via ``PYWIKIBOT_DIR``.

Only two things are ours: a User-Agent that names this bot (under
``python -m bot`` pywikibot's ``{script}`` would be ``__main__``, which
Wikimedia's policy treats as a generic agent) and the checks that make the bot
stand still when it must (blocked account, stop page).
"""
from __future__ import annotations

from importlib import metadata

from .config import Settings

__all__ = ["BOT_NAME", "bot_version", "configure_pywikibot", "open_site", "user_agent",
           "WikiUnavailable", "stop_reason"]

BOT_NAME = "commons-nsfw-bot"
_USER_CONFIG_DESCRIPTION: str | None = None


class WikiUnavailable(RuntimeError):
    """The wiki cannot be used right now: unreachable, login failed, account blocked, stop page set."""


def bot_version() -> str:
    try:
        return metadata.version(BOT_NAME)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def configure_pywikibot(settings: Settings) -> None:
    """Make pywikibot's agent ``commons-nsfw-bot/<version> (<description>; <user page>) Pywikibot/...``
    and apply ``--simulate`` (pywikibot then blocks every write itself)."""
    from pywikibot import config

    global _USER_CONFIG_DESCRIPTION
    if _USER_CONFIG_DESCRIPTION is None:  # what user-config.py said (the operator's contact)
        _USER_CONFIG_DESCRIPTION = config.user_agent_description or ""
    parts = [_USER_CONFIG_DESCRIPTION, settings.user_agent_description]
    # "commons-nsfw-bot" alone repeats the product name: only real descriptions go in the comment
    config.user_agent_description = "; ".join(p for p in parts if p and p != BOT_NAME) or None
    config.user_agent_format = (f"{BOT_NAME}/{bot_version()} ({{script_comments}}) {{pwb}} "
                                "({revision}) {python} {http_backend}")
    if settings.simulate:
        config.simulate = True


def open_site(settings: Settings, *, site=None, login: bool = True):
    """The configured site (or ``site``, injected by tests), logged in.

    :raises WikiUnavailable: when the wiki does not answer or the login fails
    """
    import pywikibot
    from pywikibot.exceptions import Error as PywikibotError

    configure_pywikibot(settings)
    try:
        site = site or pywikibot.Site()
        if login:
            site.login()
    except (PywikibotError, OSError) as e:
        raise WikiUnavailable(f"cannot use the wiki: {e}") from e
    return site


def user_agent(site=None) -> str:
    """The same agent pywikibot sends, for our own ``requests`` downloads."""
    from pywikibot.comms import http

    return http.user_agent(site)


def stop_reason(site, settings: Settings) -> str | None:
    """Why the bot must not act now, or None: a blocked account or a non-empty stop page.

    Any text on ``settings.stop_page`` other than whitespace and HTML comments
    stops the bot (blank the page to let it run again), the custom for report
    bots on Commons; the rule is the review page's (:mod:`bot.review.safety`).
    """
    import pywikibot

    from .review.safety import account_blocked, stop_page_says_stop

    if account_blocked(site):  # not site.is_blocked(): it misses blocks on MediaWiki 1.39
        return f"the account {site.username()} is blocked"
    # one request: ``text`` is '' for a page that does not exist
    if stop_page_says_stop(pywikibot.Page(site, settings.stop_page).text):
        return f"the stop page [[{settings.stop_page}]] is not empty"
    return None
