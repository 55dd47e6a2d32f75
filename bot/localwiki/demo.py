"""``python -m bot demo``: the bot's main job end to end on a throwaway wiki, in about a minute.

1. a local MediaWiki (Debian's package) in a temporary directory, on loopback;
2. a normal user uploads real photos (scikit-image's samples), an animated GIF
   and a WebM video, and re-uploads one file (a new version);
3. ``python -m bot run`` runs as cron would run it (its own process, pywikibot
   config through ``PYWIKIBOT_DIR``, SQLite, the default open_nsfw model) and
   posts the review page;
4. it prints where to look.

The demo threshold is deliberately LOW, so that harmless photos get listed and
the review page has something to show. It says so, loudly.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
from PIL import Image

from bot.config import Settings
from bot.exit_codes import EXIT_WIKI

from . import LocalWiki, LocalWikiError

__all__ = ["run_demo", "DEMO_THRESHOLD", "photo", "animated_gif", "webm_video", "upload_samples"]

#: far below any real threshold (0.8): everything a little skin-toned gets listed
DEMO_THRESHOLD = 0.02

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def photo(name: str) -> Image.Image:
    """A real photograph from scikit-image's bundled sample data, as RGB."""
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(image[..., :3]))


def animated_gif(path: Path, *, frames: int = 6) -> Path:
    """An animated GIF of a real photo turning (every frame differs)."""
    base = photo("chelsea").resize((160, 120))
    shots = [base.rotate(i * 15) for i in range(frames)]
    shots[0].save(path, save_all=True, append_images=shots[1:], duration=100, loop=0)
    return path


def webm_video(path: Path, *, seconds: float = 2.0, fps: int = 10) -> Path:
    """A small VP8 WebM (PyAV) panning across a real photo."""
    import av

    source = np.asarray(photo("coffee").resize((320, 240)))
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(int(seconds * fps)):
            x = int(i * 160 / (seconds * fps))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(source[60:180, x:x + 160]),
                                               format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def upload_samples(wiki, directory: Path) -> list[str]:
    """Alice uploads the sample set and a second version of one file; returns the titles."""
    directory.mkdir(parents=True, exist_ok=True)
    alice = wiki.user("Alice")
    titles = []
    for name in PHOTOS:
        path = directory / f"{name}.jpg"
        photo(name).save(path, quality=90)
        alice.upload(path, f"Sample {name}.jpg", text="A sample photo from scikit-image.")
        titles.append(f"File:Sample {name}.jpg")
    for path, title in ((animated_gif(directory / "cat.gif"), "Sample cat animation.gif"),
                        (webm_video(directory / "coffee.webm"), "Sample coffee pan.webm")):
        alice.upload(path, title)
        titles.append(f"File:{title}")
    flipped = directory / "astronaut-flipped.jpg"
    photo("astronaut").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped, quality=90)
    alice.upload(flipped, "Sample astronaut.jpg", comment="a new version")
    return titles


def _banner(text: str) -> None:
    line = "=" * 78
    print(f"\n{line}\n{text}\n{line}", flush=True)


def run_demo(settings: Settings, *, keep_running: bool = False, directory: str | None = None) -> int:
    root = Path(directory or tempfile.mkdtemp(prefix="nsfwbot-demo-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    threshold = DEMO_THRESHOLD if settings.threshold == Settings().threshold else settings.threshold
    _banner(f"commons-nsfw-bot demo in {root}")
    try:
        started = time.monotonic()
        wiki = LocalWiki.create(root / "wiki")
    except LocalWikiError as e:
        print(f"cannot start the local wiki: {e}", file=sys.stderr)
        return EXIT_WIKI
    try:
        print(f"local MediaWiki up at {wiki.base_url} ({time.monotonic() - started:.1f} s)")
        titles = upload_samples(wiki, root / "samples")
        print(f"Alice uploaded {len(titles)} files (photos, an animated GIF, a WebM video) "
              "and a new version of one")
        pywikibot_dir = wiki.write_pywikibot_config(root / "pywikibot")
        config = root / "bot.toml"
        config.write_text("\n".join([
            f'data_dir = "{root / "data"}"',
            f'model = "{settings.model}"',
            f'runtime = "{settings.runtime}"',
            f"threshold = {threshold}",
            "lookback_hours = 1.0",
            "max_edits_per_minute = 120.0  # a local wiki; on Commons keep the default",
        ]) + "\n")
        env = {**os.environ, "PYWIKIBOT_DIR": str(pywikibot_dir), "NSFWBOT_CONFIG": str(config)}
        _banner(f"WARNING: demo threshold {threshold} (real default {Settings().threshold}): harmless\n"
                "photos WILL be listed as 'flagged'. That shows the review page working; it says\n"
                "nothing about the model. Run without the demo for real thresholds.")
        command = [sys.executable, "-m", "bot", "run"]
        print(f"$ PYWIKIBOT_DIR={pywikibot_dir} NSFWBOT_CONFIG={config} python -m bot run", flush=True)
        code = subprocess.call(command, env=env)
        review = settings.review_page
        status_command = f"PYWIKIBOT_DIR={pywikibot_dir} NSFWBOT_CONFIG={config} {sys.executable} -m bot status"
        _banner("where to look")
        print(f"review page   {wiki.index_url}?title={quote(review.replace(' ', '_'), safe=':/')}")
        print(f"upload log    {wiki.index_url}?title=Special:Log/upload")
        print(f"database      {root / 'data' / 'bot.sqlite3'}")
        print(f"thumbnails    {root / 'data' / 'thumbs'} (flagged files, kept for evaluation)")
        print(f"status        {status_command}")
        print(f"bot exit code {code} (0 = all good; see docs/operator.md)")
        if keep_running:
            print("\nthe wiki stays up: press Ctrl-C to stop it", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        else:
            print("\nthe wiki has been stopped; `python -m bot demo --keep-running` leaves it up to browse")
        return code
    finally:
        wiki.stop()
