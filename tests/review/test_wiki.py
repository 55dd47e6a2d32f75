"""The review page on a real MediaWiki: publishing, human edits, conflicts, harvesting, safety."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.review import harvest_verdicts, publish_review
from bot.review.page import MAIN_SECTION, ReviewPage, parse_entries
from bot import safety
from bot.review.edits import EditGuard
from bot.safety import simulate_path

from .conftest import MODEL, add_flagged

pytestmark = pytest.mark.wiki


def entry_ids(text: str) -> list[int]:
    return [e.version_id for e in parse_entries(text)]


def set_verdict(text: str, version_id: int, verdict: str, comment: str | None = None) -> str:
    page = ReviewPage(text)
    template = page.find(version_id).template
    template.get("verdict").value = verdict + "\n"
    if comment is not None:
        template.get("comment").value = comment + "\n"
    return str(page)


def one_line_of(text: str, version_id: int) -> bool:
    return any(line.startswith("{{NSFW review entry|id=%d|" % version_id) and line.endswith("}}")
               for line in text.splitlines())


def states(store, page: str) -> dict[int, str]:
    return {e.version_id: e.state for e in store.review_entries(page)}


def test_publish_lists_highest_score_first_as_bot_edits(site, store, settings, wiki):
    ids = add_flagged(store, [("File:Low.jpg", 0.85), ("File:High.jpg", 0.99),
                              ("File:Mid.jpg", 0.9), ("File:Safe.jpg", 0.2)])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert (report.added, report.edits, report.halted, report.problems) == (3, 2, None, [])

    alice = wiki.user("Alice")
    text = alice.page_text(settings.review_page)
    assert entry_ids(text) == [ids[1], ids[2], ids[0]]
    assert states(store, settings.review_page) == {i: "listed" for i in ids[:3]}
    assert alice.page_text("Template:NSFW review entry").startswith("<div class=\"nsfw-review")
    changes = alice.api(action="query", list="recentchanges", rcprop="user|comment|flags|title",
                        rctype="new|edit")["query"]["recentchanges"]
    mine = [c for c in changes if c["title"] == settings.review_page]
    assert mine and all(c["user"] == "NsfwBot" and c["bot"] and not c["minor"] for c in mine)
    assert "+3 flagged files" in mine[0]["comment"]

    # nothing new: no edit at all
    again = publish_review(site, store, settings, model_id=MODEL)
    assert (again.added, again.edits) == (0, 0)


def test_competing_edit_between_read_and_save_is_kept(site, store, settings, wiki, monkeypatch):
    first = add_flagged(store, [("File:A.jpg", 0.9), ("File:B.jpg", 0.8)])
    publish_review(site, store, settings, model_id=MODEL)
    newer = add_flagged(store, [{"title": "File:C.jpg", "score": 0.95, "page_id": 2000,
                                 "sha1": "c" * 40}])
    patty = wiki.user("Patty")
    original = EditGuard.save
    interfered = []

    def save_after_a_human(self, page, text, **kw):
        if page.title() == settings.review_page and not interfered:
            # MediaWiki timestamps have 1 s resolution: edit a full second after the base
            time.sleep(1.1)
            human = ReviewPage(patty.page_text(settings.review_page))
            # She answers A and writes its call on one line, right where the bot inserts its
            # new entry: MediaWiki cannot merge that, so the bot's save is an edit conflict.
            compact = human.find(first[0]).template
            one_line = "{{NSFW review entry|" + "|".join(
                f"{p.name.strip()}={p.value.strip()}" for p in compact.params
                if p.name.strip() not in ("verdict", "comment")) + \
                "|verdict=nsfw|comment=explicit --Patty}}"
            text = str(human).replace(str(compact), one_line)
            text = text.replace(f"== {MAIN_SECTION} ==\n\n",
                                f"== {MAIN_SECTION} ==\n:Patty: please sign your verdicts.\n")
            patty.edit(settings.review_page, text)
            interfered.append(True)
        return original(self, page, text, **kw)

    monkeypatch.setattr(EditGuard, "save", save_after_a_human)
    report = publish_review(site, store, settings, model_id=MODEL)
    assert interfered and report.conflicts == 1 and report.added == 1

    text = patty.page_text(settings.review_page)
    assert ":Patty: please sign your verdicts.\n" in text and one_line_of(text, first[0])
    by_id = {e.version_id: e for e in parse_entries(text)}
    assert by_id[first[0]].verdict == "nsfw" and by_id[first[0]].comment == "explicit --Patty"
    assert entry_ids(text) == [newer[0], first[0], first[1]]


def test_a_page_created_between_read_and_save_is_an_edit_conflict_tried_again(site, store, settings, wiki,
                                                                              monkeypatch):
    """The bot reads no page; Patty creates it before the bot's save, which (``createonly``)
    is then an edit conflict: the bot reads her page and lists the cards on it."""
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    patty, original, created = wiki.user("Patty"), EditGuard.save, []

    def save_after_patty_creates_the_page(self, page, text, **kw):
        if page.title() == settings.review_page and not created:
            patty.edit(settings.review_page, "Patty: please sign your verdicts.")
            created.append(True)
        return original(self, page, text, **kw)

    monkeypatch.setattr(EditGuard, "save", save_after_patty_creates_the_page)
    report = publish_review(site, store, settings, model_id=MODEL)
    assert created and report.conflicts == 1 and report.added == 2
    text = patty.page_text(settings.review_page)
    assert "Patty: please sign your verdicts." in text and sorted(entry_ids(text)) == sorted(ids)
    assert states(store, settings.review_page) == {ids[0]: "listed", ids[1]: "listed"}


def test_human_reorders_deletes_and_comments(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.95), ("File:C.jpg", 0.9),
                              ("File:D.jpg", 0.85)])
    publish_review(site, store, settings, model_id=MODEL)
    # a patroller (trusted) edits: only a trusted person's removal stands
    alice, patty = wiki.user("Alice"), wiki.user("Patty")
    page = ReviewPage(alice.page_text(settings.review_page))
    moved = page.remove(ids[3])                       # D to the top
    page.remove(ids[1])                               # B deleted
    text = str(page).replace(f"== {MAIN_SECTION} ==\n\n", f"== {MAIN_SECTION} ==\n\n{moved}", 1)
    text = text.replace("|file=C.jpg\n", "|file=C.jpg\n|note=seen on the village pump\n")
    text = set_verdict(text, ids[2], "sfw", "a statue --Alice")
    c_end = text.index("}}", text.index("|file=C.jpg")) + 2
    text = text[:c_end] + "\n:I agree, a museum photo. --Patty" + text[c_end:]
    text = text.replace("Files a classifier", "Read [[Help:NSFW]] first. Files a classifier")
    patty.edit(settings.review_page, text)
    human = alice.page_text(settings.review_page)

    add_flagged(store, [{"title": "File:E.jpg", "score": 0.97, "page_id": 3000, "sha1": "e" * 40}])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 1 and report.added == 1
    after = alice.page_text(settings.review_page)
    assert ids[1] not in entry_ids(after)             # never put back
    assert states(store, settings.review_page)[ids[1]] == "removed"
    assert entry_ids(after)[:4] == [entry_ids(after)[0], ids[3], ids[0], ids[2]]
    # every human character is still there: the bot only inserted its new entry
    new_entry = next(e for e in parse_entries(after) if e.version_id not in ids)
    assert after.replace(str(new_entry.template) + "\n", "", 1) == human
    assert publish_review(site, store, settings, model_id=MODEL).edits == 0

    # a blanking by someone outside the trusted groups: the bot puts its list back, and
    # nothing changes state (it used to mark every entry removed)
    alice.edit(settings.review_page, "")
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.removed_by_humans == 0 and len(report.restored) == 4
    restored = alice.page_text(settings.review_page)
    assert sorted(entry_ids(restored)) == sorted(entry_ids(after))
    assert states(store, settings.review_page)[ids[1]] == "removed"
    assert sorted(v for v, s in states(store, settings.review_page).items() if s == "listed") == \
        sorted(entry_ids(after))


def test_harvest_trusted_untrusted_and_malformed(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.95), ("File:C.jpg", 0.9)])
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    patty, mallory, sam = wiki.user("Patty"), wiki.user("Mallory"), wiki.user("Sam")
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw", "explicit --Patty"))
    mallory.edit(title, set_verdict(mallory.page_text(title), ids[1], "sfw"))
    broken = sam.page_text(title).replace(
        "== Separately", "{{NSFW review entry|file=Lost.jpg|verdict=nsfw}}\n== Separately")
    sam.edit(title, set_verdict(broken, ids[2], "maybe"))
    sam.edit(title, set_verdict(sam.page_text(title), ids[2], "Out of scope", "needs a DR --Sam"))

    report = harvest_verdicts(site, store, settings)
    assert report.verdicts == 2 and report.reviewed == 2
    assert [(u.version_id, u.reviewer, u.verdict) for u in report.untrusted] == \
        [(ids[1], "Mallory", "sfw")]
    assert len(report.problems) == 2
    assert any("'maybe'" in p for p in report.problems)
    assert any("without a usable id" in p for p in report.problems)

    got = {(v.version_id, v.reviewer): v for v in store.verdicts()}
    assert set(got) == {(ids[0], "Patty"), (ids[1], "Mallory"), (ids[2], "Sam")}
    assert got[ids[0], "Patty"].trusted and got[ids[0], "Patty"].comment == "explicit --Patty"
    assert not got[ids[1], "Mallory"].trusted
    assert got[ids[2], "Sam"].verdict == "out-of-scope"
    history = patty.api(action="query", prop="revisions", titles=title, rvprop="ids|user",
                        rvlimit=10)["query"]["pages"][0]["revisions"]
    assert got[ids[0], "Patty"].revid == next(r["revid"] for r in history if r["user"] == "Patty")
    assert states(store, title) == {ids[0]: "reviewed", ids[1]: "listed", ids[2]: "reviewed"}

    # harvesting again reads nothing twice
    again = harvest_verdicts(site, store, settings)
    assert (again.revisions, again.verdicts, again.untrusted, again.problems) == (0, 0, [], [])

    # a blanking and its revert give nobody a verdict
    answered = patty.page_text(title)
    mallory.edit(title, "")
    sam.edit(title, answered)
    again = harvest_verdicts(site, store, settings)
    assert (again.revisions, again.verdicts, again.untrusted, again.problems) == (2, 0, [], [])
    assert len(store.verdicts()) == 3


def test_reviewed_entries_retire_to_the_archive(site, store, settings, wiki):
    settings = settings.replace(review_max_entries=3)
    ids = add_flagged(store, [(f"File:F{n}.jpg", 0.99 - n / 100) for n in range(5)])
    first = publish_review(site, store, settings, model_id=MODEL)
    assert first.added == 3                            # bounded; the rest wait in storage
    title = settings.review_page
    patty = wiki.user("Patty")
    text = set_verdict(patty.page_text(title), ids[0], "nsfw", "explicit --Patty")
    patty.edit(title, set_verdict(text, ids[1], "unsure", "art? --Patty"))
    harvest_verdicts(site, store, settings)             # retention 72 h: stays
    assert ids[0] in entry_ids(patty.page_text(title))

    report = harvest_verdicts(site, store, settings.replace(reviewed_retention_hours=0.0))
    assert report.retired == 1                          # "unsure" stays for a second opinion
    assert states(store, title)[ids[1]] == "listed"
    # Archive 1 is full (3 entries, as many as the page): the bot starts Archive 2
    full = "".join(f"{{{{NSFW review entry|id={9000 + n}|verdict=sfw}}}}\n" for n in range(3))
    patty.edit(f"{title}/Archive 1", full)
    published = publish_review(site, store, settings, model_id=MODEL)
    assert (published.archived, published.added) == (1, 1)
    live = patty.page_text(title)
    assert entry_ids(live) == [ids[1], ids[2], ids[3]]
    assert patty.page_text(f"{title}/Archive 1") == full.rstrip("\n")
    archive = patty.page_text(f"{title}/Archive 2")
    archived = {e.version_id: e for e in parse_entries(archive)}
    assert archived[ids[0]].verdict == "nsfw" and archived[ids[0]].comment == "explicit --Patty"
    assert publish_review(site, store, settings, model_id=MODEL).edits == 0


def test_archives_fill_in_order_and_a_simulated_publish_moves_no_cursor(site, store, settings, wiki):
    """Archive 1 full: a simulated publish that would start Archive 2 leaves storage as it was;
    the real one starts it, and later retirements go on there even after someone trims
    Archive 1 (archives never go back to an earlier number)."""
    from bot.review.publisher import ARCHIVE_CURSOR

    settings = settings.replace(review_max_entries=2)
    ids = add_flagged(store, [(f"File:F{n}.jpg", 0.99 - n / 100) for n in range(4)])
    publish_review(site, store, settings, model_id=MODEL)
    title, patty = settings.review_page, wiki.user("Patty")
    full = "".join(f"{{{{NSFW review entry|id={9000 + n}|verdict=sfw}}}}\n" for n in range(2))
    patty.edit(f"{title}/Archive 1", full)
    patty.edit(title, set_verdict(patty.page_text(title), ids[0], "nsfw", "explicit --Patty"))
    assert harvest_verdicts(site, store, settings.replace(reviewed_retention_hours=0.0)).retired == 1
    cursor = ARCHIVE_CURSOR.format(page=title)
    before = (store.get_cursor(cursor), states(store, title))

    simulated = publish_review(site, store, settings.replace(simulate=True), model_id=MODEL)
    assert simulated.archived == 1 and patty.page_text(f"{title}/Archive 2") is None
    assert (store.get_cursor(cursor), states(store, title)) == before

    assert publish_review(site, store, settings, model_id=MODEL).archived == 1
    assert entry_ids(patty.page_text(f"{title}/Archive 2")) == [ids[0]]
    patty.edit(f"{title}/Archive 1", "{{NSFW review entry|id=9000|verdict=sfw}}\n")   # trimmed
    patty.edit(title, set_verdict(patty.page_text(title), ids[1], "sfw", "a pan --Patty"))
    assert harvest_verdicts(site, store, settings.replace(reviewed_retention_hours=0.0)).retired == 1
    assert publish_review(site, store, settings, model_id=MODEL).archived == 1
    assert entry_ids(patty.page_text(f"{title}/Archive 2")) == [ids[0], ids[1]]
    assert entry_ids(patty.page_text(f"{title}/Archive 1")) == [9000]


def test_stop_page_halts_every_edit(site, store, settings, wiki):
    add_flagged(store, [("File:A.jpg", 0.99)])
    alice = wiki.user("Alice")
    alice.edit(settings.stop_page, "Stop: the bot lists my holiday photos. --Alice")
    report = publish_review(site, store, settings, model_id=MODEL)
    assert "stop page" in report.halted and report.edits == 0
    assert alice.page_text(settings.review_page) is None

    alice.edit(settings.stop_page, "<!-- write anything here to stop the bot -->")
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.halted is None and report.added == 1


def test_blocked_bot_stops(site, store, settings, wiki, monkeypatch):
    really_blocked = safety.account_blocked
    add_flagged(store, [("File:A.jpg", 0.99)])
    sam = wiki.user("Sam")
    sam.api("POST", action="block", user="NsfwBot", expiry="1 day", reason="test",
            token=sam.token())
    try:
        report = publish_review(site, store, settings, model_id=MODEL)
        assert "blocked" in report.halted and report.edits == 0
        # blocked after the check: the save's API error "blocked" stops the run
        monkeypatch.setattr(safety, "account_blocked", lambda site: False)
        report = publish_review(site, store, settings, model_id=MODEL)
        assert "blocked (blocked)" in report.halted and report.edits == 0
        assert sam.page_text(settings.review_page) is None
        assert store.review_entries(settings.review_page) == []
    finally:
        sam.api("POST", action="unblock", user="NsfwBot", token=sam.token())
        assert not really_blocked(site)  # and no blocked userinfo left in pywikibot's cache


def test_simulate_writes_a_file_not_the_wiki(site, store, settings, wiki):
    ids = add_flagged(store, [("File:A.jpg", 0.99), ("File:B.jpg", 0.9)])
    settings = settings.replace(simulate=True)
    report = publish_review(site, store, settings, model_id=MODEL)
    path = simulate_path(settings.data_dir, settings.review_page)
    assert report.simulated[-1] == path and report.edits == 0
    assert entry_ids(path.read_text()) == ids
    assert wiki.user("Alice").page_text(settings.review_page) is None
    assert store.review_entries(settings.review_page) == []


def test_onwiki_config_valid_invalid_and_local_override(site, store, settings, wiki, tmp_path):
    from PIL import Image

    alice = wiki.user("Alice")
    files = {"Statue.png": "[[Category:Anatomy]]", "Painting.png": "[[Category:Nude paintings]]",
             "Photo.png": "", "Other.png": ""}
    for n, (name, text) in enumerate(files.items()):
        Image.new("RGB", (40, 30), (n * 60, 80, 120)).save(tmp_path / name)
        alice.upload(tmp_path / name, name, text=text)
    wiki.run_jobs()
    ids = add_flagged(store, [
        ("File:Statue.png", 0.99), ("File:Painting.png", 0.98), ("File:Photo.png", 0.97),
        {"title": "File:Other.png", "score": 0.96, "uploader": "Optedout"},
        ("File:Lowish.png", 0.85)])
    # only the bot's own account (and interface admins) configure the bot
    owner = wiki.user("NsfwBot")
    owner.edit(settings.config_page, """Bot settings.
