"""Who counts, against the real MediaWiki, with distinct actors: an IP, the uploader, an
autopatrolled uploader, a patroller, a sysop, an interface admin and the bot."""
from __future__ import annotations

import pytest

from bot.review import harvest_verdicts, publish_review
from bot.review.harvester import same_user
from bot.review.page import ReviewPage

from .conftest import MODEL, add_flagged
from .test_wiki import entry_ids, set_verdict, states

pytestmark = pytest.mark.wiki


def verdicts_by(store) -> dict[tuple[int, str], tuple[str, bool]]:
    return {(v.version_id, v.reviewer): (v.verdict, v.trusted) for v in store.verdicts()}


def latest_revid(user, title: str) -> int:
    page = user.api(action="query", prop="revisions", titles=title,
                    rvprop="ids")["query"]["pages"][0]
    return page["revisions"][0]["revid"]


def test_answer_restored_by_an_undo_keeps_its_author(site, store, settings, wiki):
    """The uploader's own `sfw` stays untrusted after an IP blanks the page and a sysop undoes it."""
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])     # uploaded by Alice
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    alice, ip, sam = wiki.user("Alice"), wiki.anonymous(), wiki.user("Sam")
    alice.edit(title, set_verdict(alice.page_text(title), vid, "sfw"))
    first = harvest_verdicts(site, store, settings)
    assert [(u.reviewer, u.reason) for u in first.untrusted] == [("Alice", "not in the trusted groups")]

    ip.edit(title, "")
    harvest_verdicts(site, store, settings)                 # the cursor now sits on the blanking
    blanking = latest_revid(sam, title)
    sam.api("POST", action="edit", title=title, undo=blanking, token=sam.token())
    report = harvest_verdicts(site, store, settings)
    assert report.verdicts == 0 and report.untrusted == []
    assert report.reverts == [latest_revid(sam, title)]
    assert verdicts_by(store) == {(vid, "Alice"): ("sfw", False)}
    assert states(store, title)[vid] == "listed"


def test_an_undo_that_brings_back_an_older_answer_credits_nobody(site, store, settings, wiki):
    """Alice answers `sfw` on her own upload, Patty corrects it to `nsfw`, Sam undoes Patty's
    edit: the `sfw` back on the page is Alice's words, not a trusted verdict by Sam."""
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])     # uploaded by Alice
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    alice, patty, sam = wiki.user("Alice"), wiki.user("Patty"), wiki.user("Sam")
    alice.edit(title, set_verdict(alice.page_text(title), vid, "sfw"))
    patty.edit(title, set_verdict(patty.page_text(title), vid, "nsfw"))
    sam.api("POST", action="edit", title=title, undo=latest_revid(sam, title), token=sam.token())
    report = harvest_verdicts(site, store, settings)
    assert report.reverts == [latest_revid(sam, title)]
    assert verdicts_by(store) == {(vid, "Alice"): ("sfw", False), (vid, "Patty"): ("nsfw", True)}
    assert [(v.version_id, v.label) for v in store.labelled_versions()] == [(vid, "nsfw")]


def test_an_answer_written_from_the_bots_own_account_is_nobodys_verdict(site, store, settings, wiki):
    """The bot's account writes cards, never verdicts: an operator answering while logged in
    as the bot gives no verdict, trusted or not (the bot account is no patroller)."""
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])
    publish_review(site, store, settings, model_id=MODEL)
    owner, title = wiki.user("NsfwBot"), settings.review_page
    owner.edit(title, set_verdict(owner.page_text(title), vid, "nsfw"))
    report = harvest_verdicts(site, store, settings)
    assert (report.verdicts, report.untrusted, report.problems) == (0, [], [])
    assert store.verdicts() == [] and states(store, title)[vid] == "listed"


def test_user_names_are_compared_as_mediawiki_does():
    """Underscores are spaces and the first letter is capital (MediaWiki's title rules for
    the User namespace, $wgCapitalLinks); the rest is case-sensitive."""
    assert same_user("Patty_Smith", "Patty Smith") and same_user("patty Smith", "Patty Smith")
    assert same_user("Patty  Smith", "Patty Smith")
    assert not same_user("Patty smith", "Patty Smith")
    assert not same_user(None, None) and not same_user("", "") and not same_user("Patty", None)


