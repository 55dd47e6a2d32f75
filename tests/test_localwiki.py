"""The throwaway wiki itself: accounts, uploads, thumbnails, reset, pywikibot login."""
from __future__ import annotations

import io

import requests
from PIL import Image
from skimage import data


def test_upload_thumbnail_and_reset(wiki, tmp_path):
    alice = wiki.user("Alice")
    path = tmp_path / "Coffee.jpg"
    Image.fromarray(data.coffee()).save(path)
    alice.upload(path, "Coffee test.jpg")

    info = alice.api(action="query", prop="imageinfo", titles="File:Coffee test.jpg",
                     iiprop="url|sha1|user", iiurlwidth=330)["query"]["pages"][0]["imageinfo"][0]
    assert info["user"] == "Alice"
    thumb = requests.get(info["thumburl"], timeout=30)
    assert thumb.ok, thumb.text[:500]
    assert Image.open(io.BytesIO(thumb.content)).width == 330

    wiki.reset()
    page = alice.api(action="query", titles="File:Coffee test.jpg")["query"]["pages"][0]
    assert page.get("missing")
    # Accounts and sessions survive a reset.
    assert alice.edit("User:Alice/sandbox", "still logged in")["result"] == "Success"


def test_groups_of_accounts(wiki):
    users = wiki.user("Sam").api(action="query", list="users",
                                 ususers="Patty|Sam|NsfwBot|Mallory", usprop="groups")
    groups = {u["name"]: set(u["groups"]) for u in users["query"]["users"]}
    assert "patroller" in groups["Patty"]
    assert "sysop" in groups["Sam"]
    assert "bot" in groups["NsfwBot"]
    assert not groups["Mallory"] & {"patroller", "sysop", "bot"}


def test_pywikibot_logs_in_as_the_bot(wiki):
    import pywikibot

    site = pywikibot.Site()
    site.login()
    assert site.user() == "NsfwBot"
    assert site.has_right("bot")