<syntaxhighlight lang="json">
{"threshold": 0.9, "excluded_categories": ["Nude paintings"],
 "separate_categories": ["Anatomy"], "opt_out": ["Optedout"], "review_max_entries": 5}
</syntaxhighlight>""")
    report = publish_review(site, store, settings.replace(review_max_entries=200),
                            model_id=MODEL)
    assert report.config_source == "page" and report.problems == []
    assert (report.added, report.separate, report.skipped_excluded, report.skipped_opt_out) == \
        (2, 1, 1, 1)
    text = alice.page_text(settings.review_page)
    assert entry_ids(text) == [ids[2], ids[0]]          # main section, then the separate one
    assert text.index("|id=%d\n" % ids[0]) > text.index("== Separately listed categories ==")

    # invalid JSON: reported, and the last good configuration (threshold 0.9) stays
    owner.edit(settings.config_page,
               '<syntaxhighlight lang="json">{"threshold": 0.5,</syntaxhighlight>')
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.config_source == "last good"
    assert len(report.problems) == 1 and "invalid JSON" in report.problems[0]
    assert report.added == 0                            # Lowish (0.85) stays below 0.9

    # a local setting wins over the page
    report = publish_review(site, store, settings.replace(threshold=0.85), model_id=MODEL)
    assert report.added == 1


def test_command_line_publish(site, wiki, pywikibot_dir, tmp_path):
    """``python -m bot review publish`` with the default page titles (harvest is the same path)."""
    from storage import open_store

    data_dir = tmp_path / "cli"
    with open_store(data_dir=data_dir) as store:
        ids = add_flagged(store, [("File:A.jpg", 0.99)])
    env = {**os.environ, "PYWIKIBOT_DIR": str(pywikibot_dir)}
    env.pop("NSFWBOT_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", str(data_dir), "review", "publish",
         "--model-id", MODEL], env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert "+1 listed" in done.stdout
    text = wiki.user("Alice").page_text("User:CommonsNsfwBot/Review")
    assert entry_ids(text) == ids


def test_nothing_flagged_creates_no_page(site, store, settings, wiki):
    add_flagged(store, [("File:Safe.jpg", 0.1)])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert (report.added, report.edits) == (0, 0)
    assert wiki.user("Alice").page_text(settings.review_page) is None
