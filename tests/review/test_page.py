"""The review page as wikitext: rendering, parsing and merging without losing human text."""
from __future__ import annotations

from datetime import datetime, timezone

import mwparserfromhell
import pytest

from bot.review.page import (BOT_PARAMS, ENTRY_TEMPLATE, MAIN_SECTION, SEPARATE_SECTION,
                             EntryData, ReviewPage, append_to_archive, new_page_text,
                             normalize_verdict, parse_entries)

WHEN = datetime(2026, 11, 20, 12, 30, tzinfo=timezone.utc)


def entry(version_id: int, score: float, **kw) -> EntryData:
    return EntryData(version_id=version_id, title=f"File:Example {version_id}.jpg", score=score,
                     model_id="m@abc", uploader="Alice", uploaded_at=WHEN, **kw)


def page_with(*entries: EntryData) -> ReviewPage:
    page = ReviewPage(new_page_text(bot_name="NsfwBot"))
    for e in entries:
        page.add(e)
    return page


def ids(page: ReviewPage) -> list[int]:
    return [e.version_id for e in page.entries()]


def section_ids(page: ReviewPage, title: str) -> list[int]:
    code = mwparserfromhell.parse(str(page))
    section = code.get_sections(matches=title)[0]
    return [int(str(t.get("id").value)) for t in section.filter_templates()]


def test_entry_renders_every_field_one_per_line():
    text = str(page_with(entry(7, 0.9876)))
    template = mwparserfromhell.parse(text).filter_templates()[0]
    assert template.name.strip() == ENTRY_TEMPLATE
    assert [str(p.name) for p in template.params] == [*BOT_PARAMS, "verdict", "comment"]
    values = {str(p.name): str(p.value).strip() for p in template.params}
    assert values["id"] == "7"
    assert values["file"] == "Example 7.jpg"          # no namespace: [[File:{{{file}}}]]
    assert values["score"] == "0.988"
    assert values["uploaded"] == "2026-11-20 12:30 UTC"
    assert values["model"] == "m@abc"
    assert values["verdict"] == values["comment"] == ""
    assert "|verdict=\n|comment=\n}}" in text


def test_highest_score_first_and_separate_section():
    page = page_with(entry(1, 0.85), entry(2, 0.99), entry(3, 0.9),
                     entry(4, 0.95, separate=True), entry(5, 0.97, separate=True))
    assert section_ids(page, MAIN_SECTION) == [2, 3, 1]
    assert section_ids(page, SEPARATE_SECTION) == [5, 4]


def test_video_evidence_frames_with_times_and_thumbnails():
    video = EntryData(version_id=9, title="File:Clip.webm", score=0.97, model_id="m",
                      media_type="video",
                      frames=((0, 0.0, 0.1), (1, 2.5, 0.97), (2, 5.0, 0.2), (3, 7.5, 0.9),
                              (4, 10.0, 0.95)))
    frames = video.params()["frames"]
    # the three best frames, in time order, each a thumbnail at its time
    assert frames.count("thumbtime=") == 3
    assert frames.index("thumbtime=2.5") < frames.index("thumbtime=7.5") < \
        frames.index("thumbtime=10")
    assert "'''0.97'''" in frames and "0.1" not in frames
    animated = EntryData(version_id=10, title="File:Loop.gif", score=0.9, model_id="m",
                         media_type="animated", frames=((3, 0.4, 0.9), (7, 0.8, 0.3)))
    assert "0.4 s" in animated.params()["frames"] and "thumbtime" not in \
        animated.params()["frames"]
    still = entry(11, 0.9, media_type="still", frames=((0, None, 0.9),))
    assert still.params()["frames"] == ""


@pytest.mark.parametrize("raw, verdict, problem", [
    ("", None, False), ("  ", None, False), ("nsfw", "nsfw", False), ("NSFW ", "nsfw", False),
    ("sfw", "sfw", False), ("Out-of-scope", "out-of-scope", False), ("oos", "out-of-scope", False),
    ("unsure", "unsure", False), ("?", "unsure", False), ("ok", None, True),
    ("delete it now", None, True), ("yes please", None, True),
])
def test_verdict_values(raw, verdict, problem):
    got, why = normalize_verdict(raw)
    assert got == verdict
    assert bool(why) == problem


def test_refresh_changes_only_bot_parameters():
    page = page_with(entry(1, 0.9))
    text = str(page).replace("|verdict=\n", "|verdict=sfw\n").replace(
        "|comment=\n", "|comment=a statue --~~~~\n|note=see talk\n")
    page = ReviewPage(text)
    assert page.refresh(entry(1, 0.93))
    assert not page.refresh(entry(1, 0.93))
    got = page.find(1)
    assert got.score == 0.93 and got.verdict == "sfw" and got.comment == "a statue --~~~~"
    assert "|note=see talk\n" in str(page)


def test_refresh_keeps_a_one_line_entry_on_one_line():
    page = ReviewPage("{{NSFW review entry|id=1|file=Example 1.jpg|score=0.5|verdict=nsfw}}\n")
    page.refresh(entry(1, 0.9))
    text = str(page)
    assert text.startswith("{{NSFW review entry|id=1|file=Example 1.jpg|score=0.900|")
    assert "|verdict=nsfw" in text


