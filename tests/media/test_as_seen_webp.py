"""Animated WebP frames composed as browsers show them (issue 11).

FFmpeg's webp decoder does not decode animations; browsers use libwebp's
WebPAnimDecoder, which Pillow uses too. The reference is the rule of the WebP
container specification ("Animation", ANMF) written out, as libwebp and
browsers apply it: the canvas starts transparent black (the ANIM background
colour is a hint they ignore), a frame is alpha-blended over the canvas unless
its "do not blend" bit is set, and "dispose to background" clears the frame's
rectangle to transparent before the next frame. The files are written chunk
by chunk here, so every ANMF field is what the test says.
"""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from classifiers.media import read_frames

from .test_as_seen_apng import assert_close, on_white, rgba


def _chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _vp8l(pixels: np.ndarray) -> bytes:
    """The lossless bitstream (VP8L chunk, whole) of one frame, from libwebp via Pillow."""
    buf = io.BytesIO()
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    Image.fromarray(pixels, mode).save(buf, "WEBP", lossless=True, exact=True)
    data = buf.getvalue()
    at = data.index(b"VP8L")
    size = struct.unpack("<I", data[at + 4:at + 8])[0]
    return data[at:at + 8 + size + size % 2]


def write_webp(size, frames, *, alpha=True, background=(0, 0, 0, 255)) -> bytes:
    """``frames``: (pixels, x, y, dispose_to_background, blend); x and y even (the format's unit)."""
    w, h = size
    flags = 0x02 | (0x10 if alpha else 0)  # animation, alpha
    body = [b"WEBP", _chunk(b"VP8X", bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little")
                             + (h - 1).to_bytes(3, "little")),
            _chunk(b"ANIM", bytes(background[2::-1]) + bytes([background[3]]) + struct.pack("<H", 0))]
    for pixels, x, y, dispose, blend in frames:
        fh, fw = pixels.shape[:2]
        header = ((x // 2).to_bytes(3, "little") + (y // 2).to_bytes(3, "little")
                  + (fw - 1).to_bytes(3, "little") + (fh - 1).to_bytes(3, "little")
                  + (100).to_bytes(3, "little") + bytes([(0 if blend else 2) | (1 if dispose else 0)]))
        body.append(_chunk(b"ANMF", header + _vp8l(pixels)))
    data = b"".join(body)
    return b"RIFF" + struct.pack("<I", len(data)) + data


def rule_shown(size, frames) -> list[np.ndarray]:
    """The WebP rule written out, blending in libwebp's integer arithmetic
    (src/demux/anim_decode.c, BlendPixelNonPremult), on RGBA or RGB frames."""
    w, h = size
    canvas = np.zeros((h, w, 4), np.int64)
    out = []
    for pixels, x, y, dispose, blend in frames:
        fh, fw = pixels.shape[:2]
        region = (slice(y, y + fh), slice(x, x + fw))
        src = pixels.astype(np.int64)
        if src.shape[2] == 3:
            src = np.concatenate([src, np.full((fh, fw, 1), 255)], -1)
        if blend:
            dst = canvas[region]
            src_a = src[..., 3:]
            dst_factor_a = (dst[..., 3:] * (256 - src_a)) >> 8
            blend_a = src_a + dst_factor_a
            scale = (1 << 24) // np.maximum(blend_a, 1)
            rgb = ((src[..., :3] * src_a + dst[..., :3] * dst_factor_a) * scale) >> 24
            canvas[region] = np.where(src_a == 0, dst, np.concatenate([rgb, blend_a], -1))
        else:
            canvas[region] = src
        out.append(on_white(canvas.astype(np.uint8)))
        if dispose:
            canvas[region] = 0
    return out


def shown(data: bytes) -> list[np.ndarray]:
    decoded = read_frames(data, frames=16, decode_size=1000)
    assert decoded.media_type == "animated" and decoded.error_kind is None
    return [np.asarray(f.image) for f in decoded.frames]


@pytest.mark.parametrize("blend", [False, True])
@pytest.mark.parametrize("dispose", [False, True])
def test_blend_and_dispose_with_partial_alpha_follow_the_rule(dispose, blend):
    first = rgba(16, 24, (220, 60, 30), 255)
    first[:, 12:, 3] = 96
    first[0:4, 0:4, 3] = 0
    second = rgba(8, 10, (20, 40, 210), 128)
    second[2:6, 2:6] = (30, 200, 40, 255)
    third = rgba(6, 8, (250, 250, 20), 191)
    third[:, :2, 3] = 0
    frames = [(first, 0, 0, dispose, False), (second, 8, 4, dispose, blend),
              (third, 14, 8, dispose, blend), (rgba(16, 24, (90, 10, 160), 64), 0, 0, False, blend)]
    data = write_webp((24, 16), frames, background=(0, 0, 0, 255))  # an opaque black hint
    assert_close(shown(data), rule_shown((24, 16), frames))  # 1: rounding of the flattening on white


@pytest.mark.parametrize("dispose", [False, True])
def test_frames_without_alpha_dispose_to_transparent(dispose):
    """A file without alpha: what "dispose to background" clears shows the page (white)."""
    red = np.zeros((16, 24, 3), np.uint8)
    red[...] = (200, 30, 30)
    blue = np.zeros((8, 8, 3), np.uint8)
    blue[...] = (20, 20, 220)
    frames = [(red, 0, 0, False, False), (blue, 4, 4, dispose, True), (blue[:4, :4], 16, 8, False, True)]
    data = write_webp((24, 16), frames, alpha=False, background=(0, 0, 0, 255))
    got = shown(data)
    assert_close(got, rule_shown((24, 16), frames))  # 1: rounding of the flattening on white
    assert (got[2][5, 5] == ((255, 255, 255) if dispose else (20, 20, 220))).all()