def tags_of_latest(user, title: str) -> set[str]:
    page = user.api(action="query", prop="revisions", titles=title,
                    rvprop="ids|tags")["query"]["pages"][0]
    return set(page["revisions"][0]["tags"])


@pytest.mark.parametrize("how", ["rollback", "manual"])
def test_a_revert_past_an_earlier_harvest_credits_nobody(site, store, settings, wiki, how):
    """Patty answers and the bot reads it; an IP changes her answer and the bot reads that;
    Sam reverts the IP by rollback, or by saving Patty's text again by hand (MediaWiki tags
    that `mw-manual-revert`). The restored answer is still Patty's: Sam gets no verdict, although
    the text he brings back is older than anything the bot remembers from this harvest."""
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    patty, ip, sam = wiki.user("Patty"), wiki.anonymous(), wiki.user("Sam")
    answered = set_verdict(patty.page_text(title), vid, "nsfw", "explicit --Patty")
    patty.edit(title, answered)
    harvest_verdicts(site, store, settings)
    ip.edit(title, set_verdict(answered, vid, "sfw"))
    harvest_verdicts(site, store, settings)
    if how == "rollback":
        sam.api("POST", action="rollback", title=title, user="127.0.0.1", token=sam.token("rollback"))
        assert "mw-rollback" in tags_of_latest(sam, title)
    else:
        sam.edit(title, answered)
        assert "mw-manual-revert" in tags_of_latest(sam, title)
    report = harvest_verdicts(site, store, settings)
    assert (report.verdicts, report.untrusted) == (0, [])
    assert report.reverts == [latest_revid(sam, title)]
    assert verdicts_by(store) == {(vid, "Patty"): ("nsfw", True), (vid, "127.0.0.1"): ("sfw", False)}


def test_answer_copied_back_by_hand_credits_nobody(site, store, settings, wiki):
    """Not a revert MediaWiki can see (a remark added too): the slot says what it said."""
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    alice, ip, sam = wiki.user("Alice"), wiki.anonymous(), wiki.user("Sam")
    answered = set_verdict(alice.page_text(title), vid, "sfw")
    alice.edit(title, answered)
    harvest_verdicts(site, store, settings)
    ip.edit(title, "")
    harvest_verdicts(site, store, settings)
    sam.edit(title, answered + "\n:Restored after vandalism. --Sam")
    report = harvest_verdicts(site, store, settings)
    assert (report.verdicts, report.untrusted, report.reverts) == (0, [], [])
    assert verdicts_by(store) == {(vid, "Alice"): ("sfw", False)}


