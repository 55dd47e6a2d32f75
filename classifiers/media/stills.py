"""Still images with Pillow: one RGB frame, oriented, flattened, reduced."""
from __future__ import annotations

from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from .limits import DecodedMedia, Deadline, Frame, MediaError, MediaLimits

__all__ = ["open_image", "decode_still", "to_rgb", "reduce_to", "DEFAULT_BACKGROUND"]

#: Transparent pixels are composited onto white: Commons shows files on white
#: pages (galleries, articles, thumbnails), so white is what patrollers and
#: readers see. Pillow's ``convert("RGB")`` instead keeps whatever colour sits
#: under alpha 0 (often black), which turns a cut-out figure into a silhouette
#: or reveals pixels nobody can see.
DEFAULT_BACKGROUND: tuple[int, int, int] = (255, 255, 255)

#: Pillow plugins a sniffed format may use (JPEG files with extra pictures open as MPO)
_PILLOW_FORMATS = {"JPEG": ("JPEG", "MPO"), "PNG": ("PNG",), "GIF": ("GIF",),
                   "WEBP": ("WEBP",), "TIFF": ("TIFF",), "BMP": ("BMP",)}


def open_image(fp: BinaryIO | str, fmt: str, *, limits: MediaLimits, decode_size: int) -> Image.Image:
    """Open (lazily) with only the plugin the bytes call for; check the claimed size.

    JPEGs are set to decode at the smallest DCT scale (1/2, 1/4, 1/8) that still
    covers ``decode_size``: the classifier wants ~256 px, and a 12 MP photo then
    costs a fraction of a full decode.
    """
    # Pillow warns above 89 MP and raises above 179 MP; our own, lower limit
    # below decides. (No warnings.catch_warnings here: it is not thread-safe.)
    try:
        im = Image.open(fp, formats=_PILLOW_FORMATS[fmt])
    except Image.DecompressionBombError as e:
        raise MediaError("decompression-bomb", str(e)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise classify_pillow_error(e, stage=f"opening {fmt}") from None
    if im.format == "JPEG" or im.format == "MPO":
        im.draft("RGB", (decode_size, decode_size))
    width, height = im.size
    if width < 1 or height < 1:
        raise MediaError("decode-error", f"{fmt} claims a size of {width}x{height}")
    if width * height > limits.max_pixels:
        raise MediaError("decompression-bomb",
                         f"{fmt} of {width}x{height} = {width * height:,} pixels "
                         f"exceeds max_pixels {limits.max_pixels:,}")
    return im


def classify_pillow_error(e: BaseException, *, stage: str) -> MediaError:
    text = str(e) or type(e).__name__
    lowered = text.lower()
    if isinstance(e, EOFError) or any(word in lowered for word in (
            "truncated", "premature end", "not enough data",
            "buffer is not large enough", "unexpected end")):
        return MediaError("truncated", f"{stage}: {text}")
    if isinstance(e, MemoryError):
        return MediaError("too-large", f"{stage}: out of memory")
    return MediaError("decode-error", f"{stage}: {text}")


def decode_still(im: Image.Image, *, limits: MediaLimits, decode_size: int,
                 background: tuple[int, int, int], deadline: Deadline) -> DecodedMedia:
    """The first frame of ``im`` (TIFF page 1, MPO's main picture), as Commons thumbnails it."""
    deadline.spend(im.size[0] * im.size[1])
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as e:
        raise classify_pillow_error(e, stage=f"decoding {im.format}") from None
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - malformed EXIF: the pixels are still good
        pass
    image = reduce_to(to_rgb(im, background), decode_size)
    return DecodedMedia("still", [Frame(image, 0, None)])


def to_rgb(im: Image.Image, background: tuple[int, int, int] = DEFAULT_BACKGROUND) -> Image.Image:
    """Any Pillow mode as 8-bit RGB; alpha composited onto ``background``."""
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow clips 16-bit values to 255 on convert("L"): scale instead.
        values = np.asarray(im, dtype=np.float32)
        peak = float(values.max()) if values.size else 0.0
        if mode.startswith("I;16") or 255 < peak <= 65535:
            values = values / 256.0  # 16-bit samples (PNG, TIFF)
        elif mode == "F" and peak <= 1.0:
            values = values * 255.0  # floating point in [0, 1]
        elif peak > 65535:
            values = values * (255.0 / peak)
        im = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
        mode = "L"
    if "transparency" in im.info and mode in ("P", "L", "RGB", "1"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("LA", "La", "PA", "RGBa"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode == "RGBA":
        flat = Image.new("RGB", im.size, background)
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im if mode == "RGB" else im.convert("RGB")


def reduce_to(im: Image.Image, decode_size: int) -> Image.Image:
    """Shrink by a whole factor while the shorter side stays >= ``decode_size``.

    A box reduction keeps memory bounded for big frames; the classifier does
    the final resize, so nothing finer is needed here.
    """
    factor = min(im.size) // decode_size
    return im.reduce(factor) if factor >= 2 else im
