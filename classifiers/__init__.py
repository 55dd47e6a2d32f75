"""Pixels and files in, NSFW probabilities out.

    from classifiers import load_classifier, ScoringPipeline, FileResult, FrameScore

``import classifiers`` is light: it imports neither torch nor timm, so scoring
with a cached ONNX export fits in a small job. The default model is registered
with timm by :mod:`classifiers.opennsfw`, which the code that creates timm
models imports (:mod:`classifiers.models`); to call timm yourself, import it
first::

    import classifiers.opennsfw  # registers opennsfw_resnet50_1by2
    timm.create_model("opennsfw_resnet50_1by2", pretrained=True)

The learning toolkit (evaluation, reports, fine-tuning) is :mod:`classifiers.learning`.
"""
from __future__ import annotations

import importlib

from .results import FileResult, FrameScore

__all__ = ["load_classifier", "Classifier", "ScoringPipeline", "FileResult", "FrameScore"]

# Loaded on first use: they import NumPy, Pillow and the media decoders (~75 ms), which
# users of the results types alone (storage records, the bot's review page) do not need.
_LAZY = {
    "load_classifier": "classifiers.classifier",
    "Classifier": "classifiers.classifier",
    "ScoringPipeline": "classifiers.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
