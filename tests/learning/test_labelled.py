"""Reading a labelled folder: sfw/ and nsfw/ subfolders, with an optional manifest."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from classifiers.learning.labelled import read_labelled_folder, write_manifest


def _folder(root):
    for name in ("sfw/a.png", "sfw/deep/b.png", "nsfw/c.png", "sfw/.hidden.png"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(path)
    return root


def test_folders_give_labels(tmp_path):
    items = read_labelled_folder(_folder(tmp_path))
    assert [(i.key, i.label, i.categories) for i in items] == [
        ("nsfw/c.png", 1, ()), ("sfw/a.png", 0, ()), ("sfw/deep/b.png", 0, ())]
    assert items[0].path == (tmp_path / "nsfw/c.png").resolve()


def test_csv_manifest_adds_categories_and_files_elsewhere(tmp_path):
    root = _folder(tmp_path)
    Image.new("RGB", (8, 8)).save(root / "other.png")
    (root / "manifest.csv").write_text("path,label,category\nsfw/a.png,sfw,Art|Paintings\n"
                                       "other.png,nsfw,Beaches\nnsfw/c.png,,Beaches\n")
    items = {i.key: i for i in read_labelled_folder(root)}
    assert items["sfw/a.png"].categories == ("Art", "Paintings")
    assert items["other.png"].label == 1 and items["other.png"].categories == ("Beaches",)
    assert items["nsfw/c.png"].label == 1 and items["nsfw/c.png"].categories == ("Beaches",)
    assert items["sfw/deep/b.png"].categories == ()


def test_jsonl_manifest_keeps_extra_keys(tmp_path):
    root = _folder(tmp_path)
    write_manifest(root, [{"path": "nsfw/c.png", "label": "nsfw", "categories": ["X"], "title": "File:C.png",
                           "scores": {"m@1": 0.5}}])
    item = next(i for i in read_labelled_folder(root) if i.key == "nsfw/c.png")
    assert item.categories == ("X",)
    assert item.extra == {"title": "File:C.png", "scores": {"m@1": 0.5}}
    assert json.loads((root / "manifest.jsonl").read_text())["path"] == "nsfw/c.png"


@pytest.mark.parametrize("manifest,error,match", [
    ("path,label\nsfw/a.png,nsfw\n", ValueError, "lies under sfw"),
    ("path,label\nmissing.png,sfw\n", FileNotFoundError, "missing.png"),
    ("path,label\nsfw/a.png,maybe\n", ValueError, "unknown label"),
])
def test_bad_manifests_are_errors(tmp_path, manifest, error, match):
    root = _folder(tmp_path)
    (root / "manifest.csv").write_text(manifest)
    with pytest.raises(error, match=match):
        read_labelled_folder(root)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no labelled files"):
        read_labelled_folder(tmp_path)
