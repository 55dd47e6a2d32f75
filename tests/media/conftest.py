"""Media made once per session by real encoders (see makers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from .makers import make_video


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def vp9_video(media_dir: Path) -> Path:
    """20 s, 10 fps, a keyframe every 2 s (20 frames): 200 frames in all."""
    return make_video(media_dir / "vp9.webm", seconds=20, fps=10, gop=20)


@pytest.fixture(scope="session")
def vp9_dense_keys(media_dir: Path) -> Path:
    """20 s, 10 fps, a keyframe every 0.5 s."""
    return make_video(media_dir / "vp9-dense.webm", seconds=20, fps=10, gop=5)


@pytest.fixture(scope="session")
def live_webm(media_dir: Path) -> Path:
    """A WebM written as a live stream: no duration, no cues (nothing to seek by)."""
    return make_video(media_dir / "live.webm", seconds=6, fps=10, gop=10,
                      container_options={"live": "1"})
