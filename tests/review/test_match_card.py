"""The match line of a card names the earlier file, its answer or deletion log, and how close the match is."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.review.matches import MAX_MATCHES, match_wikitext
from storage.signatures import MatchRecord


def record(title: str, reason: str, *, pdq=None, cosine=None, reviewer=None, revid=None) -> MatchRecord:
    deleted = datetime(2026, 11, 1, tzinfo=timezone.utc) if reason == "deleted" else None
    return MatchRecord(1, 2, 3, title, reason, pdq, cosine, deleted, reviewer, revid)


def test_answered_file_links_the_file_the_patroller_and_the_answer():
    text = match_wikitext([record("File:Earlier one.jpg", "nsfw", pdq=12, cosine=0.9731, reviewer="Patty",
                                  revid=77)])
    assert text == ("same picture as [[:File:Earlier one.jpg]], answered <b>nsfw</b> by [[User:Patty|Patty]] "
                    "([[Special:Diff/77|answer]]); PDQ distance 12/256, similarity 0.97")


def test_deleted_file_links_its_deletion_log_and_shows_what_is_known():
    text = match_wikitext([record("File:Gone file.jpg", "deleted", cosine=0.91)])
    assert "[[:File:Gone file.jpg]]" in text
    assert "{{fullurl:Special:Log/delete|page=File:Gone_file.jpg}}" in text and "deletion log" in text
    assert text.endswith("; similarity 0.91") and "PDQ" not in text


def test_at_most_three_files_and_nothing_without_matches():
    many = [record(f"File:F{n}.jpg", "out-of-scope", pdq=n) for n in range(5)]
    assert match_wikitext(many).count("same picture as") == MAX_MATCHES == 3
    assert match_wikitext([]) == ""
