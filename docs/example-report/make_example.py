"""Rebuild docs/example-report: the default model on real safe photos and synthetic "nsfw" stand-ins.

    .venv/bin/python docs/example-report/make_example.py

No NSFW image exists in this project. The "nsfw" files here are SYNTHETIC
STAND-INS (skin-toned gradients and blobs, made below); the "sfw" files are
real photographs and scientific images shipped with scikit-image and
matplotlib. The report shows what the tooling produces, not how well open_nsfw
detects NSFW content.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

HERE = Path(__file__).resolve().parent
SKIMAGE = {  # file -> category
    "astronaut.png": "People", "camera.png": "People", "coffee.png": "Food", "chelsea.png": "Animals",
    "horse.png": "Animals", "rocket.jpg": "Technology", "motorcycle_left.png": "Technology",
    "hubble_deep_field.jpg": "Science", "moon.png": "Science", "cell.png": "Science", "ihc.png": "Science",
    "retina.jpg": "Science", "coins.png": "Objects", "brick.png": "Textures", "grass.png": "Textures",
    "gravel.png": "Textures", "color.png": "Graphics", "logo.png": "Graphics", "page.png": "Documents",
    "text.png": "Documents",
}
MATPLOTLIB = {"grace_hopper.jpg": "People"}


def stand_in(rng: np.random.Generator, size: int = 256) -> Image.Image:
    """A skin-toned gradient with soft blobs: synthetic, labelled "nsfw" only to exercise the report."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    tone = np.array([224, 172, 150]) + rng.normal(0, 12, 3)
    light = 0.65 + 0.35 * (yy * rng.uniform(0.3, 1) + xx * rng.uniform(0, 0.5))
    for _ in range(3):
        cy, cx, r = rng.uniform(0.2, 0.8, 2).tolist() + [rng.uniform(0.1, 0.3)]
        light += 0.15 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    pixels = tone[None, None] * light[..., None] + rng.normal(0, 4, (size, size, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))


def main() -> None:
    import matplotlib
    import skimage

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "example-set"
        (root / "sfw").mkdir(parents=True)
        (root / "nsfw").mkdir()
        rows = ["path,label,category"]
        for folder, files in ((Path(skimage.__file__).parent / "data", SKIMAGE),
                              (Path(matplotlib.get_data_path()) / "sample_data", MATPLOTLIB)):
            for name, category in files.items():
                shutil.copy(folder / name, root / "sfw" / name)
                rows.append(f"sfw/{name},sfw,{category}|Real photo or scan")
        rng = np.random.default_rng(7)
        for i in range(10):
            stand_in(rng).save(root / "nsfw" / f"standin-{i}.png")
            rows.append(f"nsfw/standin-{i}.png,nsfw,Synthetic stand-in")
        (root / "manifest.csv").write_text("\n".join(rows) + "\n")
        for old in HERE.glob("*.png"):
            old.unlink()
        subprocess.run([sys.executable, "-m", "classifiers", "evaluate", "example-set", "--out", str(HERE),
                        "--prevalence", "0.01", "--threshold", "0.8", "--no-progress",
                        "--note", "EXAMPLE ONLY - the 21 safe files are real photographs and scans from "
                        "scikit-image and matplotlib; the 10 'nsfw' files are synthetic skin-toned stand-ins "
                        "(no NSFW image exists in this project). Made by docs/example-report/make_example.py."],
                       cwd=tmp, check=True)


if __name__ == "__main__":
    main()
