"""Animated GIF frames composed as browsers show them (issue 11).

References are the GIF89a rule written out: the canvas starts transparent,
each frame's opaque pixels are drawn over it, then its disposal applies
(2 clears its box to transparent, 3 restores the canvas from before it);
what a reader sees is that canvas on the page's white.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from classifiers.media import read_frames


def palette_frame(pixels: np.ndarray, colours: list[tuple[int, int, int]]) -> Image.Image:
    im = Image.fromarray(pixels.astype(np.uint8), "P")
    im.putpalette([c for rgb in colours for c in rgb] + [0] * (768 - 3 * len(colours)))
    return im


def shown(layers: list[tuple[np.ndarray, list]], disposals: list[int]) -> list[np.ndarray]:
    """The rule written out: (index pixels, palette) per frame, index 0 transparent."""
    h, w = layers[0][0].shape
    canvas = np.zeros((h, w, 4), np.uint8)
    out = []
    for (pixels, colours), disposal in zip(layers, disposals):
        saved = canvas.copy()
        opaque = pixels != 0
        canvas[opaque, :3] = np.array(colours)[pixels[opaque]]
        canvas[opaque, 3] = 255
        flat = np.full((h, w, 3), 255, np.uint8)
        flat[canvas[..., 3] == 255] = canvas[canvas[..., 3] == 255, :3]
        out.append(flat)
        if disposal == 2:
            canvas[:] = 0  # every frame here covers the whole canvas
        elif disposal == 3:
            canvas = saved
    return out


def save_gif(layers, disposals, *, background: int, opaque_first: bool = False) -> bytes:
    frames = [palette_frame(p, c) for p, c in layers]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0,
                   disposal=disposals, transparency=0, background=background, optimize=False)
    data = bytearray(buf.getvalue())
    if opaque_first:  # frame 0 without a transparent index (Pillow writes one for every frame)
        at = data.index(b"\x21\xf9\x04") + 3
        data[at] &= 0xFE
    return bytes(data)


def frames_of(data: bytes) -> list[np.ndarray]:
    decoded = read_frames(data, frames=16, decode_size=1000)
    assert decoded.media_type == "animated" and decoded.error_kind is None
    return [np.asarray(f.image) for f in decoded.frames]


BLACK_FIRST = [(0, 0, 0), (0, 0, 0), (220, 40, 40), (40, 40, 220)]  # index 1 = black background


@pytest.mark.parametrize("disposals", [[2, 2, 2], [1, 2, 1], [1, 3, 1], [3, 3, 3], [0, 0, 0]])
def test_disposal_clears_to_transparent_not_to_the_background_colour(disposals):
    """cases/media/gif_dispose_to_black_background.gif: Pillow paints disposal 2 with the
    background index (black here); browsers clear to transparent, so white shows."""
    a = np.full((24, 32), 3, np.uint8)  # opaque: blue, with
    a[4:20, 4:20] = 2  # a red square
    b = np.zeros((24, 32), np.uint8)
    b[8:12, 20:28] = 3  # a small blue bar elsewhere
    c = np.zeros((24, 32), np.uint8)
    c[0:4, 0:4] = 2
    layers = [(a, BLACK_FIRST), (b, BLACK_FIRST), (c, BLACK_FIRST)]
    got = frames_of(save_gif(layers, disposals, background=1, opaque_first=True))
    expected = shown(layers, disposals)
    assert len(got) == 3
    for g, e in zip(got, expected):
        assert np.array_equal(g, e)


def test_a_first_frame_smaller_than_the_canvas_leaves_the_rest_transparent():
    """The canvas starts transparent: outside the first frame's box the page shows (Pillow: colour 0)."""
    small = palette_frame(np.full((8, 8), 1, np.uint8), [(0, 0, 0), (200, 30, 30)])
    second = palette_frame(np.full((8, 8), 1, np.uint8), [(0, 0, 0), (30, 30, 200)])
    buf = io.BytesIO()
    small.save(buf, "GIF", save_all=True, append_images=[second], duration=100, optimize=False)
    data = bytearray(buf.getvalue())
    data[6:10] = (16).to_bytes(2, "little") + (16).to_bytes(2, "little")  # canvas 16x16
    got = frames_of(bytes(data))
    assert (got[0][:8, :8] == (200, 30, 30)).all() and (got[0][8:, :] == 255).all()
    assert (got[1][:8, :8] == (30, 30, 200)).all() and (got[1][:, 8:] == 255).all()


def test_local_palettes_with_their_own_transparent_index():
    """Frame 2 brings its own palette; its transparent index is 0 there too but means other colours."""
    warm = [(0, 0, 0), (250, 200, 10), (200, 20, 20)]
    cool = [(9, 9, 9), (10, 200, 250), (20, 20, 200)]
    a = np.zeros((16, 16), np.uint8)
    a[:, :8] = 1
    b = np.zeros((16, 16), np.uint8)
    b[:8, :] = 2
    layers = [(a, warm), (b, cool), (a, cool)]
    got = frames_of(save_gif(layers, [1, 1, 1], background=0))
    assert len(got) == 3  # the last frame, a local palette's index 0 drawn over the first, included
    for g, e in zip(got, shown(layers, [1, 1, 1])):
        assert np.array_equal(g, e)


@pytest.mark.parametrize("transparent", [False, True])
@pytest.mark.parametrize("offset", [(0, 0), (4, 2)])
def test_a_still_gif_smaller_than_its_screen_shows_the_page_around_it(offset, transparent):
    """One frame, 8x8 at ``offset`` on a 16x12 logical screen: browsers show white around
    it (the canvas starts transparent); Pillow's still decode shows palette colour 0
    there when the frame has no transparent index."""
    from classifiers.media.animated import gif_timeline
    pixels = np.full((8, 8), 1, np.uint8)
    pixels[0, 0] = 2
    frame = palette_frame(pixels, [(0, 0, 0), (200, 30, 30), (9, 90, 9)])
    buf = io.BytesIO()
    frame.save(buf, "GIF", optimize=False, **({"transparency": 2} if transparent else {}))
    data = bytearray(buf.getvalue())
    data[6:10] = (16).to_bytes(2, "little") + (12).to_bytes(2, "little")
    at = gif_timeline(bytes(data)).layout[0][0]  # the image descriptor
    data[at + 1:at + 5] = offset[0].to_bytes(2, "little") + offset[1].to_bytes(2, "little")
    decoded = read_frames(bytes(data))
    assert decoded.media_type == "still" and decoded.frames[0].image.size == (16, 12)
    expected = np.full((12, 16, 3), 255, np.uint8)
    x, y = offset
    expected[y:y + 8, x:x + 8] = (200, 30, 30)
    expected[y, x] = 255 if transparent else (9, 90, 9)
    assert np.array_equal(np.asarray(decoded.frames[0].image), expected)
