"""The wiki, the pywikibot way: site and account from ``user-config.py`` via ``PYWIKIBOT_DIR``.

Only one thing is ours: a User-Agent that names this bot (under
``python -m bot`` pywikibot's ``{script}`` would be ``__main__``, which
Wikimedia's policy treats as a generic agent). When the bot must stand still
(stop page, block) and what ``--simulate`` means is :mod:`bot.safety`.
"""
from __future__ import annotations

from importlib import metadata

from .config import Settings

__all__ = ["BOT_NAME", "bot_version", "configure_pywikibot", "open_site", "user_agent",
           "WikiUnavailable"]

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
    """Make pywikibot's agent ``commons-nsfw-bot/<version> (<description>; <user page>) Pywikibot/...``."""
    from pywikibot import config

    global _USER_CONFIG_DESCRIPTION
    if _USER_CONFIG_DESCRIPTION is None:  # what user-config.py said (the operator's contact)
        _USER_CONFIG_DESCRIPTION = config.user_agent_description or ""
    parts = [_USER_CONFIG_DESCRIPTION, settings.user_agent_description]
    # "commons-nsfw-bot" alone repeats the product name: only real descriptions go in the comment
    config.user_agent_description = "; ".join(p for p in parts if p and p != BOT_NAME) or None
    config.user_agent_format = (f"{BOT_NAME}/{bot_version()} ({{script_comments}}) {{pwb}} "
                                "({revision}) {python} {http_backend}")


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

