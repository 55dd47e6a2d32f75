"""What the bot may write on a wiki (docs/patrollers.md: "the bot never tags, hides, nominates
or deletes a file"; docs/operator.md: "It never tags, hides or deletes anything"): a real run
that flags every upload edits only its review page and creates the entry template when it is
missing; it edits no file page and leaves no log action (delete, protect, upload, move...).
An existing template is never touched (bot/review/publisher.py: on Commons people own it)."""
from __future__ import annotations

import pytest

from .test_cli_wiki import run_bot, upload_distinct_photos

pytestmark = pytest.mark.wiki

REVIEW = "User:CommonsNsfwBot/Review"
TEMPLATE = "Template:NSFW review entry"


def bot_changes(user) -> list[dict]:
    answer = user.api(action="query", list="recentchanges", rcuser="NsfwBot", rclimit=500,
                      rcprop="title|loginfo|ids", rctype="edit|new|log")
    return answer["query"]["recentchanges"]


@pytest.mark.parametrize("template_exists", [False, True], ids=["no-template", "people's-template"])
def test_a_run_that_flags_everything_edits_only_its_own_pages(wiki, bot_env, tmp_path, template_exists):
    titles = upload_distinct_photos(wiki, tmp_path, 2)
    patty = wiki.user("Patty")
    if template_exists:
        patty.edit(TEMPLATE, "{{{id}}} (the community's own version)")
    config = tmp_path / "bot.toml"
    config.write_text("max_edits_per_minute = 600.0\n")
    # threshold 0 flags everything: every card the bot could write is written
    done = run_bot(bot_env, "run", "--threshold", "0", "--data-dir", str(tmp_path / "data"),
                   "--lookback-hours", "1", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    changes = bot_changes(patty)
    assert {c["type"] for c in changes} <= {"edit", "new"}  # no log action of any kind
    expected = {REVIEW} if template_exists else {REVIEW, TEMPLATE}
    assert {c["title"] for c in changes} == expected
    if template_exists:
        assert patty.page_text(TEMPLATE) == "{{{id}}} (the community's own version)"
    for title in titles:  # one revision each: Alice's upload
        page = patty.api(action="query", prop="revisions", titles=title, rvlimit="max",
                         rvprop="user")["query"]["pages"][0]
        assert [r["user"] for r in page["revisions"]] == ["Alice"]
