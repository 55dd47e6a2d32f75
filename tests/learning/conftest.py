"""Shared fixtures: a synthetic labelled folder and one tiny model trained on it (once per session).

The labels are synthetic (stripes' orientation stands for "nsfw"): no real NSFW
image exists in this project's test data.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.learning.labelled import read_labelled_folder
from classifiers.learning.train import TrainConfig, train

from .synthetic import make_labelled_folder

#: timm's tiny test ResNet (0.4 M parameters) at 64 px with random initial weights: learns the stripes in seconds on a CPU
TINY = dict(model="test_resnet", pretrained=False, input_size=64, batch_size=32, lr=3e-3, workers=0, seed=0)


@pytest.fixture(scope="session")
def labelled_folder(tmp_path_factory) -> Path:
    return make_labelled_folder(tmp_path_factory.mktemp("labelled"), per_label=80, categories=True)


@pytest.fixture(scope="session")
def holdout_folder(tmp_path_factory) -> Path:
    """Files the model never saw (another seed)."""
    return make_labelled_folder(tmp_path_factory.mktemp("holdout"), per_label=40, seed=99, categories=True)


@pytest.fixture(scope="session")
def trained(labelled_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("training")
    result = train(read_labelled_folder(labelled_folder), config=TrainConfig(epochs=3, patience=3, **TINY),
                   out=out, progress=False)
    return result, out
