"""Batched metadata on the real wiki: how many ``imageinfo`` queries, what MediaWiki
normalises, what it reports missing.

The local wiki grants ``apihighlimits`` to the bot group (as Commons does) and not to a
normal user, so both batch sizes are the wiki's own decision here; requests are counted
by wrapping the client, nothing is faked.
"""
from __future__ import annotations

import hashlib

import pytest

from bot.metadata import file_versions

pytestmark = pytest.mark.wiki


class UserSite:
    """The two calls :func:`file_versions` makes of a pywikibot site, for a normal user's
    own logged-in session (pywikibot keeps one cookie jar per process, so a second account
    cannot log in through it); every request goes to the real API and is recorded."""

    def __init__(self, user) -> None:
        self.user = user
        self.requests: list[dict] = []

    def has_right(self, right: str) -> bool:
        rights = self.user.api(action="query", meta="userinfo", uiprop="rights")["query"]["userinfo"]
        return right in rights["rights"]

    def simple_request(self, **params):
        user, requests = self.user, self.requests

        class Request:
            def submit(self):
                requests.append(params)
                return user.api(**params)
        return Request()


@pytest.fixture
def counted(monkeypatch):
    """Every ``imageinfo`` query pywikibot submits, as its parameters."""
    from pywikibot.data import api

    seen: list[dict] = []
    submit = api.Request.submit

    def counting(self):
        if "imageinfo" in str(self._params.get("prop", "")):
            seen.append(dict(self._params))
        return submit(self)
    monkeypatch.setattr(api.Request, "submit", counting)
    return seen


def _uploaded(alice, path, name) -> tuple[int, str]:
    alice.upload(path, name)
    page = alice.api(action="query", titles=f"File:{name}")["query"]["pages"][0]
    return page["pageid"], hashlib.sha1(path.read_bytes()).hexdigest()


def test_one_query_per_50_titles_when_thumbnails_are_wanted_for_a_user_and_the_bot(wiki, site, media_dir,
                                                                                  counted):
    alice = wiki.user("Alice")
    # three real files, one in each batch of 50; the other titles are missing pages
    real = {0: "Example 0.jpg", 60: "Example 60.jpg", 119: "Example 119.jpg"}
    known = {n: _uploaded(alice, media_dir / f"{photo}.jpg", name)
             for (n, name), photo in zip(real.items(), ("coffee", "rocket", "chelsea"))}
    titles = [f"File:Example {n}.jpg" for n in range(120)]

    user = UserSite(alice)
    assert not user.has_right("apihighlimits")  # the wiki's decision, not the test's
    by_user = file_versions(user, titles, thumb_width=330, source="test")
    assert [len(r["titles"].split("|")) for r in user.requests] == [50, 50, 20]
    assert all(r["iiurlwidth"] == "330" and "sha1" in r["iiprop"] for r in user.requests)

    # issue 13: MediaWiki builds at most 50 thumbnail URLs a request, so even the bot,
    # whose apihighlimits would allow 500 titles, asks 50 at a time when thumbnails are wanted
    assert site.has_right("apihighlimits")
    by_bot = file_versions(site, titles, thumb_width=330, source="test")
    assert [len(r["titles"]) for r in counted] == [50, 50, 20]

    for versions in (by_user, by_bot):
        assert len(versions) == 120
        found = {t: v for t, v in versions.items() if v is not None}
        assert set(found) == {f"File:{name}" for name in real.values()}
        for n, name in real.items():
            v = versions[f"File:{name}"]
            assert (v.page_id, v.sha1) == known[n] and v.source == "test"
            assert v.thumb_url and "/thumb/" in v.thumb_url  # the wiki rendered it


def test_titles_as_people_write_them_are_normalised_by_mediawiki(wiki, site, media_dir):
    alice = wiki.user("Alice")
    page_id, sha1 = _uploaded(alice, media_dir / "coffee.jpg", "Example 7.jpg")
    asked = ["File:example_7.jpg", "Image:Example 7.jpg", "File:Missing.jpg", "File:Bad<title>.jpg"]
    versions = file_versions(site, asked, thumb_width=330, log_ids={"File:example_7.jpg": 99})
    assert list(versions) == asked
    v = versions["File:example_7.jpg"]  # keyed as asked, found under MediaWiki's own title
    assert v.title == "File:Example 7.jpg" and v.page_id == page_id and v.sha1 == sha1
    assert v.log_id == 99 and v.media_type == "bitmap" and v.uploader == "Alice"
    assert versions["Image:Example 7.jpg"].page_id == page_id and versions["Image:Example 7.jpg"].log_id is None
    assert versions["File:Missing.jpg"] is None and versions["File:Bad<title>.jpg"] is None
