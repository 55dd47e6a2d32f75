"""Still images with Pillow: one RGB frame, oriented, flattened, reduced."""
from __future__ import annotations

from typing import BinaryIO

import numpy as np
from PIL import Image

from .limits import DecodedMedia, Deadline, Frame, MediaError, MediaLimits
from .orientation import apply_exif_orientation

__all__ = ["open_image", "decode_still", "to_rgb", "to_rgba", "reduce_to", "key_on_high_bytes",
           "DEFAULT_BACKGROUND"]

#: Transparent pixels are composited onto white: Commons shows files on white
#: pages (galleries, articles, thumbnails), so white is what patrollers and
#: readers see. Pillow's ``convert("RGB")`` instead keeps whatever colour sits
#: under alpha 0 (often black), which turns a cut-out figure into a silhouette
#: or reveals pixels nobody can see.
DEFAULT_BACKGROUND: tuple[int, int, int] = (255, 255, 255)

#: Pillow plugins a sniffed format may use. JPEG files with extra pictures open as MPO
#: through the JPEG plugin's own factory: "MPO" is no open format of Pillow's, and
#: naming it made every JPEG the JPEG plugin rejected a ``KeyError: 'MPO'``.
_PILLOW_FORMATS = {"JPEG": ("JPEG",), "PNG": ("PNG",), "GIF": ("GIF",),
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
    key_on_high_bytes(im)
    return im


def key_on_high_bytes(im: Image.Image) -> None:
    """Before ``im`` is loaded: a 16-bit RGB PNG's tRNS key, matched on the high bytes.

    Pillow keeps only the high byte of each 16-bit RGB sample but gives the key
    in 16 bits, so the key would match no pixel, or, when every component is
    below 256, the wrong ones (those whose *high* bytes equal the key's low
    bytes). Only the tile's raw mode tells a 16-bit file from an 8-bit one, and
    the tile is gone once the image is loaded.
    """
    key = im.info.get("transparency")
    if (im.mode == "RGB" and isinstance(key, tuple) and len(im.tile) == 1
            and im.tile[0].args == "RGB;16B"):
        im.info["transparency"] = tuple(v >> 8 for v in key)


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
    im = apply_exif_orientation(im)  # EXIF only, never XMP (see orientation.py)
    image = reduce_to(to_rgb(im, background), decode_size)
    return DecodedMedia("still", [Frame(image, 0, None)])


def to_rgb(im: Image.Image, background: tuple[int, int, int] = DEFAULT_BACKGROUND) -> Image.Image:
    """Any Pillow mode as 8-bit RGB; alpha composited onto ``background`` (see :func:`to_rgba`)."""
    im = _to_8bit(im)
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, background)
        flat.paste(im, mask=im.getchannel("A"))
        return flat
    return im if im.mode == "RGB" else im.convert("RGB")


def to_rgba(im: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGBA, transparency (alpha or a tRNS key) kept as alpha."""
    im = _to_8bit(im)
    return im if im.mode == "RGBA" else im.convert("RGBA")


def _to_8bit(im: Image.Image) -> Image.Image:
    """RGBA when ``im`` carries transparency, else an 8-bit mode without alpha.

    A tRNS key colour (``info["transparency"]``) is transparent in every mode:
    16-bit greyscale keys are matched on the full 16-bit samples (PNG 1.2,
    11.3.2.1) before they are scaled to 8 bits. Pillow keeps only the high byte
    of 16-bit RGB samples, so a 16-bit RGB key is matched on its high bytes
    (:func:`key_on_high_bytes`, applied when the file is opened).
    """
    mode = im.mode
    key = im.info.get("transparency")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow clips 16-bit values to 255 on convert("L"): scale instead.
        values = np.asarray(im, dtype=np.float32)
        # Pillow drops the key when it converts these modes (black shows): keep it as alpha.
        opaque = values != key if isinstance(key, (int, float)) else None
        peak = float(values.max()) if values.size else 0.0
        if mode.startswith("I;16") or 255 < peak <= 65535:
            values = values / 256.0  # 16-bit samples (PNG, TIFF)
        elif mode == "F" and peak <= 1.0:
            values = values * 255.0  # floating point in [0, 1]
        elif peak > 65535:
            values = values * (255.0 / peak)
        im = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), "L")
        mode = "L"
        if opaque is not None:
            im = Image.merge("LA", (im, Image.fromarray(opaque.astype(np.uint8) * 255, "L")))
            mode = "LA"
    if "transparency" in im.info and mode in ("P", "L", "RGB", "1"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode == "La":  # TIFF grey with associated alpha: Pillow converts La only to LA
        im, mode = im.convert("LA"), "LA"
    if mode in ("LA", "PA", "RGBa"):
        im = im.convert("RGBA")
    return im


def reduce_to(im: Image.Image, decode_size: int) -> Image.Image:
    """Shrink by a whole factor while the shorter side stays >= ``decode_size``.

    A box reduction keeps memory bounded for big frames; the classifier does
    the final resize, so nothing finer is needed here.
    """
    factor = min(im.size) // decode_size
    return im.reduce(factor) if factor >= 2 else im


#: PNG chunks Pillow decompresses into memory that no pixel depends on: the ICC
#: profile (not applied here) and text, including XMP (iTXt) and raw EXIF text
_PNG_METADATA_CHUNKS = (b"iCCP", b"tEXt", b"zTXt", b"iTXt")


def is_metadata_refusal(error: MediaError) -> bool:
    """Whether Pillow refused a PNG only for the size of its metadata.

    Pillow decompresses at most ``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MiB) per
    ICC/text chunk and ``MAX_TEXT_MEMORY`` (64 MiB) of text in all, and raises
    ``ValueError`` beyond that; libpng, which browsers use, skips such an
    ancillary chunk (a benign error) and shows the picture.
    """
    return "MAX_TEXT_CHUNK" in error.message or "MAX_TEXT_MEMORY" in error.message


def png_without_metadata(data) -> bytes:
    """The PNG ``data`` with its iCCP, tEXt, zTXt and iTXt chunks left out.

    Pillow's bounds stay as they are (they keep a small file from expanding
    into gigabytes of text); when a file exceeds them, this copy is decoded
    instead, as libpng would skip the chunks. Critical chunks, tRNS, eXIf
    (orientation) and APNG chunks are kept byte for byte.
    """
    out = [bytes(data[:8])]
    pos, end = 8, len(data)
    while pos + 8 <= end:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = bytes(data[pos + 4:pos + 8])
        stop = min(end, pos + 12 + length)
        if kind not in _PNG_METADATA_CHUNKS:
            out.append(bytes(data[pos:stop]))
        pos = stop
        if kind == b"IEND":
            break
    if pos < end:
        out.append(bytes(data[pos:]))  # whatever follows (or a cut chunk): Pillow judges it
    return b"".join(out)
