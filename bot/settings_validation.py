"""Each bot setting's type, range or choices, checked when settings load (before any wiki or database work).

A bad value is a usage error (exit 2) whose one line names where it came from
(the TOML file or the command line), the key, the value and what is allowed:
``bot.toml: threshold = '0.8' (text): allowed: a number from 0 to 1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["SettingsError", "RULES", "check_values"]


class SettingsError(ValueError):
    """A setting with a value of the wrong type, out of range or not one of the choices."""


@dataclass(frozen=True)
class Rule:
    #: what is allowed, in the operator's words
    allowed: str
    accepts: Callable[[Any], bool]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # TOML's true is no batch size


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def integer(low: int, high: int | None = None, *, optional: bool = False) -> Rule:
    span = f"from {low}" if high is None else f"from {low} to {high}"
    return Rule(f"a whole number {span}" + (" (or unset)" if optional else ""),
                lambda v: (optional and v is None) or (_is_int(v) and v >= low and (high is None or v <= high)))


def number(low: float, high: float | None = None, *, above: bool = False) -> Rule:
    if high is None:
        span = f"above {low:g}" if above else f"from {low:g}"
    else:
        span = f"above {low:g} up to {high:g}" if above else f"from {low:g} to {high:g}"
    return Rule(f"a number {span}", lambda v: _is_number(v) and (v > low if above else v >= low)
                and (high is None or v <= high))


def choice(*choices: str) -> Rule:
    return Rule("one of " + ", ".join(choices), lambda v: v in choices)


def text(*, optional: bool = False) -> Rule:
    return Rule("a non-empty text" + (" (or unset)" if optional else ""),
                lambda v: (optional and v is None) or (isinstance(v, str) and bool(v.strip())))


def texts() -> Rule:
    return Rule("a list of texts", lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v))


def flag() -> Rule:
    return Rule("true or false", lambda v: isinstance(v, bool))


def path() -> Rule:
    import os

    return Rule("a directory path", lambda v: isinstance(v, (str, os.PathLike)) and bool(str(v).strip()))


RULES: dict[str, Rule] = {
    "data_dir": path(),
    "database_url": text(optional=True),
    "model": text(),
    "runtime": choice("auto", "torch-cuda", "torch-cpu", "onnxruntime"),
    "batch_size": integer(1, 4096),
    "threshold": number(0, 1),
    "vote_rule": choice("majority", "any-k"),
    "quorum": number(0, 1, above=True),
    "vote_k": integer(1),
    "frames": integer(1, 1000),
    # the API rounds iiurlwidth up to a standard step; Commons' steps run from 20 to 3840
    "thumb_width": integer(20, 3840),
    "download_concurrency": integer(1, 64),
    "download_timeout": number(0, above=True),
    "max_retry_after_seconds": number(0),
    "max_image_bytes": integer(1),
    "max_video_bytes": integer(1),
    "max_attempts": integer(1),
    "retry_backoff_seconds": integer(0),
    "lookback_hours": number(0),
    "overlap_seconds": integer(0),
    "max_files_per_run": integer(1, optional=True),
    "publish_within_seconds": number(0, above=True),
    "keep_flagged_thumbs": integer(0),
    "poll_interval_seconds": integer(1),
    "publish_interval_seconds": integer(1),
    "harvest_interval_seconds": integer(1),
    "review_page": text(),
    "config_page": text(),
    "stop_page": text(),
    "review_max_entries": integer(1),
    "reviewed_retention_hours": number(0),
    "trusted_groups": texts(),
    "max_edits_per_minute": number(0, above=True),
    "excluded_categories": texts(),
    "separate_categories": texts(),
    "opt_out": texts(),
    "user_agent_description": text(),
    "simulate": flag(),
}

_TYPE_NAMES = {bool: "true/false", int: "whole number", float: "number", str: "text", list: "list",
               dict: "table"}


def check_values(values: dict[str, Any], *, source: str, known: set[str]) -> None:
    """Raise :class:`SettingsError` for the first key of ``values`` that is unknown or not allowed.

    :param source: where the values came from, as the operator names it (a file path, ``command line``)
    """
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(f"{source}: unknown setting(s): {', '.join(unknown)} "
                            "(every key is documented in bot/config.py)")
    for key, value in values.items():
        rule = RULES.get(key)
        if rule is not None and not rule.accepts(value):
            kind = _TYPE_NAMES.get(type(value), type(value).__name__)
            raise SettingsError(f"{source}: {key} = {value!r} ({kind}): allowed: {rule.allowed}")
