"""Pixels and files in, NSFW probabilities out.

    from classifiers import load_classifier, ScoringPipeline, FileResult, FrameScore

``import classifiers`` is light: it imports neither torch nor timm, so scoring
with a cached ONNX export fits in a small job. It still registers the default
model with timm: ``timm.create_model("opennsfw_resnet50_1by2", pretrained=True)``
works once both are imported, in either order.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

from .results import FileResult, FrameScore

__all__ = ["load_classifier", "Classifier", "ScoringPipeline", "FileResult", "FrameScore"]

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


def _register_model() -> None:
    try:
        importlib.import_module("classifiers.opennsfw")
    except Exception as e:  # noqa: BLE001 - a broken torch must not make timm unimportable
        warnings.warn(f"opennsfw_resnet50_1by2 not registered with timm: {e}", RuntimeWarning, stacklevel=2)


class _RegisterWhenTimmLoads(importlib.abc.MetaPathFinder):
    """Registers open_nsfw right after timm is imported, so importing us never pays for torch."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "timm":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("timm")
        if spec is None or spec.loader is None:
            return spec
        exec_timm = spec.loader.exec_module

        def exec_module(module) -> None:
            exec_timm(module)
            _register_model()

        spec.loader.exec_module = exec_module
        return spec


if "timm" in sys.modules:
    _register_model()
elif not any(isinstance(finder, _RegisterWhenTimmLoads) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenTimmLoads())
