"""Any timm model in, a model plus its :class:`~classifiers.model_card.ModelCard` out.

A model spec is one of:

* a registered timm name, e.g. ``opennsfw_resnet50_1by2`` (the offline default)
  or any timm architecture with pretrained weights;
* an ``hf-hub:`` id, e.g. ``hf-hub:Marqo/nsfw-image-detection-384`` (timm's own
  hub loader: config.json + weights, honours ``HF_HUB_OFFLINE`` and the hub cache);
* a checkpoint file written by :func:`save_checkpoint` (``classifiers train``).

Which output means NSFW always comes from the model's label names, and the
preprocessing from its pretrained_cfg.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
import timm
from torch import nn

from . import opennsfw  # noqa: F401 - registers opennsfw_resnet50_1by2 with timm
from .model_card import DEFAULT_MODEL, ModelCard, is_checkpoint, nsfw_index
from .preprocess import PreprocessConfig

__all__ = ["DEFAULT_MODEL", "CHECKPOINT_FORMAT", "load_model", "save_checkpoint", "load_checkpoint",
           "weights_sha256", "is_checkpoint"]

CHECKPOINT_FORMAT = "commons-nsfw-bot/checkpoint/1"


def load_model(spec: str | os.PathLike, *, nsfw_label: str | None = None) -> tuple[nn.Module, ModelCard]:
    """The model in eval mode on the CPU, and its card.

    :param nsfw_label: the label that means NSFW when the model's label names do not say
    """
    if is_checkpoint(spec):
        model, extra = load_checkpoint(spec)
        # a fine-tune carries its own name (classifiers.learning.train), not its base model's
        name = extra.get("name") or model.pretrained_cfg.get("architecture") or Path(spec).stem
    else:
        name = os.fspath(spec)
        model = timm.create_model(name, pretrained=True)
    model.eval()
    cfg = model.pretrained_cfg
    labels = tuple(cfg.get("label_names") or ())
    card = ModelCard(name=name, architecture=cfg.get("architecture") or type(model).__name__,
                     weights_sha256=weights_sha256(model), label_names=labels,
                     nsfw_index=nsfw_index(labels, nsfw_label),
                     preprocess=PreprocessConfig.from_model(model))
    if len(labels) != _num_outputs(model):
        raise ValueError(f"{name}: {len(labels)} label names for {_num_outputs(model)} outputs")
    return model, card


def weights_sha256(model: nn.Module) -> str:
    """A hash of the state_dict (names, dtypes, shapes, bytes), independent of the file format."""
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, label_names: list[str] | tuple[str, ...],
                    pretrained_cfg: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint that :func:`load_model` (and so ``--model PATH``) can load.

    The file is safetensors (no pickle): the state_dict as tensors, and in the
    metadata ``format``, ``architecture`` (a registered timm name),
    ``pretrained_cfg`` (JSON, carrying the preprocessing), ``label_names`` (JSON)
    and ``extra`` (JSON: anything the trainer wants to keep, e.g. metrics).

    :param pretrained_cfg: usually ``model.pretrained_cfg``; must name the
        ``architecture`` (timm sets it)
    :param label_names: one per output; exactly one must mean NSFW (e.g. "nsfw")
    """
    from safetensors.torch import save

    architecture = pretrained_cfg.get("architecture")
    if not architecture:
        raise ValueError("pretrained_cfg must name the timm architecture ('architecture')")
    labels = [str(name) for name in label_names]
    if len(labels) != _num_outputs(model):
        raise ValueError(f"{len(labels)} label names for {_num_outputs(model)} outputs")
    nsfw_index(labels)  # refuse a checkpoint whose NSFW output nobody could find
    cfg = {k: v for k, v in pretrained_cfg.items()
           if k not in ("file", "url", "hf_hub_id", "hf_hub_filename", "state_dict", "source")}
    cfg.update(label_names=labels, num_classes=len(labels))
    metadata = {"format": CHECKPOINT_FORMAT, "architecture": architecture,
                "pretrained_cfg": json.dumps(cfg), "label_names": json.dumps(labels),
                "extra": json.dumps(extra or {})}
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    from .cache import atomic_write_bytes

    path = Path(path)
    atomic_write_bytes(path, save(tensors, metadata=metadata))
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode) saved by :func:`save_checkpoint`, and the checkpoint's ``extra``."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as fp:
            metadata = fp.metadata() or {}
    except Exception as e:  # noqa: BLE001 - whatever safetensors says, the file is not ours
        raise ValueError(f"{path} is not a safetensors checkpoint: {e}") from None
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint (see classifiers.models.save_checkpoint)")
    cfg = json.loads(metadata["pretrained_cfg"])
    labels = json.loads(metadata["label_names"])
    for key in ("input_size", "mean", "std", "pool_size", "label_names"):
        if isinstance(cfg.get(key), list):
            cfg[key] = tuple(cfg[key])
    model = timm.create_model(metadata["architecture"], pretrained=False, num_classes=len(labels))
    model.load_state_dict(load_file(str(path)), strict=True)
    model.pretrained_cfg = model.default_cfg = {**model.pretrained_cfg, **cfg, "file": str(path)}
    return model.eval(), json.loads(metadata.get("extra") or "{}")


def _num_outputs(model: nn.Module) -> int:
    return int(getattr(model, "num_classes", 0) or model.pretrained_cfg.get("num_classes", 0))
