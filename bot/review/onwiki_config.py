"""The bot's on-wiki configuration: thresholds, categories and opt-outs patrollers can change.

Format: the config page (``settings.config_page``) holds one JSON object inside
``<syntaxhighlight lang="json">`` (or ``<pre>``); text around it is free::

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
``onwiki-config``, stays in force. A value set locally (``bot.toml``, the
command line, a test), i.e. one that differs from the documented default,
wins over the page: an operator can always pin a value.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import mwparserfromhell

from bot.config import ONWIKI_KEYS, Settings

__all__ = ["OnwikiConfig", "parse_config", "read_onwiki_config", "apply_config", "CURSOR"]

CURSOR = "onwiki-config"
_BLOCK_TAGS = ("syntaxhighlight", "source", "pre")


@dataclass
class OnwikiConfig:
    """What was read: the values in force, where they came from and what was wrong."""

    values: dict = field(default_factory=dict)
    source: str = "none"  # "page" | "last good" | "none"
    revid: int | None = None
    problems: list[str] = field(default_factory=list)


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


def parse_config(text: str) -> dict:
    """The validated values of a config page's text.

    :raises ValueError: with a message for the people who edit the page
    """
    code = mwparserfromhell.parse(text)
    blocks = [t for t in code.filter_tags(recursive=False)
              if str(t.tag).strip().lower() in _BLOCK_TAGS]
    if len(blocks) != 1:
        raise ValueError(f"expected exactly one <syntaxhighlight lang=\"json\"> or <pre> block, "
                         f"found {len(blocks)}")
    body = str(blocks[0].contents)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError("the JSON must be an object ({...})")
    unknown = sorted(set(data) - set(_VALIDATORS))
    if unknown:
        raise ValueError(f"unknown or not allowed key(s): {', '.join(unknown)} "
                         f"(allowed: {', '.join(sorted(_VALIDATORS))})")
    return {key: _VALIDATORS[key](key, value) for key, value in data.items()}


def read_onwiki_config(site, store, settings: Settings) -> OnwikiConfig:
    """Read and validate the config page; on any problem fall back to the last good values."""
    import pywikibot
    from pywikibot.exceptions import NoPageError

    page = pywikibot.Page(site, settings.config_page)
    try:
        text = page.get(force=True, get_redirect=True)
    except NoPageError:
        return OnwikiConfig(source="none")
    revid = page.latest_revision_id
    try:
        values = parse_config(text)
    except ValueError as e:
        last = store.get_cursor(CURSOR) or {}
        problem = f"[[{settings.config_page}]] revision {revid} is invalid: {e}"
        if last:
            problem += f"; keeping the configuration of revision {last.get('revid')}"
        return OnwikiConfig(values=_revive(last.get("values", {})),
                            source="last good" if last else "none",
                            revid=last.get("revid"), problems=[problem])
    store.set_cursor(CURSOR, {"revid": revid, "values": {
        k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}})
    return OnwikiConfig(values=values, source="page", revid=revid)


def _revive(values: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def apply_config(settings: Settings, config: OnwikiConfig) -> Settings:
    """``settings`` with the on-wiki values, except the ones set locally (not at their default)."""
    defaults = Settings()
    wiki = {k: v for k, v in config.values.items()
            if k in ONWIKI_KEYS and getattr(settings, k) == getattr(defaults, k)}
    return settings.replace(**wiki) if wiki else settings


def effective_settings(site, store, settings: Settings) -> tuple[Settings, OnwikiConfig]:
    """Settings in force for one publish or harvest, and what the config page said."""
    config = read_onwiki_config(site, store, settings)
    return apply_config(settings, config), config

