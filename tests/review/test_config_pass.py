"""One configuration in force per pass: the trusted on-wiki page reaches scoring, flags, kept
thumbnails, every stored score and the review page (real MediaWiki, real classifier)."""
from __future__ import annotations

import dataclasses

import pytest

from bot.config import Settings, load_settings
from bot.jobs import Bot
from bot.localwiki.demo import photo
from bot.review.onwiki_config import OnwikiConfig, apply_config

from .test_wiki import entry_ids

pytestmark = pytest.mark.wiki


@pytest.fixture(scope="module")
def scoring():
    """The real default classifier, voting as the defaults say (threshold 0.8, majority)."""
    from bot.pipeline import build_scoring

    return build_scoring(Settings(frames=4))


def test_the_pages_threshold_and_rule_drive_scoring_flags_thumbs_and_the_page(
        site, store, settings, wiki, scoring, tmp_path):
    photo("coffee").save(tmp_path / "coffee.jpg")
    wiki.user("Alice").upload(tmp_path / "coffee.jpg", "Coffee sample.jpg")
    owner = wiki.user("NsfwBot")
    owner.edit(settings.config_page,
               '<pre>{"threshold": 0.0, "vote_rule": "any-k", "vote_k": 2}</pre>')
    settings = dataclasses.replace(settings, lookback_hours=1, frames=4)
    bot = Bot(settings, site=site, store=store, scoring=scoring)
    report = bot.run_pass()
    assert report.score.scored == 1 and report.score.flagged == 1   # 0.8 would flag nothing
    got = store.latest_scores(scoring.model_id, ["File:Coffee sample.jpg"])["File:Coffee sample.jpg"]
    assert got.score < 0.8 and got.flagged
    assert (got.threshold, got.vote_rule) == (0.0, "any-k k=2")
    assert list((settings.data_dir / "thumbs").iterdir())              # kept as flagged
    text = owner.page_text(settings.review_page)
    assert len(entry_ids(text)) == 1
    assert "files scoring at least <b>0.00</b> (threshold in force)" in text
    assert scoring.pipeline.voting.threshold == 0.8   # the shared pipeline is never changed

    # the page's keys gone: the next pass is back to the local values
    owner.edit(settings.config_page, "<pre>{}</pre>")
    photo("rocket").save(tmp_path / "rocket.jpg")
    wiki.user("Alice").upload(tmp_path / "rocket.jpg", "Rocket sample.jpg")
    bot.run_pass()
    rocket = store.latest_scores(scoring.model_id, ["File:Rocket sample.jpg"])["File:Rocket sample.jpg"]
    assert (rocket.threshold, rocket.vote_rule) == (0.8, "majority q=0.5")
    assert rocket.flagged == (rocket.score >= 0.8)


def test_precedence_defaults_toml_page_command_line(tmp_path):
    toml = tmp_path / "bot.toml"
    toml.write_text("threshold = 0.9\nquorum = 0.6\n")
    page = OnwikiConfig(values={"threshold": 0.95, "quorum": 0.7, "vote_k": 3}, source="page")
    # bot.toml < page: the page's threshold wins over the file's
    resolved = apply_config(load_settings(toml), page)
    assert (resolved.threshold, resolved.quorum, resolved.vote_k) == (0.95, 0.7, 3)
    assert page.overridden == []
    # page < command line, even at the default value (never compared with the default)
    page = OnwikiConfig(values={"threshold": 0.95, "quorum": 0.7}, source="page")
    resolved = apply_config(load_settings(toml, threshold=0.8), page)
    assert (resolved.threshold, resolved.quorum) == (0.8, 0.7)
    assert [n.split(" on ")[0] for n in page.overridden] == ["threshold=0.95"]
