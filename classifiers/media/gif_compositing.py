"""GIF frames composed by the format's rules, as browsers do (GIF89a, section 23).

Pillow decodes each frame's pixels correctly but composes the animation in
its own way: "restore to background" (disposal 2) paints the logical screen's
background colour index, opaque, where browsers clear to transparent, and the
canvas outside the first frame's box is colour 0 instead of transparent. Both
show as black (or any palette colour) where a viewer sees the page behind.

So Pillow only decodes: each frame on its own (header with the frame's size,
the frame's blocks placed at 0,0: its local palette and transparent index
come with it), and this module composes them:

* the canvas starts transparent (browsers ignore the background colour index);
* a frame is drawn over the canvas at its box; its transparent index leaves
  the canvas as it was;
* after a frame is shown, its disposal applies: 0/1 keep it, 2 clears its box
  to transparent, 3 restores the canvas from before the frame.

The caller flattens each shown canvas onto the documented background.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from PIL import Image

__all__ = ["compose_gif"]


def _frame_gif(buf, header_end: int, span: tuple[int, int], descriptor: int,
               box: tuple[int, int, int, int]) -> bytes:
    """One frame as a GIF of its own: the header resized to the frame, its blocks at 0,0."""
    header = bytearray(buf[:header_end])
    header[6:10] = box[2].to_bytes(2, "little") + box[3].to_bytes(2, "little")
    blocks = bytearray(buf[span[0]:span[1]])
    at = descriptor - span[0]
    blocks[at + 1:at + 5] = bytes(4)  # left, top = 0
    return bytes(header) + bytes(blocks) + b";"


def _decode_frame(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data), formats=["GIF"]) as im:
        im.load()
        return im.convert("RGBA")  # the transparent index becomes alpha 0


def compose_gif(buf, timeline, first: int, targets: list[int], *,
                before_frame: Callable[[int], None]) -> Iterator[tuple[int, Image.Image]]:
    """Yield ``(k, canvas)`` for each target ``k``, composing frames ``first..targets[-1]``.

    ``first`` must be frame 0 or an independent frame (it covers the canvas
    opaquely, so the canvas before it does not matter). ``before_frame(i)`` is
    called before frame i is decoded (budgets, deadline; it may raise).
    ``canvas`` is RGBA at the logical screen size, valid until the next yield.
    """
    size = (buf[6] | buf[7] << 8, buf[8] | buf[9] << 8)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    wanted = set(targets)
    for i in range(first, targets[-1] + 1):
        before_frame(i)
        descriptor, box, disposal = timeline.layout[i]
        left, top, width, height = box
        saved = canvas.copy() if disposal == 3 else None
        if width and height:
            piece = _decode_frame(_frame_gif(buf, timeline.header_end, timeline.spans[i],
                                             descriptor, box))
            canvas.paste(piece, (left, top), piece)  # GIF alpha is 0 or 255: paste is exact
        if i in wanted:
            yield i, canvas
        if disposal == 2:
            canvas.paste((0, 0, 0, 0), (left, top, left + width, top + height))
        elif saved is not None:
            canvas = saved
