"""The bot's on-wiki configuration: thresholds, categories and opt-outs trusted people set.

Who: only a revision written by the bot's own account or by an interface
administrator (:data:`CONFIG_EDITOR_GROUPS`) is applied. The default page,
``User:<bot>/config.json``, is a user JSON page: MediaWiki itself lets only
that account and interface admins edit it. Should the operator point
``config_page`` at a page others can edit, the history is read and the newest
trusted revision applies; every newer, untrusted revision is reported and never
applied.

Format: a ``.json`` page is the JSON object itself. Any other page holds one
JSON object inside ``<syntaxhighlight lang="json">`` (or ``<pre>``); text around
it is free::

    Settings of the NSFW review bot. Invalid JSON is reported; the last good
    configuration stays in force.
    <syntaxhighlight lang="json">
    {
      "threshold": 0.9,
      "review_max_entries": 150,
      "reviewed_retention_hours": 72,
      "excluded_categories": ["Category:Nude paintings"],
      "separate_categories": ["Anatomy", "Medical images", "Classical art"],
      "opt_out": ["SomeUploader"]
    }
    </syntaxhighlight>

Only the keys of :data:`bot.config.ONWIKI_KEYS` are allowed. Any error (bad
JSON, unknown key, wrong type, value out of range) rejects the whole page: it
is reported and the last good configuration, kept in storage under the cursor
``onwiki-config``, stays in force. Precedence: defaults < ``bot.toml`` < the
page < the command line (or a caller's explicit value): an operator can always
pin a value on the command line. "Pinned" means given explicitly
(:attr:`Settings.pinned`), whatever the value (never compared with the
default); such a page key is reported as not applied.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import mwparserfromhell

from bot.config import ONWIKI_KEYS, Settings

from .order import ORDERS

__all__ = ["OnwikiConfig", "parse_config", "read_onwiki_config", "apply_config", "CURSOR",
           "CONFIG_EDITOR_GROUPS"]

CURSOR = "onwiki-config"
#: besides the bot's own account, the group MediaWiki lets edit other users' JSON pages
CONFIG_EDITOR_GROUPS = frozenset({"interface-admin"})
#: revisions of the config page read back to find the newest trusted one
HISTORY_DEPTH = 50
_BLOCK_TAGS = ("syntaxhighlight", "source", "pre")


@dataclass
class OnwikiConfig:
    """What was read: the values in force, where they came from and what was wrong."""

    values: dict = field(default_factory=dict)
    source: str = "none"  # "page" | "last good" | "none"
    revid: int | None = None
    problems: list[str] = field(default_factory=list)
    #: page keys that did not take effect because they are set locally, with a message
    overridden: list[str] = field(default_factory=list)


def _title(name: str, namespace: str) -> str:
    """A page name without ``namespace:``, spaced and capitalised as MediaWiki does."""
    name = " ".join(str(name).replace("_", " ").split())
    prefix = namespace + ":"
    if name.lower().startswith(prefix):
        name = name[len(prefix):].strip()
    return name[:1].upper() + name[1:]


def _number(key: str, value, *, lo: float, hi: float, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (integer and not isinstance(value, int)):
        raise ValueError(f"{key} must be {'an integer' if integer else 'a number'}, not {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{key} must be between {lo:g} and {hi:g}, not {value!r}")
    return value


def _names(key: str, value, namespace: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of names")
    return tuple(_title(v, namespace) for v in value)


def _vote_rule(key, value):
    if value not in ("majority", "any-k"):
        raise ValueError(f"{key} must be 'majority' or 'any-k', not {value!r}")
    return value


_VALIDATORS = {
    "threshold": lambda k, v: float(_number(k, v, lo=0.0, hi=1.0)),
    "quorum": lambda k, v: float(_number(k, v, lo=0.0, hi=1.0)),
    "vote_k": lambda k, v: _number(k, v, lo=1, hi=1000, integer=True),
    "review_max_entries": lambda k, v: _number(k, v, lo=1, hi=1000, integer=True),
    "reviewed_retention_hours": lambda k, v: float(_number(k, v, lo=0, hi=24 * 365)),
    "vote_rule": _vote_rule,
    "excluded_categories": lambda k, v: _names(k, v, "category"),
    "separate_categories": lambda k, v: _names(k, v, "category"),
    "opt_out": lambda k, v: _names(k, v, "user"),
}
#: keys the review package reads itself (not bot settings, so never pinned in bot.toml)
_REVIEW_VALIDATORS = {
    "review_order": lambda k, v: _choice(k, v, tuple(ORDERS)),   # bot/review/order.py
}


def _choice(key, value, allowed: tuple[str, ...]):
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    return value


def parse_config(text: str) -> dict:
    """The validated values of a config page's text.

    :raises ValueError: with a message for the people who edit the page
    """
    if text.strip().startswith("{"):  # a JSON page (content model json): the object itself
        return _validate(text)
    code = mwparserfromhell.parse(text)
    blocks = [t for t in code.filter_tags(recursive=False)
              if str(t.tag).strip().lower() in _BLOCK_TAGS]
    if len(blocks) != 1:
        raise ValueError(f"expected exactly one <syntaxhighlight lang=\"json\"> or <pre> block, "
                         f"found {len(blocks)}")
    return _validate(str(blocks[0].contents))


def _validate(body: str) -> dict:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError("the JSON must be an object ({...})")
    validators = {**_VALIDATORS, **_REVIEW_VALIDATORS}
    unknown = sorted(set(data) - set(validators))
    if unknown:
        raise ValueError(f"unknown or not allowed key(s): {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(validators))})")
    return {key: validators[key](key, value) for key, value in data.items()}


def read_onwiki_config(site, store, settings: Settings) -> OnwikiConfig:
    """The newest trusted revision of the config page, validated; on any problem the last
    good values stay in force. Untrusted newer revisions are reported, never applied."""
    import pywikibot

    page = pywikibot.Page(site, settings.config_page)
    if not page.exists():
        return _fallback(store, [])
    problems = []
    if page.isRedirectPage():  # a moved config page: the bot reads only its own title
        problems.append(f"[[{settings.config_page}]] is a redirect (was it moved?); "
                        "the bot never follows it")
        return _fallback(store, problems)
    revisions = list(page.revisions(content=True, total=HISTORY_DEPTH))  # newest first
    editors = _config_editors(site, {r.user for r in revisions if r.user})
    trusted = next((r for r in revisions if r.user in editors), None)
    for rev in revisions:
        if trusted is not None and rev.revid <= trusted.revid:
            break
        problems.append(f"[[{settings.config_page}]] revision {rev.revid} by "
                        f"{rev.user or 'a hidden user'} not applied: only the bot's account and "
                        "interface admins may configure the bot")
    if trusted is None:
        return _fallback(store, problems)
    try:
        values = parse_config(trusted.text or "")
    except ValueError as e:
        problems.append(f"[[{settings.config_page}]] revision {trusted.revid} is invalid: {e}")
        return _fallback(store, problems)
    store.set_cursor(CURSOR, {"revid": trusted.revid, "values": {
        k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}})
    return OnwikiConfig(values=values, source="page", revid=trusted.revid, problems=problems)


def _config_editors(site, names: set[str]) -> set[str]:
    """Who of ``names`` may configure the bot: its own account and interface admins."""
    own = site.username()
    editors = {n for n in names if n == own}
    others = sorted(names - editors)
    for start in range(0, len(others), 50):
        for user in site.users(others[start:start + 50]):
            if set(user.get("groups", ())) & CONFIG_EDITOR_GROUPS:
                editors.add(user["name"])
    return editors


def _fallback(store, problems: list[str]) -> OnwikiConfig:
    last = store.get_cursor(CURSOR) or {}
    if last and problems:
        problems = problems[:-1] + [
            f"{problems[-1]}; keeping the configuration of revision {last.get('revid')}"]
    return OnwikiConfig(values=_revive(last.get("values", {})),
                        source="last good" if last else "none",
                        revid=last.get("revid"), problems=problems)


def _revive(values: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def apply_config(settings: Settings, config: OnwikiConfig) -> Settings:
    """``settings`` with the on-wiki values, except the ones pinned locally (the command
    line, a caller; :attr:`Settings.pinned`); those are listed in ``config.overridden``.
    Values from ``bot.toml`` alone give way to the page."""
    wiki = {}
    for key, value in config.values.items():
        if key not in ONWIKI_KEYS:
            continue
        if key in settings.pinned:
            if getattr(settings, key) != value:
                config.overridden.append(f"{key}={value!r} on the config page not applied: "
                                         f"set locally to {getattr(settings, key)!r}")
            continue
        wiki[key] = value
    if not wiki:
        return settings
    # page values do not become "explicit": a later page may change them again
    return dataclasses.replace(settings.replace(**wiki), explicit=settings.explicit,
                               from_file=settings.from_file)


def effective_settings(site, store, settings: Settings, config: OnwikiConfig | None = None,
                       ) -> tuple[Settings, OnwikiConfig]:
    """Settings in force for one publish or harvest, and what the config page said.

    :param config: given, the pass resolved it already and ``settings`` are the resolved
        ones (:meth:`bot.jobs.Bot.resolve_settings`): both are returned as they are
    """
    if config is not None:
        return settings, config
    config = read_onwiki_config(site, store, settings)
    return apply_config(settings, config), config

