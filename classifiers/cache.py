"""Where converted weights and ONNX exports live, and how files are fingerprinted.

Torch-free on purpose: the onnxruntime path reads this cache without importing
torch or timm.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "file_sha256", "atomic_write_bytes"]

CACHE_ENV = "NSFWBOT_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    """The classifier cache (``$NSFWBOT_CACHE_DIR``, else the user cache dir), created on demand."""
    root = Path(os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("commons-nsfw-bot"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that readers see either nothing or the whole file (parallel workers share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
