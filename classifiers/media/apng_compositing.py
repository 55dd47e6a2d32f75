"""APNG frames composed by the format's rules, as browsers and FFmpeg do.

The rules are those of the APNG specification
(https://wiki.mozilla.org/APNG_Specification, "fcTL", "IDAT"/"fdAT"):

* the canvas starts as fully transparent black at the size of ``IHDR``;
* each frame (an ``fcTL`` chunk and its ``fdAT`` chunks, or the ``IDAT``
  chunks when ``fcTL`` precedes them) is a region of ``width`` x ``height`` at
  ``x_offset``, ``y_offset``;
* ``blend_op`` SOURCE (0) replaces the region, alpha included; OVER (1)
  composites the frame over it ("over" operator, PNG spec 12.1 / Porter-Duff);
* after the frame is shown, ``dispose_op`` applies to its region: NONE (0)
  keeps it, BACKGROUND (1) clears it to transparent black, PREVIOUS (2)
  restores what was there before the frame (on the first frame PREVIOUS is
  treated as BACKGROUND);
* an ``IDAT`` image before the first ``fcTL`` (the "default image") is not
  part of the animation: APNG decoders skip it.

Pillow's ``PngImagePlugin`` (13.0) pastes an OVER frame with its own alpha as
mask, so the canvas alpha is blended with itself (alpha 191 instead of 255
over an opaque canvas; colours wrong over a transparent one); it composes the
first frame over the default image, and clears BACKGROUND to colour 0 of
palette or RGB images, opaque. So Pillow only decodes here: each frame becomes
a PNG of its own (the file's ``IHDR`` at the frame's size, ``PLTE`` and
``tRNS``, the frame's data as ``IDAT``), and this module composes them with
``Image.alpha_composite``. The caller flattens each canvas on the background.
"""
from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import NamedTuple

from PIL import Image

from .stills import key_on_high_bytes

__all__ = ["ApngFrame", "apng_frames", "compose_apng"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: chunks every frame's own PNG needs besides its data (others change no pixel in Pillow)
_SHARED = (b"PLTE", b"tRNS")


class ApngFrame(NamedTuple):
    """One animation frame, from its ``fcTL`` chunk and the offsets of its data."""

    box: tuple[int, int, int, int]  # x_offset, y_offset, width, height
    delay: float  # seconds: delay_num / delay_den, a zero denominator meaning 100
    dispose: int  # 0 NONE, 1 BACKGROUND, 2 PREVIOUS
    blend: int  # 0 SOURCE, 1 OVER
    data: list[tuple[int, int]]  # (offset, length) of the compressed bytes in the file


class ApngLayout(NamedTuple):
    """The frames of an APNG and the chunks each frame's own PNG starts with."""

    frames: list[ApngFrame]
    ihdr: bytes  # the 13 bytes of IHDR's data
    shared: bytes  # PLTE and tRNS chunks, whole


def apng_frames(buf) -> ApngLayout:
    """Every complete animation frame of an APNG, by skipping from chunk to chunk.

    A frame is complete when its ``fcTL`` is followed by data within the file;
    a file cut inside a frame's data ends with the frame before it.
    """
    pos, end = 8, len(buf)
    frames: list[ApngFrame] = []
    ihdr, shared = b"", []
    control: tuple | None = None  # the fcTL whose data is being collected
    data: list[tuple[int, int]] = []
    cut = False

    def close() -> None:
        if control is not None and data and not cut:
            frames.append(ApngFrame(*control, list(data)))

    while pos + 8 <= end:
        length = int.from_bytes(buf[pos:pos + 4], "big")
        kind = bytes(buf[pos + 4:pos + 8])
        body = pos + 8
        if body + length + 4 > end:
            cut = True  # this chunk's frame is incomplete
            break
        if kind == b"IHDR":
            ihdr = bytes(buf[body:body + 13])
        elif kind in _SHARED:
            shared.append(bytes(buf[pos:body + length + 4]))
        elif kind == b"fcTL" and length >= 26:
            close()
            width, height, x, y, num, den = struct.unpack(">IIIIHH", buf[body + 4:body + 24])
            control = ((x, y, width, height), num / (den or 100), buf[body + 24], buf[body + 25])
            data = []
        elif kind == b"IDAT" and control is not None:
            data.append((body, length))  # fcTL before IDAT: the default image is frame 0
        elif kind == b"fdAT" and control is not None and length >= 4:
            data.append((body + 4, length - 4))  # after the sequence number
        elif kind == b"IEND":
            break
        pos = body + length + 4
    close()
    return ApngLayout(frames, ihdr, b"".join(shared))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _decode_frame(buf, layout: ApngLayout, frame: ApngFrame,
                  to_rgba: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """One frame as a PNG of its own, decoded by Pillow, as RGBA."""
    width, height = frame.box[2:]
    header = struct.pack(">II", width, height) + layout.ihdr[8:]
    pixels = b"".join(bytes(buf[at:at + n]) for at, n in frame.data)
    png = (_SIGNATURE + _chunk(b"IHDR", header) + layout.shared + _chunk(b"IDAT", pixels)
           + _chunk(b"IEND", b""))
    with Image.open(io.BytesIO(png), formats=["PNG"]) as im:
        key_on_high_bytes(im)
        im.load()
        return to_rgba(im)


def compose_apng(buf, layout: ApngLayout, size: tuple[int, int], targets: list[int], *,
                 to_rgba: Callable[[Image.Image], Image.Image],
                 before_frame: Callable[[int], None]) -> Iterator[tuple[int, Image.Image]]:
    """Yield ``(k, canvas)`` for each target ``k`` (sorted), composing frames 0..targets[-1].

    ``to_rgba`` turns a decoded frame of any PNG mode into RGBA (tRNS keys
    included). ``before_frame(i)`` is called before frame i is decoded
    (budgets, deadline; it may raise). ``canvas`` is RGBA at ``size``, valid
    until the next yield.
    :raises ValueError: a frame's region lies outside the canvas (the spec forbids it)
    """
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    wanted = set(targets)
    for i in range(targets[-1] + 1):
        before_frame(i)
        frame = layout.frames[i]
        x, y, width, height = frame.box
        region = (x, y, x + width, y + height)
        if not (width and height) or region[2] > size[0] or region[3] > size[1]:
            raise ValueError(f"APNG frame {i} at {frame.box} lies outside the {size[0]}x{size[1]} canvas")
        saved = canvas.crop(region) if frame.dispose == 2 and i else None
        piece = _decode_frame(buf, layout, frame, to_rgba)
        if piece.size != (width, height):
            raise ValueError(f"APNG frame {i} decodes to {piece.size}, fcTL says {width}x{height}")
        if frame.blend == 1:
            canvas.alpha_composite(piece, (x, y))
        else:
            canvas.paste(piece, (x, y))  # SOURCE: the region's alpha too
        if i in wanted:
            yield i, canvas
        if saved is not None:
            canvas.paste(saved, (x, y))
        elif frame.dispose in (1, 2):  # BACKGROUND, or PREVIOUS on the first frame
            canvas.paste((0, 0, 0, 0), region)
