"""Media decoding benchmarks (issue 3). Run by hand; prints ratios against a peer
measured in the same run. Inputs are encoded once and cached (see --cache).

    .venv/bin/python benchmarks/bench_media.py            # all three
    .venv/bin/python benchmarks/bench_media.py seek rss   # some

seek  16 frames from a 10-minute 480p VP9 WebM: keyframe seeking (read_frames)
      vs decoding every frame and picking the frames nearest the same targets.
rss   peak RSS above the baseline of a fresh process while sampling a 1080p
      VP9 WebM (and the same file written without duration, which forces the
      sequential path), measured in subprocesses.
gif   a 1,000-frame animated GIF sampled (16 frames) and scored vs 16 stills
      of the same size decoded and scored (the same number of scored frames),
      and vs 1,000 stills (as many stills as the GIF has frames).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classifiers.cache import cache_dir  # noqa: E402
from classifiers.media import read_frames  # noqa: E402
from classifiers.media.video import target_times  # noqa: E402

#: TimedMediaHandler's WebM transcodes put a keyframe every 128 frames
KEYFRAME_INTERVAL = 128


def encode_video(path: Path, *, seconds: int, fps: int, width: int, height: int,
                 live: bool = False) -> Path:
    """VP9 in WebM, libvpx realtime mode (cpu-used 8): a photo panning under frame-number blocks."""
    if path.exists():
        return path
    import av
    from PIL import Image
    from skimage import data

    backdrop = np.asarray(Image.fromarray(data.astronaut()).resize((width * 2, height)))
    tmp = path.with_suffix(".part")
    t0 = time.perf_counter()
    with av.open(str(tmp), "w", format="webm", container_options={"live": "1"} if live else {}) as out:
        stream = out.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = KEYFRAME_INTERVAL
        stream.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "b": "600k"}
        for i in range(seconds * fps):
            shift = (i * 4) % width
            frame = np.ascontiguousarray(backdrop[:, shift:shift + width])
            frame[: height // 8, : (i % width)] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    tmp.rename(path)
    print(f"  encoded {path.name}: {seconds}s {width}x{height} @ {fps} fps in "
          f"{time.perf_counter() - t0:.0f} s ({path.stat().st_size / 2**20:.1f} MiB)")
    return path


def decode_everything(path: Path, targets: list[float]) -> tuple[list[float], int]:
    """The peer: decode every frame; keep, for each target, the frame nearest to it."""
    import av
    best = [(float("inf"), None)] * len(targets)
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            count += 1
            t = float(frame.pts * stream.time_base)
            for j, target in enumerate(targets):
                if abs(t - target) < best[j][0]:
                    best[j] = (abs(t - target), t)
    return [t for _, t in best], count


def bench_seek(cache: Path) -> None:
    print("seek: 16 frames from a 10-minute 480p VP9 WebM")
    path = encode_video(cache / "vp9-480p-10min.webm", seconds=600, fps=10, width=854, height=480)
    t0 = time.perf_counter()
    decoded = read_frames(path, frames=16)
    seek_s = time.perf_counter() - t0
    targets = target_times(0.0, decoded.duration, 16)
    t0 = time.perf_counter()
    nearest, count = decode_everything(path, targets)
    full_s = time.perf_counter() - t0
    gap = max(abs(f.time - t) for f, t in zip(decoded.frames, nearest))
    print(f"  keyframe seeking: {seek_s:.3f} s for {len(decoded.frames)} frames")
    print(f"  decode every frame: {full_s:.2f} s for {count} frames")
    print(f"  ratio: {full_s / seek_s:.0f}x faster (goal >= 20x)")
    print(f"  largest distance from the exact target frame: {gap:.1f} s "
          f"(keyframe interval {KEYFRAME_INTERVAL / 10:.1f} s)")


def _rss_child(path: str, frames: int) -> None:
    """In a fresh process: resident memory sampled every 2 ms while sampling, in MB.

    (``ru_maxrss`` cannot be used: Linux carries the parent's high-water mark
    across fork and exec.)
    """
    import threading

    import av  # noqa: F401 - part of the baseline, as in a worker that has decoded before
    import psutil

    me = psutil.Process()
    baseline = me.memory_info().rss / 2**20
    peak = baseline
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, me.memory_info().rss / 2**20)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    t0 = time.perf_counter()
    decoded = read_frames(path, frames=frames)
    seconds = time.perf_counter() - t0
    done.set()
    watcher.join()
    peak = max(peak, me.memory_info().rss / 2**20)
    print(json.dumps({"baseline_mb": baseline, "peak_mb": peak, "seconds": seconds,
                      "frames": len(decoded.frames), "error": decoded.error_kind,
                      "size": decoded.frames[0].image.size}))


def bench_rss(cache: Path) -> None:
    print("rss: peak RSS while sampling a 1080p VP9 WebM (fresh subprocess each)")
    files = {
        "keyframe seeking": encode_video(cache / "vp9-1080p-60s.webm", seconds=60, fps=10,
                                         width=1920, height=1080),
        "sequential (no duration)": encode_video(cache / "vp9-1080p-60s-live.webm", seconds=60,
                                                 fps=10, width=1920, height=1080, live=True),
    }
    for label, path in files.items():
        out = subprocess.run([sys.executable, __file__, "_rss", str(path)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"  {label}: +{r['peak_mb'] - r['baseline_mb']:.0f} MB above a baseline of "
              f"{r['baseline_mb']:.0f} MB (goal <= 300 MB); {r['frames']} frames of {r['size']} "
              f"in {r['seconds']:.2f} s, error={r['error']}")


def encode_gif(path: Path, *, n: int, size: tuple[int, int], optimize: bool = True) -> Path:
    """A photo panning over ``n`` frames. Pillow's default marks unchanged pixels
    transparent (every frame depends on the previous one, as gifsicle and FFmpeg
    write GIFs); ``optimize=False`` writes whole opaque frames, as ImageMagick does."""
    if path.exists():
        return path
    from PIL import Image
    from skimage import data
    backdrop = Image.fromarray(data.chelsea()).resize((size[0] * 2, size[1]))
    frames = [backdrop.crop((i % size[0], 0, i % size[0] + size[0], size[1])).quantize(64)
              for i in range(n)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=40, loop=0,
                   optimize=optimize)
    return path


def bench_gif(cache: Path) -> None:
    print("gif: a 1,000-frame animated GIF (320x240) vs 16 stills of the same size")
    gif = encode_gif(cache / "anim-1000.gif", n=1000, size=(320, 240))
    whole = encode_gif(cache / "anim-1000-whole-frames.gif", n=1000, size=(320, 240), optimize=False)
    from PIL import Image
    stills = []
    with Image.open(gif) as im:
        for i in range(16):
            im.seek(i * 60)
            p = cache / f"still-{i}.gif"
            if not p.exists():
                im.save(p)
            stills.append(p)
    try:
        from classifiers import load_classifier
        clf = load_classifier(runtime="onnxruntime")
        clf.score_images([Image.new("RGB", (256, 256))] * 2)  # warm up
        score = clf.score_images
        print(f"  classifier: {clf.model_id} on {clf.runtime}")
    except Exception as e:  # noqa: BLE001 - the benchmark still times decoding
        print(f"  classifier unavailable ({type(e).__name__}: {e}): timing sampling only")
        score = None

    def run_gif():
        images = [f.image for f in read_frames(gif, frames=16).frames]
        if score:
            score(images)
        return len(images)

    def run_whole():
        images = [f.image for f in read_frames(whole, frames=16).frames]
        if score:
            score(images)
        return len(images)

    def run_stills():
        images = [read_frames(p).frames[0].image for p in stills]
        if score:
            score(images)
        return len(images)

    for fn in (run_gif, run_whole, run_stills):  # warm caches
        fn()
    t_gif = min(_timed(run_gif) for _ in range(3))
    t_whole = min(_timed(run_whole) for _ in range(3))
    t_stills = min(_timed(run_stills) for _ in range(3))
    print(f"  16 stills: {t_stills:.3f} s")
    print(f"  GIF whose frames depend on their predecessors, 16 of 1,000 frames: {t_gif:.3f} s; "
          f"ratio {t_gif / t_stills:.2f} (goal < 2)")
    print(f"  GIF of whole opaque frames (decoding starts near each target): {t_whole:.3f} s; "
          f"ratio {t_whole / t_stills:.2f} (goal < 2)")

    def run_1000_stills():
        for k in range(0, 1000, 16):
            images = [read_frames(p).frames[0].image for p in stills[: min(16, 1000 - k)]]
            if score:
                score(images)

    t_1000 = _timed(run_1000_stills)
    print(f"  1,000 stills (as many as the GIF has frames), decoded and scored: {t_1000:.2f} s; "
          f"GIF / 1,000 stills = {t_gif / t_1000:.2f}")
    with Image.open(gif) as im:
        t0 = time.perf_counter()
        for i in range(1, 1000):
            im.seek(i)
        im.load()
        walk = time.perf_counter() - t0
    print(f"  Pillow's sequential walk through the 1,000 GIF frames alone: {walk:.2f} s "
          f"({walk:.2f} ms per frame)")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", default=["seek", "rss", "gif"])
    parser.add_argument("--cache", type=Path, default=cache_dir("bench-media"),
                        help="where encoded inputs are kept between runs (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.which[:1] == ["_rss"]:
        return _rss_child(args.which[1], 16)
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}, cache: {args.cache}")
    for name in args.which:
        {"seek": bench_seek, "rss": bench_rss, "gif": bench_gif}[name](args.cache)


if __name__ == "__main__":
    main()
