"""What the training loop is fed: a stratified split, datasets of labelled files, transforms, class balance.

Training crops and augmentations come from timm's ``create_transform`` fed with
the model's own ``pretrained_cfg``; validation uses exactly the inference
preprocessing (:func:`classifiers.preprocess.preprocess`), so the validation
AUC is the AUC the bot will see. torch, timm and torchvision are imported
inside the functions that need them.
"""
from __future__ import annotations

import logging
import random
from typing import Sequence

import numpy as np

from .labelled import LABELS, LabelledItem

__all__ = ["split_items", "JpegRoundTrip", "train_transform", "LabelledImages", "class_balance", "collate",
           "InferenceTransform"]

log = logging.getLogger(__name__)


def split_items(items: Sequence[LabelledItem], *, val_fraction: float, seed: int
                ) -> tuple[list[LabelledItem], list[LabelledItem]]:
    """A stratified, reproducible train/validation split (at least one file of each label in each part)."""
    rng = random.Random(seed)
    train_part, val_part = [], []
    for label in (0, 1):
        group = sorted((i for i in items if i.label == label), key=lambda i: i.key)
        if len(group) < 2:
            raise ValueError(f"need at least 2 {LABELS[label]} files to split off a validation set, "
                             f"have {len(group)}")
        rng.shuffle(group)
        n_val = min(len(group) - 1, max(1, round(val_fraction * len(group))))
        val_part += group[:n_val]
        train_part += group[n_val:]
    return train_part, val_part


class JpegRoundTrip:
    """Encode and decode as JPEG, as the model's inference preprocessing does (open_nsfw: quality 75)."""

    def __init__(self, quality: int) -> None:
        self.quality = quality

    def __call__(self, image):
        from ..preprocess import jpeg_round_trip

        return jpeg_round_trip(image.convert("RGB"), self.quality)

    def __repr__(self) -> str:
        return f"JpegRoundTrip(quality={self.quality})"


def train_transform(model, *, augment: bool = True):
    """timm's training transform with the model's own size, interpolation, mean and std.

    For open_nsfw the mean/std are Caffe's on 0..255 values (``255 * x - mean``), so
    timm's ToTensor+Normalize reproduce the model's input scale; its JPEG round trip
    is inserted before the tensor conversion.
    """
    from timm.data import create_transform, resolve_model_data_config
    from torchvision import transforms

    data = resolve_model_data_config(model)
    transform = create_transform(
        input_size=data["input_size"], is_training=True, no_aug=not augment,
        interpolation=data["interpolation"], mean=data["mean"], std=data["std"], crop_pct=data["crop_pct"])
    steps = list(transform.transforms)
    quality = model.pretrained_cfg.get("jpeg_quality")
    if quality:
        # on the augmented PIL image, right before it becomes a tensor
        at = next(i for i, step in enumerate(steps) if "ToTensor" in type(step).__name__)
        steps.insert(at, JpegRoundTrip(int(quality)))
    return transforms.Compose(steps)


class LabelledImages:
    """A torch-style dataset: (tensor, target) for each item; undecodable files give None and are dropped."""

    def __init__(self, items: Sequence[LabelledItem], transform, *, targets: tuple[int, int], decode_size: int):
        self.items = list(items)
        self.transform = transform
        self.targets = targets  # output index for (sfw, nsfw)
        self.decode_size = decode_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        from ..media import MediaError, read_frames

        item = self.items[index]
        try:
            frame = read_frames(item.path, frames=1, decode_size=self.decode_size).frames[0].image
        except (MediaError, OSError, IndexError) as e:
            log.warning("skipping %s: %s", item.key, e)
            return None
        return self.transform(frame), self.targets[item.label]


def class_balance(items: Sequence[LabelledItem], *, balance: str, targets: tuple[int, int], seed: int = 0):
    """(sampler, loss class weights): one of them set, so that both labels weigh the same in training.

    :param balance: ``sampler`` draws files with probability inversely proportional to their
        label's count (with replacement, an epoch's worth); ``loss`` weights the loss per output
        instead; ``none`` does neither
    :param targets: the output index of (sfw, nsfw)
    """
    import torch
    from torch.utils.data import WeightedRandomSampler

    counts = np.bincount([i.label for i in items], minlength=2).astype(np.float64)
    if balance == "sampler":
        weights = [1.0 / counts[i.label] for i in items]
        return WeightedRandomSampler(weights, num_samples=len(items), replacement=True,
                                     generator=torch.Generator().manual_seed(seed)), None
    if balance == "loss":
        per_label = counts.sum() / (2 * counts)
        return None, torch.tensor([per_label[targets.index(o)] for o in range(2)], dtype=torch.float32)
    if balance == "none":
        return None, None
    raise ValueError(f"balance must be sampler, loss or none, not {balance!r}")


def collate(batch):
    """A batch of (tensor, target) pairs as two stacked tensors, files that failed to decode left out (None: none left)."""
    import torch

    batch = [b for b in batch if b is not None]
    if not batch:
        return None
    images, targets = zip(*batch)
    return torch.stack(images), torch.tensor(targets)


class InferenceTransform:
    """The bot's own preprocessing as a transform returning a tensor (a class, so spawned workers can pickle it)."""

    def __init__(self, model) -> None:
        from ..preprocess import PreprocessConfig

        self.config = PreprocessConfig.from_model(model)

    def __call__(self, image):
        import torch

        from ..preprocess import preprocess

        return torch.from_numpy(preprocess(image, self.config))