def test_only_reviewers_who_are_not_the_uploader_count(site, store, settings, wiki):
    ids = add_flagged(store, [
        {"title": "File:ByAuto.jpg", "score": 0.99, "uploader": "Auto"},
        {"title": "File:ByPatty.jpg", "score": 0.98, "uploader": "Patty"},
        {"title": "File:ByAlice.jpg", "score": 0.97, "uploader": "Alice"},
        {"title": "File:ByAlice2.jpg", "score": 0.96, "uploader": "Alice"},
    ])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    auto, patty, sam, ip = wiki.user("Auto"), wiki.user("Patty"), wiki.user("Sam"), wiki.anonymous()
    auto.edit(title, set_verdict(auto.page_text(title), ids[0], "sfw"))      # own file
    auto.edit(title, set_verdict(auto.page_text(title), ids[2], "sfw"))      # not a reviewer
    patty.edit(title, set_verdict(patty.page_text(title), ids[1], "sfw"))    # own file
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw"))   # counts
    ip.edit(title, set_verdict(ip.page_text(title), ids[3], "sfw"))          # an IP
    report = harvest_verdicts(site, store, settings)
    assert {(u.version_id, u.reviewer, u.reason) for u in report.untrusted} == {
        (ids[0], "Auto", "not in the trusted groups"), (ids[2], "Auto", "not in the trusted groups"),
        (ids[1], "Patty", "own upload"), (ids[3], "127.0.0.1", "not in the trusted groups")}
    assert report.verdicts == 1
    # what `run` and `review harvest` print: a summary, then one line per refusal
    summary, *details = report.format().splitlines()
    assert summary == (f"verdicts from [[{title}]]: {report.revisions} revisions read, 1 trusted verdicts "
                       "(1 entries reviewed), 4 untrusted (not applied), 0 retired, 0 problems")
    assert report.revisions >= 5 and len(details) == 4
    assert f"  not counted: entry {ids[1]}: 'sfw' by Patty in revision" in "\n".join(details)
    sam.edit(title, set_verdict(sam.page_text(title), ids[1], "nsfw"))       # a sysop counts
    harvest_verdicts(site, store, settings)
    got = verdicts_by(store)
    assert got[ids[0], "Patty"] == ("nsfw", True) and got[ids[1], "Sam"] == ("nsfw", True)
    assert got[ids[1], "Patty"] == ("sfw", False) and got[ids[0], "Auto"] == ("sfw", False)
    # only trusted, independent verdicts become training labels
    assert {(v.version_id, v.label) for v in store.labelled_versions()} == {
        (ids[0], "nsfw"), (ids[1], "nsfw")}
    assert states(store, title) == {ids[0]: "reviewed", ids[1]: "reviewed",
                                    ids[2]: "listed", ids[3]: "listed"}


def test_trusted_groups_is_the_operators_choice(site, store, settings, wiki):
    """With `trusted_groups = ["sysop"]` a patroller's answer no longer counts; a sysop's does."""
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.98)])
    settings = settings.replace(trusted_groups=("sysop",))
    publish_review(site, store, settings, model_id=MODEL)
    title, patty, sam = settings.review_page, wiki.user("Patty"), wiki.user("Sam")
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw"))
    sam.edit(title, set_verdict(sam.page_text(title), ids[1], "nsfw"))
    report = harvest_verdicts(site, store, settings)
    assert [(u.reviewer, u.reason) for u in report.untrusted] == [("Patty", "not in the trusted groups")]
    assert verdicts_by(store) == {(ids[0], "Patty"): ("nsfw", False), (ids[1], "Sam"): ("nsfw", True)}


def test_one_edit_answering_several_cards_counts_each(site, store, settings, wiki):
    """A patroller answers five cards in one edit, one of them unreadably; a sysop disagrees
    on one; an IP answers two. Every readable answer is read, whatever comes before it."""
    ids = add_flagged(store, [(f"File:{n}.jpg", 0.99 - i / 100) for i, n in enumerate("ABCDE")])
    a, b, c, d, e = ids
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    patty, sam, ip = wiki.user("Patty"), wiki.user("Sam"), wiki.anonymous()
    text = patty.page_text(title)
    for vid, verdict in ((a, "perhaps"), (b, "nsfw"), (c, "unsure"), (e, "sfw")):
        text = set_verdict(text, vid, verdict)
    patty.edit(title, text)
    sam.edit(title, set_verdict(sam.page_text(title), b, "sfw"))
    ip.edit(title, set_verdict(set_verdict(ip.page_text(title), c, "sfw"), d, "sfw"))
    report = harvest_verdicts(site, store, settings)
    assert [p for p in report.problems if f"entry {a}:" in p] and len(report.problems) == 1
    assert verdicts_by(store) == {
        (b, "Patty"): ("nsfw", True), (c, "Patty"): ("unsure", True), (e, "Patty"): ("sfw", True),
        (b, "Sam"): ("sfw", True), (c, "127.0.0.1"): ("sfw", False), (d, "127.0.0.1"): ("sfw", False)}
    assert (report.verdicts, report.reviewed, len(report.untrusted)) == (4, 2, 2)
    assert states(store, title) == {a: "listed", b: "reviewed", c: "listed", d: "listed", e: "reviewed"}
    retired = harvest_verdicts(site, store, settings.replace(reviewed_retention_hours=0.0))
    assert retired.retired == 2    # B and E; C's trusted "unsure" asks for a second opinion


