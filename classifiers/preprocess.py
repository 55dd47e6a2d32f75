"""One frame in, one model input out: timm's eval transform in Pillow + NumPy.

Every model carries its preprocessing in its pretrained_cfg; this module reads
it (:meth:`PreprocessConfig.from_model`, via
``timm.data.resolve_model_data_config``) and applies it without torch, so the
onnxruntime path and the decode threads of the pipeline never import torch.

For open_nsfw the cfg describes Yahoo's Caffe recipe: squash to 256x256
bilinear, crop 16..240, JPEG round trip at quality 75, values 0..255 minus the
channel means. For other timm models it reproduces ``timm.data.create_transform``
(shortest-edge resize, centre crop, mean/std on 0..1 values).
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

__all__ = ["PreprocessConfig", "preprocess", "jpeg_round_trip"]

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
}


@dataclass(frozen=True)
class PreprocessConfig:
    """What a model expects, in timm's terms (``resolve_model_data_config``) plus a JPEG round trip.

    :param input_size: (channels, height, width)
    :param crop_mode: ``center`` (shortest edge, keep ratio), ``squash`` (ignore ratio) or ``border`` (pad)
    :param jpeg_quality: JPEG-encode and decode the crop at this quality (open_nsfw's reference does)
    """

    input_size: tuple[int, int, int] = (3, 224, 224)
    interpolation: str = "bicubic"
    crop_pct: float = 0.875
    crop_mode: str = "center"
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    jpeg_quality: int | None = None
    _norm: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise on 0..255 values with constants computed in float64, so Caffe-style
        # configs (mean m/255, std 1/255) subtract exactly m and scale by exactly 1.
        offset = np.array([255.0 * m for m in self.mean], dtype=np.float32)
        scale = np.array([1.0 / (255.0 * s) for s in self.std], dtype=np.float32)
        object.__setattr__(self, "_norm", (offset, scale))

    @classmethod
    def from_model(cls, model) -> PreprocessConfig:
        """The config a timm model carries (imports timm)."""
        from timm.data import resolve_model_data_config

        data = resolve_model_data_config(model)
        cfg = getattr(model, "pretrained_cfg", None) or {}
        return cls(input_size=tuple(data["input_size"]), interpolation=data["interpolation"],
                   crop_pct=float(data["crop_pct"]), crop_mode=data.get("crop_mode", "center"),
                   mean=tuple(float(m) for m in data["mean"]), std=tuple(float(s) for s in data["std"]),
                   jpeg_quality=cfg.get("jpeg_quality"))

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "_norm"}
        for key in ("input_size", "mean", "std"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("_norm", None)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @property
    def scale_size(self) -> tuple[int, int]:
        """(height, width) before cropping, as timm computes it."""
        _, height, width = self.input_size
        return math.floor(height / self.crop_pct), math.floor(width / self.crop_pct)

    @property
    def decode_size(self) -> int:
        """The side a decoder should keep at least (``Image.draft`` hint): larger loses nothing."""
        return max(self.scale_size)


def preprocess(image: Image.Image, config: PreprocessConfig) -> np.ndarray:
    """One RGB image as a float32 CHW array ready for the model."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    _, crop_h, crop_w = config.input_size
    image = _resize(image, config)
    image = _center_crop(image, crop_h, crop_w, fill=tuple(round(255 * m) for m in config.mean)
                         if config.crop_mode == "border" else (0, 0, 0))
    if config.jpeg_quality is not None:
        image = jpeg_round_trip(image, config.jpeg_quality)
    offset, scale = config._norm
    array = (np.asarray(image, dtype=np.float32) - offset) * scale
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    """``image`` encoded as JPEG at ``quality`` and decoded again (open_nsfw's reference does this)."""
    with io.BytesIO() as buf:
        image.save(buf, format="JPEG", quality=quality)
        buf.seek(0)
        out = Image.open(buf)
        out.load()
    return out


def _resize(image: Image.Image, config: PreprocessConfig) -> Image.Image:
    resample = _RESAMPLE[config.interpolation]
    scale_h, scale_w = config.scale_size
    width, height = image.size
    if config.crop_mode == "squash":
        size = (scale_w, scale_h)
    elif config.crop_mode == "border":
        ratio = max(height / scale_h, width / scale_w)  # longest edge fits (timm ResizeKeepRatio longest=1)
        size = (round(width / ratio), round(height / ratio))
    elif scale_h == scale_w:
        # torchvision Resize(int): shortest edge to the size, the other truncated
        short, long = sorted((width, height))
        new_long = int(scale_h * long / short)
        size = (scale_h, new_long) if width <= height else (new_long, scale_h)
    else:
        ratio = min(height / scale_h, width / scale_w)  # timm ResizeKeepRatio longest=0
        size = (round(width / ratio), round(height / ratio))
    if size == image.size:
        return image
    return image.resize(size, resample)


def _center_crop(image: Image.Image, crop_h: int, crop_w: int, *, fill: tuple[int, ...]) -> Image.Image:
    width, height = image.size
    if width < crop_w or height < crop_h:
        # torchvision pads symmetrically before cropping
        pad_w, pad_h = max(crop_w - width, 0), max(crop_h - height, 0)
        padded = Image.new("RGB", (width + pad_w, height + pad_h), fill)
        padded.paste(image, (pad_w // 2, pad_h // 2))
        image, (width, height) = padded, padded.size
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    if (left, top, crop_w, crop_h) == (0, 0, width, height):
        return image
    return image.crop((left, top, left + crop_w, top + crop_h))
