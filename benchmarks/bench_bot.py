"""The bot end to end against the local MediaWiki: throughput vs the classifier alone, and RSS over a backfill.

    .venv/bin/python benchmarks/bench_bot.py [--files 200] [--backfill 1000 --passes 10]

1. Throughput. ``--files`` real-photo JPEGs (640x480, scikit-image samples cropped
   and turned so each differs) are imported into a fresh local wiki. The peer is
   the classifier's own ``ScoringPipeline`` on the very thumbnails the bot will
   download (fetched beforehand, in memory); the bot is ``Bot.run_pass``: upload
   log, batched imageinfo, downloads, decoding, inference, SQLite writes. Peer,
   bot, peer again in one process; the ratio uses the mean of the two peers.
2. Memory. ``--backfill`` small generated images in one category are backfilled
   (ingest in chunks of 1,000, score, repeat, as ``python -m bot backfill`` does),
   ``--passes`` times under new model-id labels (importing into the local wiki
   runs at ~3-6 files/s here, so 10,000 distinct files would take most of an
   hour); RSS is read after scored file 1,000 and after the last one.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.localwiki import LocalWiki  # noqa: E402


def import_files(wiki: LocalWiki, directory: Path, *, text: str) -> None:
    """Bulk upload as Alice with MediaWiki's importImages.php (upload log entries included)."""
    import subprocess

    from bot.localwiki import MEDIAWIKI_DIR

    subprocess.run(["php", "maintenance/importImages.php", str(directory), "--user=Alice",
                    f"--comment={text}", "--extensions=jpg,png"], cwd=MEDIAWIKI_DIR,
                   env={**os.environ, "MW_CONFIG_FILE": str(wiki.settings_file)},
                   check=True, capture_output=True)