def test_new_entries_respect_a_human_order():
    page = page_with(entry(1, 0.9), entry(2, 0.8), entry(3, 0.7))
    # a patroller moves the lowest entry to the top
    chunk = page.remove(3)
    text = str(page).replace(f"== {MAIN_SECTION} ==\n\n", f"== {MAIN_SECTION} ==\n\n{chunk}", 1)
    page = ReviewPage(text)
    assert ids(page) == [3, 1, 2]
    page.add(entry(4, 0.85))
    page.add(entry(5, 0.5))
    # new entries go before the first entry scoring lower; the bot never re-sorts
    assert ids(page) == [4, 3, 1, 2, 5]


def test_remove_takes_the_text_an_entry_owns_and_nothing_else():
    page = page_with(entry(1, 0.9), entry(2, 0.8))
    text = str(page).replace("}}\n{{NSFW", "}}\n:Looks like art to me. --Patty\n{{NSFW", 1)
    text += "\n== Talk ==\nA human section.\n"
    page = ReviewPage(text)
    chunk = page.remove(1)
    assert "Looks like art to me" in chunk and "|id=1" in chunk
    assert "Looks like art" not in str(page)
    chunk2 = page.remove(2)
    assert "A human section" not in chunk2 and "== Talk ==\nA human section.\n" in str(page)
    assert page.remove(2) is None


def test_parse_reports_malformed_entries_without_failing():
    text = ("{{NSFW review entry|id=x|verdict=nsfw}}\n{{NSFW review entry|verdict=sfw}}\n"
            "{{nSFW_review_entry|id=3|verdict=maybe}}\n"
            "{{Template:NSFW review entry|id=4|verdict=sfw}}\n"
            "{{Other template|id=5}}\n")
    entries = parse_entries(text)
    assert [e.version_id for e in entries] == [None, None, 3, 4]
    assert [bool(e.problem) for e in entries] == [True, True, True, False]
    assert "unknown verdict 'maybe'" in entries[2].problem


def test_archive_is_idempotent():
    page = page_with(entry(1, 0.9), entry(2, 0.8))
    chunks = [page.remove(1), page.remove(2)]
    text, added = append_to_archive("Archive header.\n", chunks)
    assert added == [1, 2]
    again, added_again = append_to_archive(text, chunks)
    assert again == text and added_again == []
    assert [e.version_id for e in parse_entries(text)] == [1, 2]


@pytest.mark.parametrize("raw, verdict", [
    ("sfw --~~~~", "sfw"), ("nsfw.", "nsfw"), ("NSFW", "nsfw"), ("Sfw!", "sfw"),
    ("sfw --[[User:Patty|Patty]] 12:00, 1 December 2026 (UTC)", "sfw"),
    ("nsfw [[User:Patty|Patty]]", "nsfw"), ("?", "unsure"), ("Out of scope.", "out-of-scope"),
])
def test_human_forms_of_a_verdict_are_read(raw, verdict):
    from bot.review.page import normalize_verdict

    assert normalize_verdict(raw) == (verdict, None)


def test_uploader_order_weighs_signals_but_not_account_age():
    now = WHEN
    blocked = type("U", (), dict(exists=True, registered=None, edit_count=5, uploads=1,
                                 uploads_capped=False, blocked=True, block_expiry="infinite",
                                 answered_count=lambda self, v: 0))()
    newcomer = type("U", (), dict(exists=True, registered=now, edit_count=1, uploads=1,
                                  uploads_capped=False, blocked=False, block_expiry=None,
                                  answered_count=lambda self, v: 0))()
    plain = entry(1, 0.95)
    flagged = entry(2, 0.88).with_context(blocked, deletion=False, now=now)
    new_user = entry(3, 0.90).with_context(newcomer, deletion=False, now=now)
    discussed = entry(4, 0.80).with_context(None, deletion=True, now=now)

    by_score = ReviewPage(new_page_text(bot_name="NsfwBot"))
    by_uploader = ReviewPage(new_page_text(bot_name="NsfwBot"))
    for e in (plain, flagged, new_user, discussed):
        by_score.add(e)
        by_uploader.add(e, order="score-and-uploader")
    assert ids(by_score) == [1, 3, 2, 4]
    # blocked: 0.88 + 0.1 > 0.95; a deletion request: 0.80 + 0.1 < 0.90; an account a day
    # old is no signal (it would push every newcomer up)
    assert ids(by_uploader) == [2, 1, 3, 4]


def test_the_page_says_which_order_is_in_force():
    page = page_with(entry(1, 0.9))
    assert page.set_order_note("score") and not page.set_order_note("score")
    text = str(page)
    assert "Order in force: highest score first" in text
    assert text.index("Order in force") < text.index(f"== {MAIN_SECTION} ==")
    assert page.set_order_note("score-and-uploader")
    assert str(page).count("Order in force") == 1 and "uploader signal" in str(page)
    assert ids(page) == [1]
