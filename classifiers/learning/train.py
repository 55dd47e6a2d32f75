"""``python -m classifiers train``: fine-tune any timm model on judged files.

Transfer learning from a starting point (open_nsfw itself, any timm model, or a
checkpoint of an earlier run) on a labelled folder (:mod:`classifiers.learning.labelled`):

* **preprocessing from the model**: training crops and augmentations come from
  ``timm.data.create_transform(is_training=True)`` fed with the model's own
  ``pretrained_cfg`` (open_nsfw's Caffe-scale mean/std on 0..255 values plus its
  JPEG round trip, ImageNet's for most others); validation uses exactly the
  inference preprocessing (:func:`classifiers.preprocess.preprocess`), so the
  validation AUC is the AUC the bot will see (:mod:`classifiers.learning.data`);
* **class balance**: a weighted sampler (default) or class weights in the loss;
* **AMP on a GPU** (bf16 where supported, else fp16 with a grad scaler), fp32 on the CPU;
* **early stopping** on validation AUC, keeping the best epoch;
* **resumable**: ``state.pt`` (:mod:`classifiers.learning.training_state`) holds
  weights, optimizer, scheduler, scaler, the split and the history after every
  epoch; ``--resume`` continues the epoch count.

Outputs in ``--out DIR``: ``best.safetensors`` (a checkpoint ``--model`` accepts
everywhere, via :func:`classifiers.models.save_checkpoint`), ``state.pt`` and
``history.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..commandline import EXIT_OK, EXIT_USAGE, Command, arg
from .data import InferenceTransform, LabelledImages, class_balance, collate, split_items, train_transform
from .labelled import LABELS, LabelledItem, file_sha1
from .training_state import STATE_NAME, cfg_from_json, load_state, save_state

__all__ = ["BEST_NAME", "HISTORY_NAME", "COMMAND", "TrainConfig", "TrainResult", "train", "build_model",
           "train_command"]

log = logging.getLogger(__name__)

BEST_NAME = "best.safetensors"
HISTORY_NAME = "history.json"


@dataclass
class TrainConfig:
    """How to train. Every field is a command-line option of the same name.

    :param model: starting point: a timm name, an ``hf-hub:`` id, or a checkpoint file
    :param pretrained: start from the model's pretrained weights (False: random init, for tests)
    :param input_size: square input side (convolutional models only); None: the model's own
    :param balance: ``sampler`` (weighted sampler), ``loss`` (class weights) or ``none``
    :param patience: stop after this many epochs without a better validation AUC
    :param precision: ``auto`` (bf16/fp16 autocast on CUDA, fp32 on CPU), ``fp32``, ``bf16``, ``fp16``
    :param workers: DataLoader worker processes (0: decode in the training process)
    """

    model: str = "opennsfw_resnet50_1by2"
    pretrained: bool = True
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.05
    val_fraction: float = 0.2
    patience: int = 3
    balance: str = "sampler"
    input_size: int | None = None
    augment: bool = True
    device: str = "auto"
    precision: str = "auto"
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    best_auc: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    history: list[dict]


def build_model(config: TrainConfig):
    """The starting model with a 2-class head, and its label names.

    A model that already has two outputs whose label names say which is NSFW
    (open_nsfw, an earlier checkpoint) keeps its head: fine-tuning starts from
    what it knows. Anything else gets a fresh head labelled ``("sfw", "nsfw")``.
    """
    import timm

    from ..model_card import nsfw_index
    from ..models import is_checkpoint, load_checkpoint

    if is_checkpoint(config.model):
        model, _ = load_checkpoint(config.model)
    elif config.pretrained:
        model = timm.create_model(config.model, pretrained=True)
    else:
        model = timm.create_model(config.model, pretrained=False, num_classes=len(LABELS))
    labels = tuple(model.pretrained_cfg.get("label_names") or ())
    try:
        keep_head = model.num_classes == 2 and labels and nsfw_index(labels) is not None and config.pretrained
    except ValueError:
        keep_head = False
    if not keep_head:
        if model.num_classes != len(LABELS):
            model.reset_classifier(len(LABELS))
        labels = LABELS
    cfg = dict(model.pretrained_cfg)
    cfg.update(label_names=tuple(labels), num_classes=len(labels))
    cfg.pop("test_input_size", None)  # inference uses input_size; keep one truth
    if config.input_size:
        cfg["input_size"] = (3, config.input_size, config.input_size)
    model.pretrained_cfg = model.default_cfg = cfg
    return model, tuple(labels)


def _device_and_dtype(config: TrainConfig):
    import torch

    from ..runtimes.torch_runtime import PRECISIONS

    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto"
                          else config.device)
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else "fp32"
    return device, PRECISIONS[precision]


def fine_tune_name(base: str, when: time.struct_time) -> str:
    """``<base>-ft-<UTC date and time>``: a fine-tune's name, distinct from its base model's."""
    base = Path(base).stem if base.endswith(".safetensors") else base.removeprefix("hf-hub:")
    return f"{base.replace('/', '_')}-ft-{time.strftime('%Y%m%d-%H%M%S', when)}"


def train(items: Sequence[LabelledItem], *, config: TrainConfig, out: str | os.PathLike,
          val_items: Sequence[LabelledItem] | None = None, resume: str | os.PathLike | None = None,
          progress: bool = True) -> TrainResult:
    """Fine-tune, validate every epoch, keep the best checkpoint; see the module doc.

    :param items: training files (split into train/validation unless ``val_items`` is given)
    :param resume: a ``state.pt`` from an earlier run: continue after its last epoch,
        with its split, model and optimizer (``config.epochs`` is the total to reach)
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from ..model_card import nsfw_index
    from ..models import save_checkpoint
    from . import metrics

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = load_state(resume) if resume else None
    if state is not None:
        saved = state["config"]
        config = TrainConfig(**{**saved, "epochs": config.epochs, "device": config.device,
                                "workers": config.workers, "precision": config.precision,
                                "model": saved["model"]})
    torch.manual_seed(config.seed)
    random.seed(config.seed)

    if state is not None:
        by_key = {i.key: i for i in [*items, *(val_items or [])]}
        missing = [k for k in [*state["train_keys"], *state["val_keys"]] if k not in by_key]
        if missing:
            raise ValueError(f"resuming needs the same files: {len(missing)} missing, e.g. {missing[0]!r}")
        train_part = [by_key[k] for k in state["train_keys"]]
        val_part = [by_key[k] for k in state["val_keys"]]
    elif val_items is not None:
        train_part, val_part = list(items), list(val_items)
    else:
        train_part, val_part = split_items(items, val_fraction=config.val_fraction, seed=config.seed)
    for name, part in (("training", train_part), ("validation", val_part)):
        if {i.label for i in part} != {0, 1}:
            raise ValueError(f"the {name} files need both sfw and nsfw examples")

    model, labels = build_model(config if state is None else
                                TrainConfig(**{**asdict(config), "pretrained": False, "model": state["architecture"]}))
    if state is not None:
        model.load_state_dict(state["model"])
        model.pretrained_cfg = model.default_cfg = cfg_from_json(state["pretrained_cfg"])
        labels = tuple(state["label_names"])
    nsfw = nsfw_index(labels)
    targets = (1 - nsfw, nsfw)
    device, dtype = _device_and_dtype(config)
    channels_last = device.type == "cuda"
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)

    decode_size = max(model.pretrained_cfg["input_size"][1:]) * 2
    train_set = LabelledImages(train_part, train_transform(model, augment=config.augment), targets=targets,
                               decode_size=decode_size)
    val_set = LabelledImages(val_part, InferenceTransform(model), targets=targets, decode_size=decode_size)
    sampler, class_weight = class_balance(train_part, balance=config.balance, targets=targets, seed=config.seed)
    if class_weight is not None:
        class_weight = class_weight.to(device)
    loader_args = dict(batch_size=config.batch_size, num_workers=config.workers, collate_fn=collate,
                       pin_memory=device.type == "cuda", persistent_workers=config.workers > 0)
    train_loader = DataLoader(train_set, sampler=sampler, shuffle=sampler is None, drop_last=False, **loader_args)
    val_loader = DataLoader(val_set, shuffle=False, **loader_args)

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)
    start_epoch, best_auc, best_epoch, bad_epochs, history = 1, -math.inf, 0, 0, []
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch = state["epoch"] + 1
        best_auc, best_epoch, bad_epochs = state["best_auc"], state["best_epoch"], state["bad_epochs"]
        history = list(state["history"])
        if state.get("stopped_early"):
            log.info("the resumed run had already stopped early at epoch %d", state["epoch"])
            start_epoch = config.epochs + 1

    best_path = out / BEST_NAME
    # its own name, so stored scores and reports never pass it off as the base model;
    # and what it saw, so an evaluation on its training files says so
    name = fine_tune_name(config.model, time.gmtime())
    train_sha1s = sorted({file_sha1(i.path) for i in train_part})
    if state is not None and not best_path.exists() and (Path(resume).parent / BEST_NAME).exists():
        shutil.copy2(Path(resume).parent / BEST_NAME, best_path)  # resumed into another folder
    stopped_early = False
    epoch = start_epoch - 1
    for epoch in range(start_epoch, config.epochs + 1):
        model.train()
        started, seen, loss_sum = time.perf_counter(), 0, 0.0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{config.epochs}", unit="batch", disable=not progress,
                   leave=False)
        for batch in bar:
            if batch is None:
                continue
            x, y = batch
            x = x.to(device, non_blocking=True,
                     memory_format=torch.channels_last if channels_last else torch.contiguous_format)
            y = y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                loss = loss_fn(model(x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            seen += len(y)
            loss_sum += loss.detach().item() * len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        train_seconds = time.perf_counter() - started
        scheduler.step()
        scores, truth = _predict(model, val_loader, device=device, dtype=dtype, nsfw=nsfw,
                                 channels_last=channels_last)
        auc = metrics.roc_auc(truth, scores)
        improved = auc > best_auc
        history.append({"epoch": epoch, "train_loss": loss_sum / max(seen, 1), "val_auc": auc,
                        "lr": optimizer.param_groups[0]["lr"], "train_images": seen,
                        "train_seconds": train_seconds, "images_per_s": seen / train_seconds if train_seconds else 0.0})
        log.info("epoch %d: loss %.4f, validation AUC %.4f%s", epoch, history[-1]["train_loss"], auc,
                 " (best)" if improved else "")
        if progress:
            print(f"epoch {epoch}: loss {history[-1]['train_loss']:.4f}, val AUC {auc:.4f}, "
                  f"{history[-1]['images_per_s']:.1f} img/s{' *' if improved else ''}", file=sys.stderr)
        if improved:
            best_auc, best_epoch, bad_epochs = auc, epoch, 0
            save_checkpoint(best_path, model, label_names=list(labels), pretrained_cfg=model.pretrained_cfg,
                            extra={"trained_from": config.model, "epoch": epoch, "val_auc": auc,
                                   "train_files": len(train_part), "val_files": len(val_part),
                                   "name": name, "train_sha1s": train_sha1s})
        else:
            bad_epochs += 1
        stopped_early = bad_epochs >= config.patience and epoch < config.epochs
        save_state(out / STATE_NAME, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                    config=config, epoch=epoch, best_auc=best_auc, best_epoch=best_epoch, bad_epochs=bad_epochs,
                    history=history, train_part=train_part, val_part=val_part, labels=labels,
                    stopped_early=stopped_early)
        (out / HISTORY_NAME).write_text(json.dumps(history, indent=2) + "\n")
        if stopped_early:
            log.info("no better validation AUC for %d epochs: stopping", config.patience)
            break
    if not best_path.exists():
        raise RuntimeError("no epoch was trained: nothing to save (raise --epochs to continue a resumed run)")
    return TrainResult(checkpoint=best_path, best_auc=best_auc, best_epoch=best_epoch, epochs_run=epoch,
                       stopped_early=stopped_early, history=history)


def _predict(model, loader, *, device, dtype, nsfw: int, channels_last: bool) -> tuple[np.ndarray, np.ndarray]:
    import torch

    model.eval()
    scores, truth = [], []
    with torch.inference_mode():
        for batch in loader:
            if batch is None:
                continue
            x, y = batch
            x = x.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                logits = model(x)
            scores.append(logits.float().softmax(1)[:, nsfw].cpu().numpy())
            truth.append((y == nsfw).numpy())
    return np.concatenate(scores), np.concatenate(truth)


def train_command(*, folder: Path, val: Path | None = None, out: Path = Path("training"), resume: Path | None = None,
                  no_progress: bool = False, **config) -> int:
    """Fine-tune on a labelled folder and print where the best checkpoint is.

    :param config: :class:`TrainConfig` fields (each is an option of the same name)
    :returns: 0, or 2 when the folders cannot be read or the files cannot be trained on
    """
    from .labelled import read_labelled_folder

    try:
        items = read_labelled_folder(folder)
        val_items = read_labelled_folder(val) if val else None
        result = train(items, config=TrainConfig(**config), out=out, val_items=val_items, resume=resume,
                       progress=not no_progress)
    except (OSError, ValueError, RuntimeError) as e:
        print(f"train: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"best validation AUC {result.best_auc:.4f} at epoch {result.best_epoch} "
          f"({result.epochs_run} epochs{', stopped early' if result.stopped_early else ''})")
    print(f"checkpoint: {result.checkpoint}  (use --model {result.checkpoint})")
    return EXIT_OK


def _config_arguments() -> tuple:
    defaults = TrainConfig()
    numbers = (("epochs", int), ("batch_size", int), ("lr", float), ("weight_decay", float),
               ("val_fraction", float), ("patience", int), ("input_size", int), ("workers", int), ("seed", int))
    return (
        arg("--model", default=defaults.model,
            help=f"starting point: timm name, hf-hub: id or checkpoint (default {defaults.model})"),
        arg("--no-pretrained", dest="pretrained", action="store_false",
            help="random initial weights (for architectures without offline weights)"),
        *(arg("--" + name.replace("_", "-"), type=kind, default=getattr(defaults, name),
              help=f"default {getattr(defaults, name)}") for name, kind in numbers),
        arg("--balance", choices=("sampler", "loss", "none"), default=defaults.balance,
            help="class balancing (default: weighted sampler)"),
        arg("--no-augment", dest="augment", action="store_false", help="no random crops/flips/jitter"),
        arg("--device", default="auto", help="auto | cpu | cuda | cuda:N"),
        arg("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
            help="auto: bf16 (or fp16) autocast on CUDA, fp32 on the CPU"))


COMMAND = Command(
    "train", train_command, "fine-tune a timm model on a labelled folder",
    description="Fine-tune a timm model on a labelled folder (sfw/ and nsfw/ subfolders);\n"
                "writes OUT/best.safetensors, which --model accepts everywhere.",
    arguments=(
        arg("folder", type=Path, help="labelled folder (e.g. from `python -m bot export-labelled`)"),
        arg("--val", type=Path, default=None,
            help="a separate labelled validation folder (default: split --val-fraction off FOLDER)"),
        arg("--out", type=Path, default=Path("training"), help="output folder (default ./training)"),
        arg("--resume", type=Path, default=None, help="continue from OUT/state.pt of an earlier run"),
        *_config_arguments(),
        arg("--no-progress", action="store_true")))
