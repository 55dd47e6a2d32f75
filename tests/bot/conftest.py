"""Fixtures for the bot's tests: real media, the real classifier, settings in a temp dir, the wiki's site."""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot.config import Settings
from bot.localwiki.demo import animated_gif, photo, webm_video  # noqa: F401 (re-exported for the tests)

ROOT = Path(__file__).resolve().parents[2]


def save_photo(directory: Path, name: str, *, fmt: str = "JPEG", suffix: str = ".jpg") -> Path:
    path = directory / f"{name}{suffix}"
    photo(name).save(path, fmt)
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Real sample files: three photos, a second version of one, an animated GIF and a WebM video."""
    d = tmp_path_factory.mktemp("media")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        save_photo(d, name)
    photo("astronaut").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(d / "astronaut-v2.jpg")
    animated_gif(d / "cat.gif")
    webm_video(d / "coffee.webm")
    return d


@pytest.fixture(scope="session")
def scoring():
    """The real default classifier (open_nsfw) in a ScoringPipeline, loaded once."""
    from bot.pipeline import build_scoring

    return build_scoring(Settings(frames=4))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", lookback_hours=1, frames=4, batch_size=8,
                    overlap_seconds=120, retry_backoff_seconds=0)


@pytest.fixture
def store(settings):
    import storage

    store = storage.open_store(None, data_dir=settings.data_dir)
    yield store
    store.close()


@pytest.fixture
def site(wiki):
    """pywikibot's site for the bot account on the (freshly reset) local wiki."""
    import pywikibot

    site = pywikibot.Site()
    site.login()
    return site


@pytest.fixture(scope="session")
def bot_env(pywikibot_dir) -> dict[str, str]:
    """Environment for ``python -m bot`` subprocesses: the same wiki and pywikibot config."""
    env = {**os.environ, "PYWIKIBOT_DIR": str(pywikibot_dir), "PYTHONPATH": str(ROOT)}
    env.pop("NSFWBOT_CONFIG", None)
    return env


def bot_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot", *args]


def jpeg_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG")
    return buf.getvalue()
