"""Real photographs and loaded models, once per session.

The photos come with the project's own dependencies (scikit-image's data
folder, matplotlib's sample data): real scenes, never noise. None is NSFW;
tests that need a flag use a threshold or a tiny model with chosen labels.
The classifier cache lives in a session temp dir, so the first load converts
and exports for real.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import skimage
import matplotlib

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
MPL_DATA = Path(matplotlib.get_data_path()) / "sample_data"

#: colour and grey photographs (scenes, people, animals, micrographs, textures)
PHOTOS = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "hubble_deep_field.jpg",
          "ihc.png", "motorcycle_left.png", "retina.jpg", "brick.png", "grass.png", "coins.png", "moon.png"]


def photo_path(name: str) -> Path:
    return MPL_DATA / name if name == "grace_hopper.jpg" else SKIMAGE_DATA / name


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """torch on one thread: the test machine's two cores are shared, and with other
    processes running, two OpenMP threads were measured 5x slower than one."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def classifier_cache(tmp_path_factory) -> Path:
    """A fresh NSFWBOT_CACHE_DIR for the session (weights converted, models exported here)."""
    path = tmp_path_factory.mktemp("classifier-cache")
    previous = os.environ.get("NSFWBOT_CACHE_DIR")
    os.environ["NSFWBOT_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("NSFWBOT_CACHE_DIR", None)
    else:
        os.environ["NSFWBOT_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def photos() -> list[tuple[str, Image.Image]]:
    """(name, RGB image) for every photo, grace_hopper.jpg included."""
    names = PHOTOS + ["grace_hopper.jpg"]
    return [(name, Image.open(photo_path(name)).convert("RGB")) for name in names]


#: photos whose crops score furthest from 0 (where model errors show most)
CROPPED = ("camera.png", "moon.png", "retina.jpg", "coffee.png", "astronaut.png")


@pytest.fixture(scope="session")
def photos_and_crops(photos) -> list[tuple[str, Image.Image]]:
    """The photos plus quadrants and centre of some: more varied inputs, still real."""
    out = list(photos)
    for name, image in photos:
        if name not in CROPPED:
            continue
        w, h = image.size
        for fx, fy in ((0, 0), (0.5, 0), (0, 0.5), (0.5, 0.5), (0.25, 0.25)):
            box = (int(fx * w), int(fy * h), int(fx * w + w / 2), int(fy * h + h / 2))
            out.append((f"{name}{box}", image.crop(box)))
    return out


@pytest.fixture(scope="session")
def onnx_classifier(classifier_cache):
    from classifiers import load_classifier

    return load_classifier(runtime="onnxruntime")


@pytest.fixture(scope="session")
def torch_classifier(classifier_cache):
    from classifiers import load_classifier

    return load_classifier(runtime="torch-cpu")


def stack(classifier, images) -> np.ndarray:
    return np.stack([classifier.preprocess(image) for image in images])