def card_params(text: str, version_id: int) -> tuple[str, str]:
    template = ReviewPage(text).find(version_id).template
    return tuple(str(template.get(name).value).strip() if template.has(name) else ""
                 for name in ("counted", "why"))


def test_each_answered_card_says_whether_it_counted_and_the_status_page_links_why(
        site, store, settings, wiki):
    ids = add_flagged(store, [
        {"title": "File:ByAlice.jpg", "score": 0.99, "uploader": "Alice"},
        {"title": "File:ByPatty.jpg", "score": 0.98, "uploader": "Patty"},
        {"title": "File:Other.jpg", "score": 0.97, "uploader": "Alice"},
        {"title": "File:Third.jpg", "score": 0.96, "uploader": "Alice"},
        {"title": "File:Open.jpg", "score": 0.95, "uploader": "Alice"},
    ])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    patty, ip, auto = wiki.user("Patty"), wiki.anonymous(), wiki.user("Auto")
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw --~~~~"))   # counts
    patty.edit(title, set_verdict(patty.page_text(title), ids[1], "sfw"))           # own upload
    ip.edit(title, set_verdict(ip.page_text(title), ids[2], "sfw"))                 # an IP
    auto.edit(title, set_verdict(auto.page_text(title), ids[3], "maybe"))           # unreadable
    ip_revid = latest_revid(patty, title)
    harvest_verdicts(site, store, settings)
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.problems == []
    text = patty.page_text(title)
    assert card_params(text, ids[0]) == ("yes", "")
    assert card_params(text, ids[1]) == ("no", "own upload")
    assert card_params(text, ids[2]) == ("no", "not a trusted reviewer")
    assert card_params(text, ids[3])[0] == "no" and "unreadable" in card_params(text, ids[3])[1]
    assert card_params(text, ids[4]) == ("", "")                     # nobody answered
    status = patty.page_text(f"{title}/Status")
    assert f"[[Special:Diff/{ip_revid}|revision {ip_revid}]]" in status
    assert f"entry {ids[2]}: 'sfw' by 127.0.0.1" in status and "maybe" in status
    # nothing new: neither page changes again
    again = publish_review(site, store, settings, model_id=MODEL)
    assert again.edits == 0
    assert patty.page_text(f"{title}/Status") == status


def test_no_untrusted_edit_loses_a_trusted_verdict(site, store, settings, wiki):
    """A patroller answers; before the bot reads it, an IP overwrites the answer, an
    autopatrolled uploader clears the card and the IP blanks the page."""
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.95)])   # Alice's
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    patty, ip, auto = wiki.user("Patty"), wiki.anonymous(), wiki.user("Auto")
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw", "explicit --Patty"))
    answered = latest_revid(patty, title)
    ip.edit(title, set_verdict(ip.page_text(title), ids[0], "sfw"))
    page = ReviewPage(auto.page_text(title))
    page.remove(ids[1])
    auto.edit(title, str(page))
    ip.edit(title, "")
    harvest_verdicts(site, store, settings)
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 0
    got = verdicts_by(store)
    assert got[ids[0], "Patty"] == ("nsfw", True) and got[ids[0], "127.0.0.1"] == ("sfw", False)
    (trusted,) = store.verdicts(ids[0], trusted=True)
    assert (trusted.revid, trusted.comment) == (answered, "explicit --Patty")
    assert {(v.version_id, v.label) for v in store.labelled_versions()} == {(ids[0], "nsfw")}
    assert states(store, title) == {ids[0]: "reviewed", ids[1]: "listed"}
    assert ids[1] in entry_ids(patty.page_text(title))              # the open card is back
    # more untrusted edits later change nothing stored
    ip.edit(title, set_verdict(ip.page_text(title), ids[1], "sfw"))
    harvest_verdicts(site, store, settings)
    publish_review(site, store, settings, model_id=MODEL)
    assert [v.verdict for v in store.verdicts(ids[0], trusted=True)] == ["nsfw"]
    assert states(store, title)[ids[0]] == "reviewed"
