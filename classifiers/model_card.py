"""What a runtime needs to know about a model besides its weights (torch-free, JSON-serialisable)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .preprocess import PreprocessConfig

__all__ = ["DEFAULT_MODEL", "ModelCard", "nsfw_index", "is_checkpoint"]

DEFAULT_MODEL = "opennsfw_resnet50_1by2"

#: label names that mean "not safe for work", compared case-insensitively
NSFW_LABELS = ("nsfw",)


def is_checkpoint(spec: str | os.PathLike) -> bool:
    """True when ``spec`` names a checkpoint file rather than a timm name or hub id."""
    spec = os.fspath(spec)
    return not spec.startswith(("hf-hub:", "local-dir:")) and (
        Path(spec).is_file() or spec.endswith(".safetensors"))


def nsfw_index(label_names: Sequence[str] | None, nsfw_label: str | None = None) -> int:
    """The output index that means NSFW, found by name (Marqo's model has it at 0, open_nsfw at 1).

    :param nsfw_label: the label to use when the names are not self-explanatory
    :raises ValueError: when the label names do not say which output is NSFW
    """
    if not label_names:
        raise ValueError("the model has no label_names, so which output means NSFW is unknown: "
                         "give it label names (pretrained_cfg['label_names'])")
    lowered = [name.lower() for name in label_names]
    wanted = (nsfw_label.lower(),) if nsfw_label else NSFW_LABELS
    hits = [i for i, name in enumerate(lowered) if name in wanted]
    if len(hits) != 1:
        raise ValueError(f"cannot tell which output means NSFW from label names {list(label_names)}: "
                         f"expected exactly one of {list(wanted)} (pass nsfw_label=...)")
    return hits[0]


@dataclass(frozen=True)
class ModelCard:
    """A loaded model's identity, outputs and preprocessing.

    :param name: what the user asked for (registered name, ``hf-hub:`` id) or the
        checkpoint's architecture
    :param weights_sha256: hash of the weights (:func:`classifiers.models.weights_sha256`)
    """

    name: str
    architecture: str
    weights_sha256: str
    label_names: tuple[str, ...]
    nsfw_index: int
    preprocess: PreprocessConfig

    @property
    def model_id(self) -> str:
        """``name@<first 12 hex of the weights hash>``: what stored scores are keyed by."""
        return f"{self.name}@{self.weights_sha256[:12]}"

    def to_dict(self) -> dict:
        return {"name": self.name, "architecture": self.architecture,
                "weights_sha256": self.weights_sha256, "label_names": list(self.label_names),
                "nsfw_index": self.nsfw_index, "preprocess": self.preprocess.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        return cls(name=data["name"], architecture=data["architecture"],
                   weights_sha256=data["weights_sha256"], label_names=tuple(data["label_names"]),
                   nsfw_index=int(data["nsfw_index"]),
                   preprocess=PreprocessConfig.from_dict(data["preprocess"]))
