"""ONNX exports on disk, found by model spec without importing torch or timm.

An index entry maps a model spec (plus what could change its weights: the
checkpoint file's hash, the timm version) to a :class:`ModelCard`; the ONNX file
itself is named by the weights hash, so two specs with the same weights share it.
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..cache import atomic_write_bytes, cache_dir, file_sha256
from ..model_card import ModelCard, is_checkpoint

__all__ = ["source_key", "lookup", "onnx_path", "remember"]

#: bump when the export changes (wrapper, opset), so old exports are not reused
EXPORT_FORMAT = 1


def source_key(spec: str | os.PathLike) -> str:
    """What identifies the weights a spec resolves to.

    For registered names that is the name and the timm version; a change to
    the open_nsfw conversion must bump :data:`EXPORT_FORMAT` too.
    """
    if is_checkpoint(spec):
        return f"file:{file_sha256(spec)}"
    try:
        timm_version = version("timm")
    except PackageNotFoundError:
        timm_version = "?"
    return f"{os.fspath(spec)}|timm={timm_version}"


def _index_path(spec: str | os.PathLike) -> Path:
    key = f"{EXPORT_FORMAT}|{source_key(spec)}"
    return cache_dir("onnx", "index") / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def onnx_path(weights_sha256: str) -> Path:
    return cache_dir("onnx") / f"{weights_sha256[:32]}-v{EXPORT_FORMAT}.onnx"


def lookup(spec: str | os.PathLike) -> tuple[Path, ModelCard] | None:
    """The cached export for ``spec`` and its card, or None.

    Without timm (the base install) a registered name or hub id cannot be
    resolved here, so the newest export of that spec made elsewhere (a cache
    folder copied from a machine with the ``torch`` extra) is used.
    """
    hit = _read(_index_path(spec))
    if hit is None and source_key(spec).endswith("|timm=?"):
        entries = sorted(cache_dir("onnx", "index").glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        hit = next((h for h in map(_read, entries) if h is not None and h[0] == os.fspath(spec)), None)
    if hit is None:
        return None
    path = onnx_path(hit[1].weights_sha256)
    return (path, hit[1]) if path.is_file() else None


def _read(index: Path) -> tuple[str, ModelCard] | None:
    try:
        data = json.loads(index.read_text())
        return data["spec"], ModelCard.from_dict(data["card"])
    except (OSError, ValueError, KeyError):
        return None


def remember(spec: str | os.PathLike, card: ModelCard) -> None:
    """Record that ``spec`` resolves to ``card`` (whose export must already be at :func:`onnx_path`)."""
    atomic_write_bytes(_index_path(spec), json.dumps({"spec": os.fspath(spec), "card": card.to_dict()},
                                                     indent=1).encode())
