"""Export a timm model to ONNX once per weights hash (imports torch)."""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..cache import atomic_write_bytes
from ..model_card import ModelCard
from . import onnx_cache

__all__ = ["export_onnx", "cached_export"]

OPSET = 17


class _Probabilities(nn.Module):
    """The model with its softmax (sigmoid for one logit), so onnxruntime returns probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return torch.sigmoid(logits) if logits.shape[1] == 1 else logits.softmax(1)


def export_onnx(model: nn.Module, card: ModelCard) -> bytes:
    """The model as ONNX bytes: input ``input`` float32 NCHW (batch dynamic), output ``probabilities``."""
    wrapper = _Probabilities(model).eval()
    example = torch.zeros((2, *card.preprocess.input_size))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated but exports a CNN in under a
        # second, the dynamo one takes ~10 s; fall back to it when needed.
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(wrapper, (example,), buffer, dynamo=False, opset_version=OPSET,
                              input_names=["input"], output_names=["probabilities"],
                              dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}})
        except Exception:  # noqa: BLE001 - try the other exporter before giving up
            buffer = io.BytesIO()
            program = torch.onnx.export(wrapper, (example,), dynamo=True, external_data=False,
                                        input_names=["input"], output_names=["probabilities"],
                                        dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
            program.save(buffer)
    return buffer.getvalue()


def cached_export(spec: str | os.PathLike, *, nsfw_label: str | None = None) -> tuple[Path, ModelCard]:
    """The ONNX file for ``spec``, exporting (and loading the model) only when the cache lacks it."""
    hit = onnx_cache.lookup(spec)
    if hit is not None:
        return hit
    from ..models import load_model

    model, card = load_model(spec, nsfw_label=nsfw_label)
    path = onnx_cache.onnx_path(card.weights_sha256)
    if not path.is_file():
        atomic_write_bytes(path, export_onnx(model, card))
    onnx_cache.remember(spec, card)
    return path, card
