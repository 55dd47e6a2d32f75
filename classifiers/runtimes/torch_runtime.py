"""torch on CUDA or the CPU.

On CUDA: channels_last, autocast (bf16 where the GPU has it, else fp16),
batches copied through a reused pinned buffer with non-blocking copies, so a
large batch costs one DMA and the GPU is never fed from pageable memory.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["TorchRuntime", "PRECISIONS"]

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TorchRuntime:
    """Runs a torch model on one device.

    :param device: ``cuda``, ``cuda:1``, ``cpu``
    :param precision: ``fp32``, ``bf16`` or ``fp16`` (autocast; outputs are
        softmaxed in fp32); None: bf16/fp16 on CUDA, fp32 on the CPU
    :param channels_last: NHWC memory layout (faster convolutions on both devices)
    """

    def __init__(self, model: nn.Module, *, device: str = "cpu", precision: str | None = None,
                 channels_last: bool = True) -> None:
        self.device = torch.device(device)
        self.is_cuda = self.device.type == "cuda"
        self.name = "torch-cuda" if self.is_cuda else "torch-cpu"
        self.default_batch_size = 256 if self.is_cuda else 16
        if precision is None:
            precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if self.is_cuda else "fp32"
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
        self.precision = precision
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device, memory_format=self.memory_format)
        self._pinned: torch.Tensor | None = None
        if self.is_cuda:
            torch.backends.cudnn.benchmark = True

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return self._run(batch, features=False)[0]

    def probabilities_and_features(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``((N, classes) probabilities, (N, D) pooled pre-logits features)`` from one forward pass
        (timm's ``forward_features`` then ``forward_head(pre_logits=True)``; None for other models)."""
        return self._run(batch, features=True)

    def _run(self, batch: np.ndarray, *, features: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = self._to_device(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        dtype = PRECISIONS[self.precision]
        split = features and hasattr(self.model, "forward_features") and hasattr(self.model, "forward_head")
        pooled = None
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype or torch.float32,
                                                    enabled=dtype is not None):
            x = x.contiguous(memory_format=self.memory_format)
            if split:
                pooled = self.model.forward_head(self.model.forward_features(x), pre_logits=True)
                logits = self.model.get_classifier()(pooled)
            else:
                logits = self.model(x)
        logits = logits.float()
        # one logit: P(its label) by sigmoid; several: softmax over the labels
        probs = torch.sigmoid(logits) if logits.shape[1] == 1 else logits.softmax(1)
        return probs.cpu().numpy(), None if pooled is None else pooled.float().cpu().numpy()

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        if not self.is_cuda:
            return x
        if self._pinned is None or self._pinned.numel() < x.numel():
            self._pinned = torch.empty(x.numel(), dtype=x.dtype, pin_memory=True)
        staged = self._pinned[:x.numel()].view(x.shape)
        staged.copy_(x)
        # The buffer is reused by the next batch: safe because probabilities()
        # waits for the result (.cpu()) before returning.
        return staged.to(self.device, non_blocking=True)
