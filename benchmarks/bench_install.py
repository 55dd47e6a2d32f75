"""The base install as a Toolforge job gets it: venv size, peak RSS from a cold cache, warm start-up time.

    .venv/bin/python benchmarks/bench_install.py [--photos 4]

Builds a fresh venv with ``pip install PROJECT`` (no extras; pip's cache is
used), then measures, each in a new process:

* the venv's size (budget: 600 MB);
* peak RSS of ``python -m classifiers score PHOTO`` and of ``python -m bot run``
  (against a fresh local wiki with ``--photos`` real photos uploaded), both from
  an empty classifier cache (budget: 300 MB each, under Toolforge's 512 MiB);
* warm start-up: wall time of ``classifiers score PHOTO`` (best of 5).

The peer, measured in the same run, is this checkout's full venv (torch
installed): the same ``score`` on ``--runtime torch-cpu``. Figures go to
docs/performance.md, "The base install".
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VENV_BUDGET_MB, RSS_BUDGET_MB = 600, 300
#: reports the peak RSS (MB) of the command it runs, whatever that command prints
PEAK = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")


def build_base_venv(root: Path) -> Path:
    source = root / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "tests", "benchmarks", "docs"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True)
    return python


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def peak_rss(command: list[str], env: dict[str, str]) -> float:
    """Peak RSS in MB of ``command`` (a fresh process); raises when it fails."""
    out = subprocess.run([sys.executable, "-c", PEAK, *command], env=env, capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    rc, mb = out.stdout.split()
    if rc != "0":
        raise RuntimeError(f"{command} exited {rc}")
    return float(mb)


def best_wall(command: list[str], env: dict[str, str], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=tempfile.gettempdir())
        times.append(time.perf_counter() - started)
    return min(times)


def bot_run_rss(python: Path, env: dict[str, str], root: Path, photos: int) -> float:
    """Peak RSS of one ``bot run`` from a cold cache against a fresh local wiki with real photos."""
    from bot.localwiki.demo import photo
    from bot.localwiki import LocalWiki, free_port

    wiki = LocalWiki.create(root / "wiki", port=free_port())
    try:
        names = ("astronaut", "coffee", "chelsea", "rocket")
        alice = wiki.user("Alice")
        for i in range(photos):
            path = root / f"photo{i}.jpg"
            photo(names[i % len(names)]).rotate(90 * (i // len(names)), expand=True).save(path)
            alice.upload(path, f"Bench photo {i}.jpg")
        config = wiki.write_pywikibot_config(root / "pywikibot")
        env = {**env, "PYWIKIBOT_DIR": str(config), "NSFWBOT_CACHE_DIR": str(root / "bot-cache")}
        return peak_rss([str(python), "-m", "bot", "run", "--data-dir", str(root / "data"),
                         "--lookback-hours", "1", "--no-review"], env)
    finally:
        wiki.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=4, help="photos uploaded for bot run (default: 4)")
    args = parser.parse_args()
    from bot.localwiki.demo import photo

    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        python = build_base_venv(root)
        print(f"base venv built in {time.perf_counter() - started:.0f} s (pip cache: warm if run before)")
        image = root / "photo.jpg"
        photo("astronaut").save(image)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NSFWBOT_CONFIG")}
        base_mb = size_mb(root / "venv")
        print(f"venv size           {base_mb:7.0f} MB   (budget {VENV_BUDGET_MB})")

        score = [str(python), "-m", "classifiers", "score", str(image)]
        cold = peak_rss(score, {**env, "NSFWBOT_CACHE_DIR": str(root / "cold-cache")})
        warm = peak_rss(score, {**env, "NSFWBOT_CACHE_DIR": str(root / "cold-cache")})
        peer_env = {**env, "PYTHONPATH": str(ROOT), "NSFWBOT_CACHE_DIR": str(root / "peer-cache")}
        peer = [sys.executable, "-m", "classifiers", "score", "--runtime", "torch-cpu", str(image)]
        peer_rss = peak_rss(peer, peer_env)
        print(f"score, cold cache   {cold:7.0f} MB   (budget {RSS_BUDGET_MB}); warm {warm:.0f} MB; "
              f"peer (full venv, torch-cpu) {peer_rss:.0f} MB: {cold / peer_rss:.2f}x the peer")
        bot = bot_run_rss(python, env, root, args.photos)
        print(f"bot run, cold cache {bot:7.0f} MB   (budget {RSS_BUDGET_MB}), {args.photos} photos")
        startup = best_wall(score, {**env, "NSFWBOT_CACHE_DIR": str(root / "cold-cache")})
        peer_startup = best_wall(peer, peer_env)
        print(f"score start-up, warm {startup:6.2f} s   (best of 5); peer {peer_startup:.2f} s: "
              f"{startup / peer_startup:.2f}x the peer")
        ok = base_mb <= VENV_BUDGET_MB and max(cold, bot) <= RSS_BUDGET_MB
        print("budgets met" if ok else "BUDGET EXCEEDED")


if __name__ == "__main__":
    main()
