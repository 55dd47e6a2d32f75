"""On-wiki config parsing and the safety rules, without a wiki."""
from __future__ import annotations

import threading

import pytest

from bot.config import ONWIKI_KEYS, Settings
from bot.review.onwiki_config import _VALIDATORS, OnwikiConfig, apply_config, parse_config
from bot.safety import simulate_path, stop_page_says_stop

GOOD = """Settings of the bot. Edit the JSON below.
<syntaxhighlight lang="json">
{"threshold": 0.9, "review_max_entries": 50, "reviewed_retention_hours": 24,
 "excluded_categories": ["Category:Nude_paintings"], "separate_categories": ["anatomy"],
 "opt_out": ["User:Some uploader"]}
</syntaxhighlight>
"""


def test_every_onwiki_key_has_a_validator():
    assert set(_VALIDATORS) == set(ONWIKI_KEYS)


def test_config_page_parses_and_normalizes_names():
    values = parse_config(GOOD)
    assert values == {"threshold": 0.9, "review_max_entries": 50,
                      "reviewed_retention_hours": 24.0,
                      "excluded_categories": ("Nude paintings",),
                      "separate_categories": ("Anatomy",), "opt_out": ("Some uploader",)}
    assert parse_config("<pre>{}</pre>") == {}


@pytest.mark.parametrize("text, message", [
    ("no block at all", "exactly one"),
    ("<pre>{}</pre><pre>{}</pre>", "exactly one"),
    ("<pre>{threshold: 0.9}</pre>", "invalid JSON"),
    ("<pre>[1, 2]</pre>", "object"),
    ('<pre>{"database_url": "sqlite://"}</pre>', "not allowed"),
    ('<pre>{"threshold": 1.5}</pre>', "between 0 and 1"),
    ('<pre>{"threshold": "high"}</pre>', "a number"),
    ('<pre>{"review_max_entries": 2.5}</pre>', "an integer"),
    ('<pre>{"opt_out": "Alice"}</pre>', "list of names"),
    ('<pre>{"vote_rule": "all"}</pre>', "majority"),
])
def test_invalid_config_is_rejected_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_config(text)


def test_local_settings_win_over_the_wiki():
    wiki = OnwikiConfig(values={"threshold": 0.5, "review_max_entries": 20}, source="page")
    local = Settings(threshold=0.95)       # set locally: differs from the default
    applied = apply_config(local, wiki)
    assert applied.threshold == 0.95
    assert applied.review_max_entries == 20


@pytest.mark.parametrize("text, stop", [
    (None, False), ("", False), ("  \n", False), ("<!-- write anything here to stop -->", False),
    ("stop", True), ("<!-- x --> please stop", True),
])
def test_stop_page_rule(text, stop):
    assert stop_page_says_stop(text) is stop


def test_edit_rate_spaces_edits():
    """pywikibot's put throttle is the one edit throttle: max_edits_per_minute sets its write delay
    (at 6 a minute edits are 10 s apart; a slower rate is not capped by maxthrottle)."""
    from types import SimpleNamespace

    from pywikibot import config
    from pywikibot.throttle import Throttle

    from bot.review.edits import pace_edits

    site = SimpleNamespace(throttle=Throttle.__new__(Throttle))
    site.throttle.lock, site.throttle.maxdelay, site.throttle.writedelay = threading.Lock(), 60, 0
    put_throttle, config.put_throttle = config.put_throttle, 0
    try:
        assert pace_edits(site, 6) == pytest.approx(10.0) == site.throttle.writedelay
        assert pace_edits(site, 0.5) == pytest.approx(120.0) and site.throttle.maxdelay >= 120
        with pytest.raises(ValueError):
            pace_edits(site, 0)
    finally:
        config.put_throttle = put_throttle


def test_simulate_path_is_one_file_per_page(tmp_path):
    path = simulate_path(tmp_path, "User:NsfwBot/Review")
    assert path.parent == tmp_path / "simulate"
    assert path.name == "User:NsfwBot%2FReview.wiki"


def test_the_edit_rate_is_shared_by_every_publish_in_a_process():
    """The throttle is the site's: every EditGuard of a process (every publish of ``serve``) paces
    the same one."""
    from types import SimpleNamespace

    from pywikibot.throttle import Throttle

    from bot.review.edits import EditGuard

    site = SimpleNamespace(throttle=Throttle.__new__(Throttle))
    site.throttle.lock, site.throttle.maxdelay, site.throttle.writedelay = threading.Lock(), 60, 0
    settings = Settings(max_edits_per_minute=5.0)
    EditGuard(site, settings)
    EditGuard(site, settings)
    assert site.throttle.writedelay == 12.0