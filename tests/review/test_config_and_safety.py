"""On-wiki config parsing and the safety rules, without a wiki."""
from __future__ import annotations

import pytest

from bot.config import ONWIKI_KEYS, Settings
from bot.review.onwiki_config import _VALIDATORS, OnwikiConfig, apply_config, parse_config
from bot.review.edits import EditRate
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
    now, slept = [100.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    rate = EditRate(6, clock=lambda: now[0], sleep=sleep)
    rate.wait()                      # the first edit goes at once
    now[0] += 4
    rate.wait()                      # 10 s apart at 6 a minute
    now[0] += 30
    rate.wait()                      # long enough already
    assert slept == [pytest.approx(6.0)]
    with pytest.raises(ValueError):
        EditRate(0)


def test_simulate_path_is_one_file_per_page(tmp_path):
    path = simulate_path(tmp_path, "User:NsfwBot/Review")
    assert path.parent == tmp_path / "simulate"
    assert path.name == "User:NsfwBot%2FReview.wiki"


def test_the_edit_rate_is_shared_by_every_publish_in_a_process():
    from bot.review.edits import EditGuard, shared_rate

    settings = Settings(max_edits_per_minute=5.0)
    assert EditGuard(None, settings).rate is EditGuard(None, settings).rate is shared_rate(5.0)
    assert shared_rate(5.0).interval == 12.0
