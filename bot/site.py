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
           "WikiUnavailable", "MissingUserConfig", "check_user_config", "wiki_problem",
           "MAX_WIKI_RETRIES", "MAX_WIKI_RETRY_WAIT", "log_to_pywikibot_file"]

BOT_NAME = "commons-nsfw-bot"
_USER_CONFIG_DESCRIPTION: str | None = None

#: pywikibot retries an unanswered API request this often at most under the bot (its default, 15
#: tries with waits up to 120 s, holds a cron run for many minutes; cron tries again anyway)
MAX_WIKI_RETRIES = 2
#: and waits at most this long between two tries (seconds)
MAX_WIKI_RETRY_WAIT = 10


class WikiUnavailable(RuntimeError):
    """The wiki cannot be used right now: unreachable, login failed, account blocked, stop page set."""


class MissingUserConfig(RuntimeError):
    """pywikibot's ``user-config.py`` is not where ``PYWIKIBOT_DIR`` (or ``-dir:``) points."""


def check_user_config() -> None:
    """:raises MissingUserConfig: without it pywikibot quietly talks to test.wikipedia.org"""
    from pathlib import Path

    from pywikibot import config

    import os

    if not (Path(config.base_dir) / "user-config.py").is_file():
        # pywikibot falls back to other directories when PYWIKIBOT_DIR has none: name the one meant
        meant = os.environ.get("PYWIKIBOT_DIR") or config.base_dir
        raise MissingUserConfig(
            f"no pywikibot user-config.py in {meant} (set PYWIKIBOT_DIR or -dir:PATH to the "
            "directory holding user-config.py and user-password.py; see user-config.py.sample)")


def wiki_problem(error: BaseException) -> str:
    """pywikibot's error as one line an operator can act on."""
    from pywikibot import config
    from pywikibot.exceptions import SiteDefinitionError

    if isinstance(error, SiteDefinitionError) and "AutoFamily" in str(error):
        url = getattr(config, "family_files", {}).get(config.family, "the API URL")
        return (f"{url} did not answer as a MediaWiki API (an HTML page or another server?): "
                "check family_files in user-config.py")
    text = " ".join(str(error).split()) or type(error).__name__
    if "Maximum retries attempted" in text:  # pywikibot's TimeoutError names neither the wiki nor the cause
        url = getattr(config, "family_files", {}).get(config.family, f"{config.family}:{config.mylang}")
        return f"{url} did not answer after {config.max_retries + 1} tries"
    return text


class _NoRetryTracebacks:
    """Drops the traceback pywikibot logs at each retry of an unanswered request (``-verbose`` keeps
    it): the short line before it and the bot's final ``wiki unavailable`` line say it all."""

    def filter(self, record) -> bool:
        from pywikibot import config

        return config.verbose_output or not str(record.msg).startswith("Traceback (most recent call last)")


def bot_version() -> str:
    try:
        return metadata.version(BOT_NAME)
    except metadata.PackageNotFoundError:
        return "0.0.0"


class _AsPywikibotRecord:
    """Gives the bot's log records the fields pywikibot's log-file format names."""

    def filter(self, record) -> bool:
        record.caller_file = getattr(record, "caller_file", record.module)
        record.caller_line = getattr(record, "caller_line", record.lineno)
        record.caller_name = getattr(record, "caller_name", record.funcName)
        return True


def log_to_pywikibot_file(logger_name: str = "bot") -> None:
    """With pywikibot's ``-log``, the bot's own lines go to the same file (after ``handle_args``)."""
    import logging

    files = [h for h in logging.getLogger("pywiki").handlers if isinstance(h, logging.FileHandler)]
    ours = logging.getLogger(logger_name)
    for handler in files:
        if handler not in ours.handlers:
            handler.addFilter(_AsPywikibotRecord())
            ours.addHandler(handler)


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
    # an unreachable wiki is exit 5 within about a minute, not after pywikibot's 15 tries
    config.max_retries = min(config.max_retries, MAX_WIKI_RETRIES)
    config.retry_wait = min(config.retry_wait, MAX_WIKI_RETRY_WAIT)
    config.retry_max = min(config.retry_max, MAX_WIKI_RETRY_WAIT)
    import logging

    pywiki = logging.getLogger("pywiki")
    if not any(isinstance(f, _NoRetryTracebacks) for f in pywiki.filters):
        pywiki.addFilter(_NoRetryTracebacks())


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
        raise WikiUnavailable(f"cannot use the wiki: {wiki_problem(e)}") from e
    return site


def user_agent(site=None) -> str:
    """The same agent pywikibot sends, for our own ``requests`` downloads."""
    from pywikibot.comms import http

    return http.user_agent(site)

