"""onnxruntime on the CPU, from an ONNX export of the timm model (imports neither torch nor timm)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

__all__ = ["OnnxRuntime", "session_options"]


def session_options(*, threads: int | None = None, spinning: bool = False) -> ort.SessionOptions:
    """Full graph optimisation (conv+bias+relu and NCHWc fusions).

    Spinning is off by default: idle intra-op threads that spin steal the cores
    the pipeline's decode threads need, which costs more end to end than the
    microseconds spinning saves between operators.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads  # else onnxruntime's default: one per physical core
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxRuntime:
    """Runs an ONNX classifier whose output is class probabilities.

    :param max_batch: larger batches are run in chunks of this size: on a CPU
        throughput is flat beyond a few images, while activation memory grows
        with the batch
    """

    name = "onnxruntime"
    precision = "fp32"
    default_batch_size = 16

    def __init__(self, path: str | Path, *, threads: int | None = None, spinning: bool = False,
                 max_batch: int = 16) -> None:
        self.path = Path(path)
        self.session = ort.InferenceSession(str(self.path), session_options(threads=threads, spinning=spinning),
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.max_batch = max_batch

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        chunks = [self.session.run(None, {self.input_name: batch[i:i + self.max_batch]})[0]
                  for i in range(0, len(batch), self.max_batch)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)
