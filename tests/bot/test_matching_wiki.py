"""Issue 17 on the real wiki: a sysop answers nsfw; an edited copy uploaded by another account is listed
at a threshold its own score does not reach, and its card names the earlier file and that answer."""
from __future__ import annotations

from PIL import Image

import pytest

from bot.jobs import Bot
from bot.review.page import ReviewPage
from tests.review.test_wiki import set_verdict

pytestmark = pytest.mark.wiki


def edited_copy(source, target) -> None:
    """Cropped 8% a side, resized to 60%, re-encoded at JPEG quality 60."""
    image = Image.open(source).convert("RGB")
    w, h = image.size
    image = image.crop((w * 8 // 100, h * 8 // 100, w - w * 8 // 100, h - h * 8 // 100))
    image.resize((image.width * 3 // 5, image.height * 3 // 5), Image.Resampling.BICUBIC).save(target, quality=60)


def test_an_edited_reupload_of_a_file_answered_nsfw_is_listed_and_named(wiki, site, store, settings, scoring,
                                                                         media_dir, tmp_path):
    settings = settings.replace(review_page="User:NsfwBot/Review", config_page="User:NsfwBot/Config",
                                stop_page="User:NsfwBot/Stop", max_edits_per_minute=6000.0, threshold=0.0)
    alice, sam, mallory = wiki.user("Alice"), wiki.user("Sam"), wiki.user("Mallory")
    alice.upload(media_dir / "chelsea.jpg", "Judged original.jpg")
    alice.upload(media_dir / "coffee.jpg", "Unrelated.jpg")
    scores = {}

    def run(settings):
        bot = Bot(settings, site=site, store=store, scoring=scoring)
        bot.score_pending = lambda **kw: Bot.score_pending(
            bot, on_result=lambda v, r: scores.__setitem__(v.title, r), **kw)
        return bot, bot.run_pass()

    bot, report = run(settings)  # threshold 0: both listed
    page = ReviewPage(sam.page_text(settings.review_page))
    ids = {e.template.get("file").value.strip(): e.version_id for e in page.entries()}
    assert set(ids) == {"Judged original.jpg", "Unrelated.jpg"}
    sam.edit(settings.review_page, set_verdict(sam.page_text(settings.review_page), ids["Judged original.jpg"],
                                               "nsfw", "explicit --Sam"))
    sam.edit(settings.review_page, set_verdict(sam.page_text(settings.review_page), ids["Unrelated.jpg"], "sfw"))
    bot.harvest()

    copy = tmp_path / "copy.jpg"
    edited_copy(media_dir / "chelsea.jpg", copy)
    mallory.upload(copy, "Totally new picture.jpg")
    other = tmp_path / "other-copy.jpg"
    edited_copy(media_dir / "coffee.jpg", other)  # a copy of a file answered sfw: never listed by match
    mallory.upload(other, "Another picture.jpg")
    threshold = 0.99
    bot, report = run(settings.replace(threshold=threshold))
    copy_result = scores["File:Totally new picture.jpg"]
    assert copy_result.ok and copy_result.score < threshold  # its score alone would never list it
    assert report.score.matched == 1
    page = ReviewPage(sam.page_text(settings.review_page))
    listed = {e.template.get("file").value.strip(): e for e in page.entries()}
    assert "Totally new picture.jpg" in listed and "Another picture.jpg" not in listed
    card = str(listed["Totally new picture.jpg"].template.get("match").value)
    assert "[[:File:Judged original.jpg]]" in card and "nsfw" in card and "[[User:Sam|Sam]]" in card
    assert "similarity" in card
    # advisory: nothing was tagged or deleted
    assert not sam.api(action="query", list="logevents", letype="delete")["query"]["logevents"]
