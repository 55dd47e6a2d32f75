"""The status subpage's text: newest first, revisions linked, a line not repeated."""
from __future__ import annotations

from bot.review.status import status_page_text


def test_lines_are_linked_newest_first_and_never_repeated():
    first = status_page_text(None, review_page="User:Bot/Review", bot_name="Bot", lines=[
        "2026-11-29 10:00 UTC: not counted: entry 7: 'sfw' by Alice in revision 41 (own upload)",
        "entries [3] have no score by this model: left as they are"])
    items = [line for line in first.splitlines() if line.startswith("* ")]
    assert items[1] == ("* 2026-11-29 10:00 UTC: not counted: entry 7: 'sfw' by Alice in "
                        "[[Special:Diff/41|revision 41]] (own upload)")
    assert items[0].endswith(": entries [3] have no score by this model: left as they are")
    # the same problem next pass, and the same refusal stamped later: nothing new
    again = status_page_text(first, review_page="User:Bot/Review", bot_name="Bot", lines=[
        "entries [3] have no score by this model: left as they are",
        "2026-11-29 11:00 UTC: not counted: entry 7: 'sfw' by Alice in revision 41 (own upload)"])
    assert again == first
    later = status_page_text(first, review_page="User:Bot/Review", bot_name="Bot",
                             lines=["entry 9: removed by 127.0.0.1 in revision 50, who may not; put back"])
    assert [line for line in later.splitlines() if line.startswith("* ")][1:] == items
    assert "[[Special:Diff/50|revision 50]]" in later.splitlines()[3]
