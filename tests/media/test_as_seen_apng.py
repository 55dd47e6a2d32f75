"""APNG frames composed as browsers and FFmpeg show them (issue 11).

References: FFmpeg's own APNG decode (the ffmpeg binary, ``-f apng``), flattened
on white; where FFmpeg refuses a valid file (a first frame smaller than the
canvas after a default image), the APNG specification's rule written out.
The files are written chunk by chunk here, so every fcTL field is what the
test says.
"""
from __future__ import annotations

import struct
import subprocess
import zlib

import numpy as np
import pytest

from classifiers.media import read_frames

from .makers import png_chunk

NONE, BACKGROUND, PREVIOUS = 0, 1, 2
SOURCE, OVER = 0, 1


def _rows(pixels: np.ndarray) -> bytes:
    return zlib.compress(b"".join(b"\0" + row.tobytes() for row in pixels))


def write_apng(size, frames, *, default=None, colour_type=6, palette=None, alphas=None) -> bytes:
    """``frames``: (pixels, x, y, dispose, blend); pixels HxWx4 (type 6), HxWx3 (2) or HxW (3)."""
    w, h = size
    out = [b"\x89PNG\r\n\x1a\n", png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)),
           png_chunk(b"acTL", struct.pack(">II", len(frames), 1))]
    if palette is not None:
        out.append(png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel())))
        out.append(png_chunk(b"tRNS", bytes(alphas)))
    if default is not None:
        out.append(png_chunk(b"IDAT", _rows(default)))
    seq = 0
    for i, (pixels, x, y, dispose, blend) in enumerate(frames):
        fh, fw = pixels.shape[:2]
        out.append(png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, fw, fh, x, y, 1, 10, dispose, blend)))
        seq += 1
        if i == 0 and default is None:
            out.append(png_chunk(b"IDAT", _rows(pixels)))
        else:
            out.append(png_chunk(b"fdAT", struct.pack(">I", seq) + _rows(pixels)))
            seq += 1
    out.append(png_chunk(b"IEND", b""))
    return b"".join(out)


def on_white(rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.float64) / 255
    return np.round(rgba[..., :3] * a + 255 * (1 - a)).astype(np.uint8)


def ffmpeg_shown(data: bytes, w: int, h: int) -> list[np.ndarray]:
    import imageio_ffmpeg
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "apng", "-i", "pipe:",
                          "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:"],
                         input=data, capture_output=True, check=True).stdout
    return [on_white(f) for f in np.frombuffer(raw, np.uint8).reshape(-1, h, w, 4)]


def spec_shown(size, frames) -> list[np.ndarray]:
    """The APNG rule written out (RGBA frames, float "over")."""
    w, h = size
    canvas = np.zeros((h, w, 4), np.float64)
    out = []
    for i, (pixels, x, y, dispose, blend) in enumerate(frames):
        fh, fw = pixels.shape[:2]
        region = (slice(y, y + fh), slice(x, x + fw))
        saved = canvas[region].copy()
        src = pixels.astype(np.float64) / 255
        if blend == OVER:
            dst = canvas[region]
            a = src[..., 3:] + dst[..., 3:] * (1 - src[..., 3:])
            rgb = (src[..., :3] * src[..., 3:] + dst[..., :3] * dst[..., 3:] * (1 - src[..., 3:]))
            canvas[region] = np.concatenate([np.divide(rgb, a, out=np.zeros_like(rgb), where=a > 0), a], -1)
        else:
            canvas[region] = src
        canvas = np.round(canvas * 255) / 255  # decoders keep an 8-bit canvas
        out.append(on_white(np.round(canvas * 255).astype(np.uint8)))
        if dispose == BACKGROUND or (dispose == PREVIOUS and i == 0):
            canvas[region] = 0
        elif dispose == PREVIOUS:
            canvas[region] = saved
    return out


def shown(data: bytes) -> list[np.ndarray]:
    decoded = read_frames(data, frames=16, decode_size=1000)
    assert decoded.media_type == "animated" and decoded.error_kind is None
    return [np.asarray(f.image) for f in decoded.frames]


def assert_close(got: list[np.ndarray], expected: list[np.ndarray], tolerance=(1,)) -> None:
    """Within ``tolerance[i]`` (the last one for later frames) of the reference, per channel."""
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == e.shape, i
        worst = int(np.abs(g.astype(int) - e.astype(int)).max())
        assert worst <= tolerance[min(i, len(tolerance) - 1)], f"frame {i} differs by {worst}"


