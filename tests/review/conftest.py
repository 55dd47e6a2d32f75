"""Fixtures for the review page: a fresh store, the bot's site, settings and flagged files."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config import Settings
from storage import FileVersionIn, ScoreIn, open_store

MODEL = "opennsfw_resnet50_1by2@0123456789ab"
REVIEW = "User:NsfwBot/Review"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "bot" / "review" / "templates"


@pytest.fixture
def store(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}") as s:
        yield s


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", review_page=REVIEW,
                    config_page="User:NsfwBot/Config", stop_page="User:NsfwBot/Stop",
                    max_edits_per_minute=6000.0, review_max_entries=10)


@pytest.fixture(scope="session")
def bot_site(local_wiki):
    """The bot's pywikibot site, logged in once (resets keep sessions)."""
    import pywikibot

    site = pywikibot.Site()
    site.login()
    return site


@pytest.fixture
def site(wiki, bot_site):
    """The bot's site on a freshly reset wiki."""
    return bot_site


def add_flagged(store, items, *, model: str = MODEL) -> list[int]:
    """Store flagged versions: ``items`` are ``(title, score)`` or dicts of FileVersionIn fields
    plus ``score``, ``media_type`` and ``frames``. :returns: their version ids."""
    versions, scores = [], []
    base = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            item = {"title": item[0], "score": item[1]}
        item = dict(item)
        score = item.pop("score")
        media_type = item.pop("media_type", "still")
        frames = item.pop("frames", ((0, None, score),))
        versions.append(FileVersionIn(**{
            "page_id": 1000 + n, "sha1": f"{n:040x}", "uploader": "Alice",
            "uploaded_at": base + timedelta(minutes=n), "media_type": media_type, **item}))
        scores.append(ScoreIn(flagged=True, score=score, media_type=media_type, frames=frames))
    ids = store.add_file_versions(versions)
    store.record_scores([(v, model, s) for v, s in zip(ids, scores)])
    return ids
