"""Generated images with a learnable signal; the labels are synthetic (no real NSFW image exists here).

"nsfw" files carry horizontal stripes, "sfw" files vertical ones, each with a
random contrasting colour pair, stripe period, phase and noise: orientation survives
timm's random resized crops and horizontal flips, so a tiny model can learn it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def striped_image(rng: np.random.Generator, *, horizontal: bool, size: int = 72) -> Image.Image:
    period = rng.uniform(6, 14)
    phase = rng.uniform(0, period)
    ramp = (np.arange(size) + phase) % period < period / 2
    mask = np.broadcast_to(ramp[:, None] if horizontal else ramp[None, :], (size, size))
    a = rng.integers(0, 256, 3)
    b = (a + rng.integers(80, 176, 3)) % 256  # always visible stripes: every file carries the signal
    pixels = np.where(mask[..., None], a, b) + rng.normal(0, 12, (size, size, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def make_labelled_folder(root: Path, *, per_label: int, seed: int = 0, size: int = 72,
                         categories: bool = False) -> Path:
    """``root/sfw/*.png`` and ``root/nsfw/*.png`` (and a manifest with categories when asked)."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in ("sfw", "nsfw"):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            name = f"{label}/{i:04d}.png"
            striped_image(rng, horizontal=label == "nsfw", size=size).save(root / name)
            rows.append((name, label, "Stripes|Even" if i % 2 == 0 else "Stripes|Odd"))
    if categories:
        with open(root / "manifest.csv", "w") as fp:
            fp.write("path,label,category\n")
            fp.writelines(f"{p},{l},{c}\n" for p, l, c in rows)
    return root
