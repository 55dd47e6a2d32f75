"""Uploader context on every card matches what the API says, fetched in batches (real MediaWiki)."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from bot.metadata import batch_size
from bot.review import publish_review
from bot.review.page import parse_entries
from bot.review.uploaders import UploaderContext, format_age
from storage import VerdictIn

from .conftest import MODEL, add_flagged

pytestmark = pytest.mark.wiki


def _png(colour) -> io.BytesIO:
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(data, "PNG")
    data.seek(0)
    return data


def _upload(user, name, colour, tmp_path):
    path = tmp_path / name
    path.write_bytes(_png(colour).getvalue())
    user.upload(path, name)


def _cards(text: str) -> dict[str, dict[str, str]]:
    """``file -> {parameter: value}`` of every card on a page."""
    return {str(e.template.get("file").value).strip():
            {str(p.name).strip(): str(p.value).strip() for p in e.template.params}
            for e in parse_entries(text)}


class CountingRequests:
    """Counts the API requests pywikibot submits, by query module (list=..., prop=...)."""

    def __init__(self, monkeypatch):
        from pywikibot.data import api

        self.seen: list[dict] = []
        original = api.Request.submit

        def submit(request):
            # pywikibot keeps multi-valued parameters as lists; "|" joins them as sent
            self.seen.append({k: "|".join(map(str, v)) if isinstance(v, list) else str(v)
                              for k, v in request._params.items()})
            return original(request)

        monkeypatch.setattr(api.Request, "submit", submit)

    def count(self, **where) -> int:
        return sum(all(p.get(k) == v for k, v in where.items()) for p in self.seen)


def test_card_context_matches_the_api(site, store, settings, wiki, tmp_path):
    alice, sam = wiki.user("Alice"), wiki.user("Sam")
    for n, colour in enumerate(("red", "green")):
        _upload(alice, f"Alice upload {n}.png", colour, tmp_path)
    sam.api("POST", action="block", user="Auto", expiry="2036-01-01T00:00:00Z",
            reason="test", token=sam.token())
    # a deletion request: the {{delete}} family files the page into this category
    alice.edit("File:Discussed.jpg", "[[Category:Deletion requests November 2026]]")
    earlier = add_flagged(store, [("File:Old 1.jpg", 0.99), ("File:Old 2.jpg", 0.98),
                                  ("File:Old 3.jpg", 0.97), ("File:Old 4.jpg", 0.96)])
    ts = datetime(2026, 11, 21, tzinfo=timezone.utc)
    for vid, verdict, trusted in zip(earlier, ("nsfw", "out-of-scope", "sfw", "nsfw"),
                                     (True, True, True, False)):
        store.record_verdict(VerdictIn(version_id=vid, reviewer="Patty", verdict=verdict,
                                       revid=vid, timestamp=ts, trusted=trusted))
    add_flagged(store, [
        {"title": "File:Discussed.jpg", "score": 0.95, "page_id": 5001, "sha1": "a" * 40},
        {"title": "File:By Auto.jpg", "score": 0.94, "page_id": 5002, "sha1": "b" * 40,
         "uploader": "Auto"},
        {"title": "File:By IP.jpg", "score": 0.93, "page_id": 5003, "sha1": "c" * 40,
         "uploader": "192.0.2.7"}])

    publish_review(site, store, settings.replace(review_max_entries=50), model_id=MODEL)
    cards = _cards(wiki.user("Patty").page_text(settings.review_page))

    now = datetime.now(timezone.utc)
    for name, card in [("Alice", cards["Discussed.jpg"]), ("Auto", cards["By Auto.jpg"])]:
        (api_user,) = site.users([name])
        registered = datetime.fromisoformat(api_user["registration"].replace("Z", "+00:00"))
        assert card["edits"] == str(api_user["editcount"])
        assert card["account"] == format_age(registered, now)
        assert card["uploads"] == str(len(list(site.logevents(logtype="upload", user=name))))
        assert card["blocked"] == ("blocked until 2036-01-01" if "blockid" in api_user else "")
    assert cards["Discussed.jpg"]["uploads"] == "2"
    assert cards["By Auto.jpg"]["blocked"] == "blocked until 2036-01-01"
    # trusted answers only, each file once: the untrusted "nsfw" and the "sfw" are not shown
    assert cards["Discussed.jpg"]["answered"] == "1 nsfw, 1 out-of-scope"
    assert cards["By Auto.jpg"]["answered"] == "none"
    assert cards["Discussed.jpg"]["deletion"] == "deletion request open"
    assert cards["By Auto.jpg"]["deletion"] == ""
    # an IP has no account: nothing is made up
    assert [cards["By IP.jpg"][p] for p in ("account", "edits", "uploads", "blocked")] == [""] * 4


def test_context_is_fetched_in_batches_not_per_card(site, store, settings, wiki, monkeypatch):
    accounts = ["Alice", "Patty", "Sam", "Auto", "Ivy"]
    names = accounts + [f"Nobody {n}" for n in range(70)]      # 75 uploaders, 150 cards
    add_flagged(store, [{"title": f"File:F{n}.jpg", "score": 0.9 + n / 10000,
                         "uploader": names[n % len(names)], "page_id": 7000 + n,
                         "sha1": f"{n:040x}"} for n in range(150)])
    requests = CountingRequests(monkeypatch)
    report = publish_review(site, store, settings.replace(review_max_entries=200),
                            model_id=MODEL)
    assert report.added == 150
    per_query = batch_size(site)
    users = [p for p in requests.seen if p.get("list") == "users"]
    assert [p["usprop"] for p in users] == ["editcount|registration|blockinfo|groups"] * \
        -(-len(names) // per_query)
    assert sorted(n for p in users for n in p["ususers"].split("|")) == sorted(names)
    # one upload-log request per existing account, none per card and none for unknown names
    assert requests.count(list="logevents", letype="upload") == len(accounts)


def test_age_is_coarse():
    now = datetime(2026, 11, 29, tzinfo=timezone.utc)
    assert format_age(datetime(2026, 11, 28, 12, tzinfo=timezone.utc), now) == "under a day"
    assert format_age(datetime(2026, 11, 26, tzinfo=timezone.utc), now) == "3 days"
    assert format_age(datetime(2026, 8, 1, tzinfo=timezone.utc), now) == "4 months"
    assert format_age(datetime(2020, 1, 1, tzinfo=timezone.utc), now) == "6 years"
    assert UploaderContext("X", answered=(("nsfw", 2),)).answered_count("nsfw") == 2


def _revision_count(site, title: str) -> int:
    import pywikibot

    return len(list(pywikibot.Page(site, title).revisions()))


def test_context_that_moved_on_alone_makes_no_edit(site, store, settings, wiki, tmp_path):
    """An uploader's edit count changes every few minutes: that alone must not make the bot save
    the page (each save could conflict with a patroller answering); the next real save updates it."""
    alice = wiki.user("Alice")
    add_flagged(store, [("File:Context one.jpg", 0.97)])
    settings = settings.replace(review_max_entries=50)
    publish_review(site, store, settings, model_id=MODEL)
    title = settings.review_page
    before = _cards(wiki.user("Patty").page_text(title))["Context one.jpg"]["edits"]
    revisions = _revision_count(site, title)

    alice.edit("User:Alice/sandbox", "one more edit")  # Alice's edit count moves on
    publish_review(site, store, settings, model_id=MODEL)
    assert _revision_count(site, title) == revisions
    assert _cards(wiki.user("Patty").page_text(title))["Context one.jpg"]["edits"] == before

    add_flagged(store, [{"title": "File:Context two.jpg", "score": 0.96, "page_id": 6002,
                         "sha1": "d" * 40}])  # a real change: the page is saved anyway
    publish_review(site, store, settings, model_id=MODEL)
    assert _revision_count(site, title) == revisions + 1
    cards = _cards(wiki.user("Patty").page_text(title))
    assert int(cards["Context one.jpg"]["edits"]) == int(before) + 1
