"""Features of a missing extra are refused in one line that names the extra: exit 2, no traceback.

The base install is simulated by making the torch extra's modules unimportable
in a subprocess; tests/test_install.py runs a real base install.
"""
from __future__ import annotations

import shutil

import pytest

from .conftest import photo_path
from .test_opennsfw_onnx import run_without_torch

CLI = "import sys\nfrom classifiers import cli\nsys.exit(cli.main(sys.argv[1:]))"


def labelled_folder(root):
    for label, name in (("sfw", "coffee.png"), ("nsfw", "chelsea.png")):
        (root / label).mkdir(parents=True)
        shutil.copyfile(photo_path(name), root / label / name)
    return root


@pytest.mark.parametrize("feature, args", [
    ("runtime torch-cpu", lambda tmp: ["score", "--runtime", "torch-cpu", str(photo_path("coffee.png"))]),
    ("model resnet18", lambda tmp: ["score", "--model", "resnet18", str(photo_path("coffee.png"))]),
    ("train", lambda tmp: ["train", str(labelled_folder(tmp / "labelled")), "--out", str(tmp / "out")]),
])
def test_torch_features_name_the_torch_extra(feature, args, tmp_path):
    out = run_without_torch(CLI, tmp_path / "cache", *args(tmp_path))
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert feature in lines[0]
    assert "needs the 'torch' extra: pip install 'commons-nsfw-bot[torch]'" in lines[0]


def test_report_plots_name_the_train_extra(tmp_path):
    """``evaluate`` scores on the base install, but its plots need matplotlib: one line naming ``train``."""
    code = "import sys\nsys.modules['matplotlib'] = None\n" + CLI
    out = run_without_torch(code, tmp_path / "cache", "evaluate", str(labelled_folder(tmp_path / "labelled")),
                            "--out", str(tmp_path / "report"), "--no-progress")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr, out.stderr
    assert "needs the 'train' extra: pip install 'commons-nsfw-bot[train]'" in lines[-1]
