"""onnxruntime on the CPU, from an ONNX export of a timm model or an original ONNX file (no torch, no timm)."""
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
    :param channels_last: the graph takes NHWC (e.g. a TensorFlow export); batches
        handed to :meth:`probabilities` are NCHW either way
    :param bgr: the graph takes BGR (Caffe models); batches are RGB either way
    :param feature_output: a graph value to return as well, e.g. open_nsfw's pooled
        ``Reshape:0``: added as a second graph output, so the features come from the
        same forward pass as the scores (:mod:`.onnx_outputs`)
    """

    name = "onnxruntime"
    precision = "fp32"
    default_batch_size = 16

    def __init__(self, path: str | Path, *, threads: int | None = None, spinning: bool = False,
                 max_batch: int = 16, channels_last: bool = False, bgr: bool = False,
                 feature_output: str | None = None) -> None:
        self.path = Path(path)
        model: str | bytes = str(self.path)
        if feature_output is not None:
            from .onnx_outputs import add_output

            model = add_output(self.path.read_bytes(), feature_output)
        self.feature_output = feature_output
        self.session = ort.InferenceSession(model, session_options(threads=threads, spinning=spinning),
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.max_batch = max_batch
        self.channels_last = channels_last
        self.bgr = bgr

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, classes) float32 probabilities for an NCHW RGB float32 batch."""
        return self.probabilities_and_features(batch)[0]

    def probabilities_and_features(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``((N, classes) probabilities, (N, D) features or None)`` from one forward pass."""
        if self.bgr:
            batch = batch[:, ::-1]
        if self.channels_last:
            batch = batch.transpose(0, 2, 3, 1)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        runs = [self.session.run(None, {self.input_name: batch[i:i + self.max_batch]})
                for i in range(0, len(batch), self.max_batch)]
        if not runs:
            return np.zeros((0, 0), np.float32), None
        probabilities = np.concatenate([run[0] for run in runs])
        if self.feature_output is None:
            return probabilities, None
        return probabilities, np.concatenate([run[1] for run in runs]).reshape(len(batch), -1)
