"""The review page as patrollers see it: rendered by MediaWiki, loaded in headless chromium."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from bot.review import publish_review
from bot.review.page import ReviewPage

from storage import VerdictIn

from .chromium import Chromium
from .conftest import MODEL, add_flagged

pytestmark = [pytest.mark.wiki, pytest.mark.browser]

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "review-page.png"

CHECK = """(() => Array.from(document.querySelectorAll('.nsfw-review-entry')).map(e => {
  const img = e.querySelector('.nsfw-review-thumb img');
  const slot = e.querySelector('.nsfw-review-verdict-slot');
  return {id: e.dataset.id, thumb: img ? img.naturalWidth : -1,
          slot: !!slot && slot.offsetWidth > 0 && slot.offsetHeight > 0,
          verdict: slot ? slot.querySelector('.nsfw-review-verdict').textContent.trim() : null,
          file: e.querySelector('.nsfw-review-file').textContent.trim(),
          context: e.querySelector('.nsfw-review-uploader').textContent.trim(),
          alerts: e.querySelector('.nsfw-review-alerts').textContent.trim(),
          links: Array.from(e.querySelectorAll('.nsfw-review-links a')).map(a => a.href),
          height: e.offsetHeight, width: e.offsetWidth,
          overflow: Array.from(e.querySelectorAll('div')).some(
              d => d.scrollWidth > d.clientWidth + 1 && getComputedStyle(d).overflow !== 'hidden')};
}))()"""


def upload_samples(wiki, directory: Path) -> list[str]:
    alice = wiki.user("Alice")
    names = []
    for name, pixels in [("Astronaut portrait.jpg", data.astronaut()),
                         ("Coffee cup.jpg", data.coffee()), ("Chelsea the cat.jpg", data.chelsea()),
                         ("Rocket launch.jpg", data.rocket())]:
        Image.fromarray(pixels).save(directory / name, quality=85)
        alice.upload(directory / name, name)
        names.append(name)
    frames = [Image.fromarray(data.astronaut()).resize((160, 160)).rotate(a) for a in (0, 8, 16)]
    frames[0].save(directory / "Spinning astronaut.gif", save_all=True, append_images=frames[1:],
                   duration=400, loop=0)
    alice.upload(directory / "Spinning astronaut.gif", "Spinning astronaut.gif")
    return names + ["Spinning astronaut.gif"]


def test_every_entry_shows_its_thumbnail_and_verdict_slot(site, store, settings, wiki, tmp_path):
    names = upload_samples(wiki, tmp_path)
    # context worth showing: an earlier file of Alice's a patroller answered, a blocked
    # uploader, an open deletion request
    (earlier,) = add_flagged(store, [{"title": "File:Earlier.jpg", "score": 0.99,
                                      "page_id": 900, "sha1": "e" * 40}])
    store.record_verdict(VerdictIn(version_id=earlier, reviewer="Patty", verdict="nsfw",
                                   revid=1, timestamp=datetime(2026, 11, 1, tzinfo=timezone.utc),
                                   trusted=True))
    sam = wiki.user("Sam")
    sam.api("POST", action="block", user="Auto", expiry="2036-01-01T00:00:00Z", reason="test",
            token=sam.token())
    wiki.user("Alice").edit("File:" + names[1], "[[Category:Deletion requests November 2026]]")
    ids = add_flagged(store, [
        ("File:" + names[0], 0.97), ("File:" + names[1], 0.83),
        {"title": "File:" + names[2], "score": 0.91, "uploader": "Auto"},
        ("File:" + names[3], 0.88),
        {"title": "File:" + names[4], "score": 0.94, "media_type": "animated",
         "frames": ((0, 0.0, 0.62), (1, 0.4, 0.94), (2, 0.8, 0.95))}])
    report = publish_review(site, store, settings, model_id=MODEL)
    assert report.added == 5
    patty = wiki.user("Patty")
    page = ReviewPage(patty.page_text(settings.review_page))
    answered = page.find(ids[3]).template
    answered.get("verdict").value = "sfw\n"
    answered.get("comment").value = "A rocket launch, not explicit. --[[User:Patty|Patty]]\n"
    patty.edit(settings.review_page, str(page))

    url = f"{wiki.index_url}?title={settings.review_page.replace(' ', '_')}"
    with Chromium(tmp_path / "chromium") as browser:
        browser.open(url)
        entries = browser.evaluate(CHECK)
        shot = browser.screenshot(tmp_path / "review-page.png", selector="#content")

    assert sorted(int(e["id"]) for e in entries) == sorted(ids)
    assert all(e["thumb"] > 0 for e in entries), entries
    assert all(e["slot"] for e in entries), entries
    verdicts = {int(e["id"]): e["verdict"] for e in entries}
    assert verdicts[ids[3]] == "sfw" and verdicts[ids[0]] == ""
    # highest score first, as the page renders it
    assert [e["file"] for e in entries] == [names[0], names[4], names[2], names[3], names[1]]
    assert Image.open(shot).width > 800
    # uploader context on every card, compact: the cards keep their width, nothing spills
    by_id = {int(e["id"]): e for e in entries}
    assert all("edits" in e["context"] and "uploads" in e["context"] for e in entries), entries
    assert "1 nsfw" in by_id[ids[0]]["context"] and "5 uploads" in by_id[ids[0]]["context"]
    assert by_id[ids[2]]["alerts"] == "blocked until 2036-01-01"
    assert by_id[ids[1]]["alerts"] == "deletion request open" and by_id[ids[0]]["alerts"] == ""
    links = by_id[ids[0]]["links"]
    assert any("User_talk:Alice" in h for h in links) and \
        any("Special:ListFiles/Alice" in h for h in links) and \
        any("action=history" in h and "Astronaut" in h for h in links), links
    assert {e["width"] for e in entries} == {268} and not any(e["overflow"] for e in entries)
    assert max(e["height"] for e in entries) < 420, entries
    if os.environ.get("NSFWBOT_UPDATE_DOCS"):
        shutil.copy(shot, DOCS_SCREENSHOT)