def make_photos(directory: Path, count: int) -> None:
    from bot.localwiki.demo import photo

    directory.mkdir(parents=True, exist_ok=True)
    sources = [photo(n).resize((800, 600)) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    for i in range(count):
        image = sources[i % 4].rotate((i // 4) * 3, expand=False).crop((i % 40, i % 30, 640 + i % 40, 480 + i % 30))
        image.save(directory / f"Photo {i:05d}.jpg", quality=88)


def make_small(directory: Path, count: int, seed: int = 0) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(directory / f"Small {i:05d}.png", optimize=False)


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--backfill", type=int, default=1_000, help="files imported for the backfill")
    parser.add_argument("--rss-at", type=int, default=1_000)
    parser.add_argument("--passes", type=int, default=1,
                        help="backfill the category this many times, each under a new model id label "
                             "(reaches 10,000 scorings with fewer imported files)")
    parser.add_argument("--dir", default=None, help="reuses a wiki already imported there")
    args = parser.parse_args()

    from bot.memory import limit_malloc_arenas

    limit_malloc_arenas()  # as `python -m bot` does first
    root = Path(args.dir or tempfile.mkdtemp(prefix="bench-bot-"))
    wiki = LocalWiki.create(root / "wiki")
    os.environ["PYWIKIBOT_DIR"] = str(wiki.write_pywikibot_config(root / "pywikibot"))
    try:
        run(wiki, root, args)
    finally:
        wiki.stop()


def run(wiki: LocalWiki, root: Path, args) -> None:
    import pywikibot

    from bot.config import Settings
    from bot.pipeline import build_scoring

    settings = Settings(data_dir=root / "data", lookback_hours=1)
    scoring = build_scoring(settings)
    pipeline, model_id = scoring.pipeline, scoring.model_id
    print(f"model {model_id} on {pipeline.classifier.runtime}, batch {pipeline.classifier.batch_size}, "
          f"{os.cpu_count()} CPUs")
    site = pywikibot.Site()
    site.login()

    if args.files:
        throughput(wiki, root, args, site=site, settings=settings, pipeline=pipeline, model_id=model_id)
    if args.backfill:
        backfill_rss(wiki, root, args, site=site, settings=settings, pipeline=pipeline, model_id=model_id)


def throughput(wiki, root, args, *, site, settings, pipeline, model_id) -> None:
    import requests

    import storage
    from bot.jobs import Bot
    from bot.metadata import file_versions
    from bot.pipeline import ScoringModel

    t = time.perf_counter()
    make_photos(root / "photos", args.files)
    import_files(wiki, root / "photos", text="benchmark photo")
    print(f"imported {args.files} photos in {time.perf_counter() - t:.1f} s")
    titles = [f"File:Photo {i:05d}.jpg" for i in range(args.files)]
    versions = file_versions(site, titles, thumb_width=settings.thumb_width)
    session = requests.Session()
    thumbs = [(t, session.get(v.thumb_url, timeout=60).content) for t, v in versions.items()]

    def peer() -> float:
        started = time.perf_counter()
        n = sum(1 for r in pipeline.score(thumbs) if r.ok)
        assert n == len(thumbs)
        return len(thumbs) / (time.perf_counter() - started)

    peer1 = peer()
    with storage.open_store(None, data_dir=root / "data-e2e") as store:
        bot = Bot(settings.replace(data_dir=root / "data-e2e"), site=site, store=store,
                  scoring=ScoringModel(pipeline, model_id))
        started = time.perf_counter()
        report = bot.run_pass(review=False)
        e2e = report.score.scored / (time.perf_counter() - started)
        assert report.score.scored == args.files, report.format()
    peer2 = peer()
    peer_rate = (peer1 + peer2) / 2
    print(f"classifier alone  {peer1:.1f} / {peer2:.1f} files/s (mean {peer_rate:.1f})")
    print(f"bot end to end    {e2e:.1f} files/s ({report.format()})")
    print(f"ratio             {e2e / peer_rate:.2f}x (goal >= 0.7x)")


def backfill_rss(wiki, root, args, *, site, settings, pipeline, model_id) -> None:
    import storage
    from bot.jobs import Bot
    from bot.pipeline import ScoringModel

    t = time.perf_counter()
    if not (root / "small").exists():  # a --dir from an earlier run has them already
        make_small(root / "small", args.backfill)
        import_files(wiki, root / "small", text="[[Category:Bench]]")
        wiki.run_jobs()
        print(f"imported {args.backfill} small files in {time.perf_counter() - t:.1f} s")
    samples: dict[int, float] = {}
    count = 0

    def on_result(version, result) -> None:
        # RSS in the middle of the pipeline, the same point every time: every rss_at-th file
        nonlocal count
        count += 1
        if count % args.rss_at == 0:
            samples[count] = rss_mib()

    data = Path(tempfile.mkdtemp(prefix="data-backfill-", dir=root))
    with storage.open_store(None, data_dir=data) as store:
        started = time.perf_counter()
        for n in range(args.passes):
            label = model_id if n == 0 else f"{model_id}+pass{n}"  # same model, scores stored apart
            bot = Bot(settings.replace(data_dir=data), site=site, store=store, scoring=ScoringModel(pipeline, label))
            while True:
                ingest = bot.ingest_category("Bench", depth=0, limit=1000)
                bot.score_pending(on_result=on_result)
                if ingest.done:
                    break
        seconds = time.perf_counter() - started
    last_at = max(samples)
    first, last = samples[args.rss_at], samples[last_at]
    print(f"backfill          {count} files in {seconds:.0f} s ({count / seconds:.1f} files/s)")
    print("RSS by file       " + ", ".join(f"{n}: {mib:.0f}" for n, mib in sorted(samples.items())) + " MiB")
    print(f"RSS               {first:.0f} MiB at file {args.rss_at}, {last:.0f} MiB at file {last_at} "
          f"({(last - first) / first * 100:+.1f}%, goal within 10%)")


if __name__ == "__main__":
    main()
