"""A labelled folder: the files patrollers (or anyone) have judged, as plain data.

Layout (what ``python -m bot export-labelled DIR`` writes, and what
``python -m classifiers evaluate|train`` read)::

    DIR/sfw/...            safe files (any depth, any media the classifier decodes)
    DIR/nsfw/...           NSFW files
    DIR/manifest.jsonl     optional: one JSON object per line,
                           {"path": "nsfw/x.jpg", "label": "nsfw", "categories": ["Nudes"], ...}
    DIR/manifest.csv       optional, the same as CSV: path,label,category
                           (several categories separated by "|")

The folder decides the label of files under ``sfw/``/``nsfw/``; a manifest adds
categories (and any other keys, kept in :attr:`LabelledItem.extra`) and may
list files elsewhere in ``DIR`` with their label. A manifest label that
contradicts the folder is an error, never silently resolved.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

__all__ = ["LABELS", "LabelledItem", "read_labelled_folder", "write_manifest", "MANIFEST_NAMES", "file_sha1"]

#: label names by class index: 0 safe, 1 NSFW (the order checkpoints from ``classifiers train`` use)
LABELS = ("sfw", "nsfw")
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
_LABEL_ALIASES = {"sfw": 0, "safe": 0, "0": 0, "false": 0, "nsfw": 1, "unsafe": 1, "1": 1, "true": 1}


@dataclass(frozen=True)
class LabelledItem:
    """One judged file.

    :param path: absolute path of the file
    :param label: 1 NSFW, 0 safe
    :param key: the path relative to the folder (stable across copies of the folder)
    """

    path: Path
    label: int
    key: str
    categories: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def label_name(self) -> str:
        return LABELS[self.label]


def parse_label(value: object) -> int:
    label = _LABEL_ALIASES.get(str(value).strip().lower())
    if label is None:
        raise ValueError(f"unknown label {value!r}: use one of sfw, nsfw")
    return label


def read_labelled_folder(root: str | os.PathLike) -> list[LabelledItem]:
    """Every labelled file under ``root``, sorted by key.

    :raises ValueError: when there is nothing labelled, or the manifest contradicts the folders
    :raises FileNotFoundError: when the manifest names a missing file
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    items: dict[str, LabelledItem] = {}
    for label, name in enumerate(LABELS):
        folder = root / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts):
                    key = path.relative_to(root).as_posix()
                    items[key] = LabelledItem(path=path, label=label, key=key)
    for row in _read_manifest(root):
        key = Path(str(row.pop("path"))).as_posix()
        path = (root / key).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"manifest names {key!r}, which is not a file under {root}")
        key = path.relative_to(root).as_posix()
        label = parse_label(row.pop("label")) if row.get("label") not in (None, "") else None
        known = items.get(key)
        if label is None and known is None:
            raise ValueError(f"manifest gives no label for {key!r}, which is outside sfw/ and nsfw/")
        if known is not None and label is not None and label != known.label:
            raise ValueError(f"manifest labels {key!r} {LABELS[label]!r} but it lies under {known.label_name}/")
        row.pop("label", None)
        categories = _categories(row.pop("categories", None), row.pop("category", None))
        items[key] = LabelledItem(path=path, label=known.label if label is None else label, key=key,
                                  categories=categories, extra=row)
    if not items:
        raise ValueError(f"{root} holds no labelled files: expected sfw/ and nsfw/ subfolders or a manifest")
    return [items[key] for key in sorted(items)]


def write_manifest(root: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Write ``manifest.jsonl`` (each row needs ``path`` relative to ``root`` and ``label``)."""
    path = Path(root) / MANIFEST_NAMES[0]
    with open(path, "w", encoding="utf-8") as fp:
        for row in rows:
            fp.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def _read_manifest(root: Path) -> list[dict]:
    jsonl, csv_path = (root / name for name in MANIFEST_NAMES)
    if jsonl.is_file():
        rows = []
        with open(jsonl, encoding="utf-8") as fp:
            for number, line in enumerate(fp, 1):
                if line.strip():
                    try:
                        rows.append(dict(json.loads(line)))
                    except (ValueError, TypeError) as e:
                        raise ValueError(f"{jsonl}:{number}: not a JSON object: {e}") from None
    elif csv_path.is_file():
        with open(csv_path, encoding="utf-8", newline="") as fp:
            rows = [dict(row) for row in csv.DictReader(fp)]
    else:
        return []
    for number, row in enumerate(rows, 1):
        if not row.get("path"):
            raise ValueError(f"manifest row {number} has no 'path'")
    return rows


def _categories(many, one) -> tuple[str, ...]:
    values = many if many is not None else one
    if values in (None, ""):
        return ()
    if isinstance(values, str):
        values = values.split("|")
    return tuple(sorted({str(v).strip() for v in values if str(v).strip()}))


def file_sha1(path: str | os.PathLike) -> str:
    """Hex sha1 of a file's bytes: how training and evaluation files are matched (the same
    bytes exported twice are the same file, whatever their names)."""
    import hashlib

    digest = hashlib.sha1()
    with open(path, "rb") as fp:
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
