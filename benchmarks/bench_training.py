"""Training throughput (images/s) against plain inference of the same model, in the same run.

    .venv/bin/python benchmarks/bench_training.py [--steps 4] [--batch 16] [--device auto]

For each model: a few optimizer steps (forward + backward + AdamW, the loop of
``classifiers.learning.train``, autocast bf16/fp16 on CUDA, fp32 on a CPU) on random
tensors, then inference (``inference_mode``) on the same batch: the printed
ratio (training/inference) is the cost of learning relative to scoring. Data
loading and augmentation are left out (they run in DataLoader workers);
``--pipeline`` adds one epoch of the real ``train()`` on generated images for
the tiny model, decoding and augmentation included.

Models: timm's ``test_resnet`` at 64 px (what the tests train), ``resnet10t``
at 224 px, and ``opennsfw_resnet50_1by2`` at 224 px (fine-tuning the default model).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from classifiers.learning.train import TrainConfig, build_model  # noqa: E402

MODELS = (
    ("test_resnet", 64, False),
    ("resnet10t", 224, False),
    ("opennsfw_resnet50_1by2", 224, True),
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(name: str, size: int, pretrained: bool, *, batch: int, steps: int, device: torch.device,
            dtype) -> tuple[float, float]:
    model, _ = build_model(TrainConfig(model=name, pretrained=pretrained, input_size=size))
    memory_format = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    model.to(device, memory_format=memory_format)
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 2, (batch,), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
    autocast = lambda: torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)  # noqa: E731

    def train_step() -> None:
        with autocast():
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    model.train()
    train_step()  # warm-up: allocations, cudnn autotuning
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        train_step()
    _sync(device)
    train_rate = batch * steps / (time.perf_counter() - started)

    model.eval()
    with torch.inference_mode(), autocast():
        model(x)
        _sync(device)
        started = time.perf_counter()
        for _ in range(steps):
            model(x)
        _sync(device)
    infer_rate = batch * steps / (time.perf_counter() - started)
    return train_rate, infer_rate


def pipeline_rate(*, device: str) -> float:
    """Images/s of one real epoch of ``train()`` (decode, augment, step) for test_resnet at 64 px."""
    from classifiers.learning.labelled import read_labelled_folder
    from classifiers.learning.train import train

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.learning.synthetic import make_labelled_folder

    with tempfile.TemporaryDirectory() as tmp:
        root = make_labelled_folder(Path(tmp) / "set", per_label=160)
        result = train(read_labelled_folder(root), out=Path(tmp) / "out", progress=False,
                       config=TrainConfig(model="test_resnet", pretrained=False, input_size=64, epochs=1,
                                          batch_size=32, workers=min(2, os.cpu_count() or 1), device=device))
    return result.history[0]["images_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pipeline", action="store_true")
    args = parser.parse_args()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if device.type == "cuda" else None
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"device: {where}; precision: {dtype or 'fp32'}; batch {args.batch}, {args.steps} steps; "
          f"load average {load:.1f} at start")
    print(f"{'model':<26}{'size':>5}{'train img/s':>13}{'infer img/s':>13}{'train/infer':>13}")
    for name, size, pretrained in MODELS:
        train_rate, infer_rate = measure(name, size, pretrained, batch=args.batch, steps=args.steps,
                                         device=device, dtype=dtype)
        print(f"{name:<26}{size:>5}{train_rate:>13.1f}{infer_rate:>13.1f}{train_rate / infer_rate:>13.2f}")
    if args.pipeline:
        print(f"train() epoch, test_resnet 64 px, decode+augment included: {pipeline_rate(device=str(device)):.1f} img/s")


if __name__ == "__main__":
    main()
