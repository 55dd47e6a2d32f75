"""The base install, as a Toolforge job gets it: a fresh venv with the package and no extras.

pip installs from PyPI (with pip's cache), so the first run takes a minute.
The bot then runs one cron pass against the local wiki on the default model,
and features of the torch extra are refused in one line (exit 2).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import storage

pytestmark = [pytest.mark.slow, pytest.mark.wiki]

ROOT = Path(__file__).resolve().parents[1]
#: what the base install must not contain (setup.cfg's torch and train extras)
HEAVY = ("torch", "torchvision", "timm", "onnx", "onnxscript", "matplotlib")


def copy_source(target: Path) -> Path:
    """The project's source without venvs, caches and tests (a pip build then writes nothing into ROOT)."""
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", "tests", "benchmarks", "docs"))
    return target


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory) -> Path:
    """A fresh venv with ``pip install PROJECT`` (no extras); returns its python."""
    root = tmp_path_factory.mktemp("base-install")
    source = copy_source(root / "src")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return python


def base_env(pywikibot_dir: Path, cache: Path) -> dict[str, str]:
    """No PYTHONPATH: the venv's installed package runs, not this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NSFWBOT_CONFIG")}
    return {**env, "PYWIKIBOT_DIR": str(pywikibot_dir), "NSFWBOT_CACHE_DIR": str(cache)}


def test_base_install_has_no_torch(base_venv):
    code = f"import importlib.util as u; print([m for m in {HEAVY!r} if u.find_spec(m)])"
    out = subprocess.run([str(base_venv), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bot_run_on_the_base_install(base_venv, wiki, pywikibot_dir, tmp_path):
    """One cron pass from a cold cache scores the uploads with the default model: exit 0."""
    alice = wiki.user("Alice")
    for i, colour in enumerate(("#3a6", "#a63")):
        path = tmp_path / f"upload{i}.jpg"
        Image.new("RGB", (320, 240), colour).save(path)
        alice.upload(path, f"Base install {i}.jpg")
    data = tmp_path / "data"
    env = base_env(pywikibot_dir, tmp_path / "cache")
    done = subprocess.run([str(base_venv), "-m", "bot", "run", "--data-dir", str(data), "--lookback-hours", "1",
                           "--no-review"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    with storage.open_store(None, data_dir=data) as store:
        status = store.status()
    assert status.scored >= 2, status


def test_torch_runtime_is_refused_in_one_line(base_venv, wiki, pywikibot_dir, tmp_path):
    env = base_env(pywikibot_dir, tmp_path / "cache")
    done = subprocess.run([str(base_venv), "-m", "bot", "run", "--data-dir", str(tmp_path / "data"),
                           "--runtime", "torch-cpu", "--no-review"], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "needs the 'torch' extra: pip install 'commons-nsfw-bot[torch]'" in done.stderr.strip().splitlines()[-1]