def rgba(h, w, colour, alpha) -> np.ndarray:
    a = np.zeros((h, w, 4), np.uint8)
    a[...] = (*colour, alpha)
    return a


def layered(dispose: int, blend: int) -> list:
    """A half-transparent first frame, then smaller frames with partial alpha at offsets."""
    first = rgba(16, 24, (220, 60, 30), 255)
    first[:, 12:, 3] = 96  # the right half partly transparent
    first[0:4, 0:4, 3] = 0  # a hole
    second = rgba(8, 10, (20, 40, 210), 128)
    second[2:6, 2:6] = (30, 200, 40, 255)
    third = rgba(6, 8, (250, 250, 20), 191)
    third[:, :2, 3] = 0
    last = rgba(16, 24, (90, 10, 160), 64)
    return [(first, 0, 0, dispose, SOURCE), (second, 9, 5, dispose, blend),
            (third, 14, 8, dispose, blend), (last, 0, 0, NONE, blend)]


@pytest.mark.parametrize("blend", [SOURCE, OVER])
@pytest.mark.parametrize("dispose", [NONE, BACKGROUND, PREVIOUS])
def test_every_dispose_and_blend_matches_ffmpeg(dispose, blend):
    """Pillow pastes OVER frames with their own alpha as mask: alpha 191 instead of 255
    over an opaque canvas, wrong colours over a transparent one (off by 64 and more)."""
    frames = layered(dispose, blend)
    data = write_apng((24, 16), frames)
    got = shown(data)
    assert_close(got, spec_shown((24, 16), frames))
    # FFmpeg truncates where it blends over a partly transparent canvas (libavcodec/pngdec.c:
    # ``/ (255 * output_alpha)``): up to 1 lower per such blend. With dispose NONE frame 3
    # is the third blend over the same partly transparent pixels.
    assert_close(got, ffmpeg_shown(data, 24, 16), tolerance=(1, 1, 1, 2))


def test_the_default_image_is_not_a_frame():
    """IDAT before the first fcTL is for viewers without APNG support: FFmpeg and browsers
    skip it, and the first frame is composed over a transparent canvas, not over it."""
    green = rgba(16, 24, (0, 200, 0), 255)
    frames = [(rgba(16, 24, (200, 30, 30), 128), 0, 0, NONE, OVER),
              (rgba(8, 8, (20, 20, 220), 200), 4, 4, BACKGROUND, OVER)]
    data = write_apng((24, 16), frames, default=green)
    decoded = read_frames(data, frames=16, decode_size=1000)
    assert [f.index for f in decoded.frames] == [0, 1]
    assert [f.time for f in decoded.frames] == pytest.approx([0.0, 0.1])
    assert_close([np.asarray(f.image) for f in decoded.frames], ffmpeg_shown(data, 24, 16))


def test_a_first_frame_smaller_than_the_canvas_leaves_the_rest_transparent():
    """Valid after a default image (FFmpeg refuses it; browsers show it): the rule written out."""
    frames = [(rgba(6, 10, (200, 30, 30), 255), 3, 2, BACKGROUND, SOURCE),
              (rgba(8, 8, (20, 20, 220), 150), 10, 6, PREVIOUS, OVER),
              (rgba(4, 4, (240, 240, 0), 255), 0, 0, NONE, OVER)]
    data = write_apng((24, 16), frames, default=rgba(16, 24, (0, 0, 0), 255))
    got = shown(data)
    assert_close(got, spec_shown((24, 16), frames))
    assert (got[0][0] == 255).all()  # white, not the default image's black


def test_palette_frames_with_partial_alpha_match_ffmpeg():
    """Colour type 3 with a tRNS table of several alpha levels, blended OVER."""
    palette = [(0, 0, 0), (220, 40, 40), (40, 40, 220), (240, 240, 0)]
    alphas = [0, 255, 120, 60]
    a = np.ones((12, 12), np.uint8)
    a[:, 6:] = 2
    b = np.full((6, 6), 3, np.uint8)
    b[:2] = 0
    frames = [(a, 0, 0, NONE, SOURCE), (b, 3, 3, BACKGROUND, OVER), (b, 5, 5, NONE, OVER)]
    data = write_apng((12, 12), frames, colour_type=3, palette=palette, alphas=alphas)
    got = shown(data)
    assert_close(got, ffmpeg_shown(data, 12, 12))
    rgba_frames = [(np.array([(*palette[k], alphas[k]) for k in range(4)], np.uint8)[p], x, y, d, bl)
                   for p, x, y, d, bl in frames]
    assert_close(got, spec_shown((12, 12), rgba_frames))
