"""``state.pt``: everything a training run needs to resume after its last finished epoch.

Weights, optimizer, scheduler and grad-scaler state, the config, the
train/validation split (as keys) and the history, saved atomically after every
epoch. The pretrained cfg travels as JSON so that ``torch.load(weights_only=True)``
can read the file back (no pickled Python objects).
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

__all__ = ["STATE_NAME", "save_state", "load_state", "cfg_to_json", "cfg_from_json"]

STATE_NAME = "state.pt"


def load_state(path: str | Path) -> dict:
    """A state written by :func:`save_state` (tensors on the CPU; no pickled objects are loaded)."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def save_state(path: Path, *, model, optimizer, scheduler, scaler, config, epoch: int,
               best_auc: float, best_epoch: int, bad_epochs: int, history: list[dict],
               train_part, val_part, labels, stopped_early: bool) -> None:
    """Write ``path`` atomically (a crash mid-write leaves the previous epoch's state).

    :param config: the run's :class:`~classifiers.learning.train.TrainConfig` (stored as a dict)
    :param train_part: the training :class:`~classifiers.learning.labelled.LabelledItem` list (stored as keys)
    """
    import torch

    from ..cache import atomic_write_bytes

    state = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
        "config": asdict(config), "epoch": epoch, "best_auc": best_auc, "best_epoch": best_epoch,
        "bad_epochs": bad_epochs, "history": history, "stopped_early": stopped_early,
        "train_keys": [i.key for i in train_part], "val_keys": [i.key for i in val_part],
        "architecture": model.pretrained_cfg["architecture"], "label_names": list(labels),
        "pretrained_cfg": cfg_to_json(model.pretrained_cfg),
    }
    with io.BytesIO() as buf:
        torch.save(state, buf)
        atomic_write_bytes(path, buf.getvalue())


def cfg_to_json(cfg: dict) -> str:
    """The JSON-representable entries of a timm pretrained cfg."""
    return json.dumps({k: v for k, v in cfg.items() if isinstance(v, (str, int, float, bool, list, tuple, type(None)))})


def cfg_from_json(text: str) -> dict:
    """A pretrained cfg from :func:`cfg_to_json`, lists turned back into tuples as timm keeps them."""
    cfg = json.loads(text)
    return {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()}
