"""The bot alone decides what is listed, and only trusted people configure it (real MediaWiki)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from bot.review import harvest_verdicts, publish_review
from bot.review.page import ReviewPage

from .conftest import MODEL, add_flagged
from .test_wiki import entry_ids, set_verdict, states

pytestmark = pytest.mark.wiki

CONFIG_JSON = "User:NsfwBot/config.json"


def test_ip_removal_is_put_back_and_a_patrollers_is_recorded(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    ip, patty = wiki.anonymous(), wiki.user("Patty")
    page = ReviewPage(ip.page_text(title))
    page.remove(ids[0])
    ip.edit(title, str(page))
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 0 and "put back" in report.restored[0]
    assert sorted(entry_ids(ip.page_text(title))) == sorted(ids)
    assert states(store, title) == {ids[0]: "listed", ids[1]: "listed"}

    page = ReviewPage(patty.page_text(title))
    page.remove(ids[1])
    patty.edit(title, str(page))
    (removal,) = patty.api(action="query", prop="revisions", titles=title,
                           rvprop="ids|timestamp")["query"]["pages"][0]["revisions"]
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 1 and "removed by Patty" in report.restored[0]
    assert entry_ids(patty.page_text(title)) == [ids[0]]
    (entry,) = [e for e in store.review_entries(title) if e.version_id == ids[1]]
    # her revision, hence who and when: the wiki's own figures (not the time the bot noticed)
    assert entry.state == "removed" and entry.revid == removal["revid"]
    assert entry.removed_by == "Patty"
    assert entry.removed_at == datetime.fromisoformat(removal["timestamp"].replace("Z", "+00:00"))


def test_a_patroller_removing_the_card_of_her_own_upload_is_put_back(site, store, settings, wiki):
    (vid,) = add_flagged(store, [{"title": "File:ByPatty.jpg", "score": 0.99, "uploader": "Patty"}])
    publish_review(site, store, settings, model_id=MODEL)
    title, patty = settings.review_page, wiki.user("Patty")
    page = ReviewPage(patty.page_text(title))
    page.remove(vid)
    patty.edit(title, str(page))
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 0 and "who may not; put back" in report.restored[0]
    assert entry_ids(patty.page_text(title)) == [vid]
    assert states(store, title) == {vid: "listed"}


def test_unknown_ids_on_a_full_page_do_not_crash(site, store, settings, wiki):
    settings = settings.replace(review_max_entries=2)
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9), ("File:C.jpg", 0.85)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    ip = wiki.anonymous()
    extra = "".join(f"{{{{NSFW review entry|id={n}|file=X{n}.jpg|score=0.999}}}}\n"
                    for n in (424242, 434343))
    ip.edit(title, ip.page_text(title) + "\n" + extra)
    report = publish_review(site, store, settings, model_id=MODEL)   # used to raise IntegrityError
    assert sum("not listed by the bot" in r for r in report.restored) == 2
    assert entry_ids(ip.page_text(title)) == ids[:2]
    assert states(store, title) == {ids[0]: "listed", ids[1]: "listed"}


def test_changed_score_and_file_are_restored(site, store, settings, wiki):
    (vid,) = add_flagged(store, [("File:A.jpg", 0.99)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    ip = wiki.anonymous()
    ip.edit(title, ip.page_text(title).replace("|score=0.990", "|score=0.100")
            .replace("|file=A.jpg", "|file=Other.jpg"))
    publish_review(site, store, settings, model_id=MODEL)
    text = ip.page_text(title)
    assert "|score=0.990" in text and "|file=A.jpg" in text


def test_broken_template_is_repaired_not_counted_as_removed(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    mallory = wiki.user("Mallory")
    text = mallory.page_text(title)
    end = text.index("}}", text.index("|id=%d" % ids[0]))
    mallory.edit(title, text[:end] + text[end + 2:])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 0
    assert any("template was broken" in r for r in report.restored)
    assert sorted(entry_ids(mallory.page_text(title))) == sorted(ids)
    assert set(states(store, title).values()) == {"listed"}


def test_page_move_is_not_followed(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    alice = wiki.user("Alice")
    alice.api("POST", action="move", **{"from": title}, to="User:Alice/Moved", token=alice.token())
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.halted is None and any("redirect" in p for p in report.problems)
    assert sorted(entry_ids(alice.page_text(title))) == sorted(ids)
    assert set(states(store, title).values()) == {"listed"}
    assert harvest_verdicts(site, store, settings).untrusted == []


def test_config_only_from_the_bot_and_interface_admins(site, store, settings, wiki):
    settings = settings.replace(config_page=CONFIG_JSON)
    hostile = '{"threshold": 1.0, "opt_out": ["Alice"]}'
    for user in (wiki.anonymous(), wiki.user("Mallory"), wiki.user("Patty")):
        with pytest.raises(RuntimeError, match="customjsonprotected"):  # MediaWiki refuses
            user.edit(CONFIG_JSON, hostile)
    wiki.user("Ivy").edit(CONFIG_JSON, '{"threshold": 0.95}')
    # this wiki lets sysops edit user JSON; the bot still applies only the bot's account
    # and interface admins
    wiki.user("Sam").edit(CONFIG_JSON, hostile)
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.config_source == "page"
    assert any("by Sam not applied" in p for p in report.problems)
    assert entry_ids(wiki.user("Alice").page_text(settings.review_page)) == [ids[0]]


def test_untrusted_config_revision_is_reported_not_applied(site, store, settings, wiki):
    wiki.user("NsfwBot").edit(settings.config_page, '<pre>{"threshold": 0.85}</pre>')
    wiki.anonymous().edit(settings.config_page, '<pre>{"threshold": 1.0, "opt_out": ["Alice"],'
                                                ' "review_max_entries": 1}</pre>')
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.config_source == "page"
    assert any("by 127.0.0.1 not applied" in p for p in report.problems)
    assert sorted(entry_ids(wiki.user("Alice").page_text(settings.review_page))) == sorted(ids)


def test_lowering_the_limit_retires_no_open_card(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.95), ("File:C.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    owner, title = wiki.user("NsfwBot"), settings.review_page
    # the fixture pins the limit locally; here the page may set it
    unpinned = dataclasses.replace(settings, explicit=settings.explicit - {"review_max_entries"})
    owner.edit(settings.config_page, '<pre>{"review_max_entries": 1}</pre>')
    report = publish_review(site, store, unpinned, model_id=MODEL)
    assert report.queued == 2 and report.archived == 0
    assert len(entry_ids(owner.page_text(title))) == 1
    assert "retired" not in states(store, title).values()
    owner.edit(settings.config_page, '<pre>{"review_max_entries": 5}</pre>')
    publish_review(site, store, unpinned, model_id=MODEL)
    assert sorted(entry_ids(owner.page_text(title))) == sorted(ids)   # they came back
    assert set(states(store, title).values()) == {"listed"}


def test_an_untrusted_answer_neither_retires_nor_unlists_a_card(site, store, settings, wiki):
    """An IP's and an autopatrolled user's answers are stored, but the cards stay open: they do
    not retire (whatever the retention) and a card sent back to the queue comes back."""
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.95)])
    publish_review(site, store, settings, model_id=MODEL)
    owner, ip, auto, title = wiki.user("NsfwBot"), wiki.anonymous(), wiki.user("Auto"), settings.review_page
    ip.edit(title, set_verdict(ip.page_text(title), ids[0], "sfw"))
    auto.edit(title, set_verdict(auto.page_text(title), ids[1], "sfw"))
    report = harvest_verdicts(site, store, settings.replace(reviewed_retention_hours=0.0))
    assert len(report.untrusted) == 2 and report.retired == 0
    assert states(store, title) == {ids[0]: "listed", ids[1]: "listed"}

    unpinned = dataclasses.replace(settings, explicit=settings.explicit - {"review_max_entries"})
    owner.edit(settings.config_page, '<pre>{"review_max_entries": 1}</pre>')
    assert publish_review(site, store, unpinned, model_id=MODEL).queued == 1
    assert states(store, title)[ids[1]] == "queued"
    owner.edit(settings.config_page, '<pre>{"review_max_entries": 5}</pre>')
    publish_review(site, store, unpinned, model_id=MODEL)
    assert sorted(entry_ids(owner.page_text(title))) == sorted(ids)
    assert states(store, title) == {ids[0]: "listed", ids[1]: "listed"}


def test_an_explicit_local_value_equal_to_the_default_wins(site, store, settings, wiki):
    wiki.user("NsfwBot").edit(settings.config_page, '<pre>{"threshold": 0.95}</pre>')
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    report = publish_review(site, store, settings.replace(threshold=0.8), model_id=MODEL)
    assert sorted(entry_ids(wiki.user("Alice").page_text(settings.review_page))) == sorted(ids)
    assert any("threshold=0.95" in n and "set locally" in n for n in report.notes)


def test_a_trusted_config_page_chooses_the_order_and_the_page_says_so(site, store, settings,
                                                                       wiki):
    settings = settings.replace(config_page=CONFIG_JSON)
    alice = wiki.user("Alice")
    alice.edit("File:Discussed.jpg", "[[Category:Deletion requests November 2026]]")
    ids = add_flagged(store, [("File:Plain.jpg", 0.95), ("File:Discussed.jpg", 0.9)])
    wiki.user("Ivy").edit(CONFIG_JSON, '{"review_order": "score-and-uploader"}')
    report = publish_review(site, store, settings, model_id=MODEL)
    text = alice.page_text(settings.review_page)
    assert report.order == "score-and-uploader" and "Order in force: highest score first, with" \
        in text
    assert entry_ids(text) == [ids[1], ids[0]]       # 0.9 + a deletion request above 0.95

    wiki.user("Ivy").edit(CONFIG_JSON, '{"review_order": "loudest first"}')
    report = publish_review(site, store, settings, model_id=MODEL)
    assert any("review_order must be one of" in p for p in report.problems)
    assert report.order == "score-and-uploader"     # the last good configuration stays


def test_the_order_note_follows_the_config_when_nothing_new_is_listed(site, store, settings, wiki):
    """A new order chosen on the config page: the note says so at the next publish, though no
    card is added (and none is moved: a human order is kept)."""
    settings = settings.replace(config_page=CONFIG_JSON)
    ids = add_flagged(store, [("File:Plain.jpg", 0.95), ("File:Other.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    alice, title = wiki.user("Alice"), settings.review_page
    assert "Order in force: highest score first (" in alice.page_text(title)
    wiki.user("Ivy").edit(CONFIG_JSON, '{"review_order": "score-and-uploader"}')
    report = publish_review(site, store, settings, model_id=MODEL)
    text = alice.page_text(title)
    assert (report.order, report.added, report.edits) == ("score-and-uploader", 0, 1)
    assert "Order in force: highest score first, with" in text
    assert entry_ids(text) == ids


def test_a_status_line_already_there_is_not_saved_again(site, store, settings, wiki):
    """An untrusted config revision is a problem at every publish; its line goes to the status
    subpage once, and a publish with nothing new edits nothing."""
    wiki.anonymous().edit(settings.config_page, '<pre>{"threshold": 1.0}</pre>')
    add_flagged(store, [("File:A.jpg", 0.99)])
    first = publish_review(site, store, settings, model_id=MODEL)
    assert any("by 127.0.0.1 not applied" in p for p in first.problems)
    status = wiki.user("Alice").page_text(f"{settings.review_page}/Status")
    assert "by 127.0.0.1 not applied" in status
    again = publish_review(site, store, settings, model_id=MODEL)
    assert any("by 127.0.0.1 not applied" in p for p in again.problems)   # the same line again
    assert again.edits == 0
    assert wiki.user("Alice").page_text(f"{settings.review_page}/Status") == status


def test_a_simulated_publish_keeps_the_status_lines_for_a_real_one(site, store, settings, wiki):
    """Harvesting queues an IP's answer for the status subpage; a simulated publish writes it to
    a file, so the next real publish still has it to write on the wiki."""
    ids = add_flagged(store, [("File:A.jpg", 0.99)])
    publish_review(site, store, settings, model_id=MODEL)
    ip, title = wiki.anonymous(), settings.review_page
    ip.edit(title, set_verdict(ip.page_text(title), ids[0], "sfw"))
    assert len(harvest_verdicts(site, store, settings).untrusted) == 1
    simulated = publish_review(site, store, settings.replace(simulate=True), model_id=MODEL)
    assert simulated.edits == 0 and ip.page_text(f"{title}/Status") is None
    publish_review(site, store, settings, model_id=MODEL)
    assert f"entry {ids[0]}: 'sfw' by 127.0.0.1" in (ip.page_text(f"{title}/Status") or "")


def test_a_shadow_candidate_that_scored_last_is_never_listed(site, store, settings, wiki):
    from bot.shadow import SHADOW_MODELS_CURSOR

    add_flagged(store, [("File:A.jpg", 0.99)])
    candidate = "candidate-ft-20261129@abcdef012345"
    add_flagged(store, [{"title": "File:B.jpg", "score": 0.98, "page_id": 3000,
                         "sha1": "b" * 40}], model=candidate)
    store.set_cursor(SHADOW_MODELS_CURSOR, {"models": [candidate]})
    report = publish_review(site, store, settings)          # no model id: the last scorer
    assert report.added == 0 and "shadow candidate" in report.problems[-1]
    assert wiki.user("Alice").page_text(settings.review_page) is None
    assert publish_review(site, store, settings, model_id=MODEL).added == 1
