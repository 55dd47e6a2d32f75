"""A JPEG complete but for its end marker, told apart from one cut short.

Browsers (libjpeg-turbo, Skia) show a JPEG whose data stops after the last
scan without the EOI marker (``FF D9``, ITU-T T.81 B.2.1): libjpeg warns and
supplies the marker. Pillow raises "image file is truncated" for it, as for a
file that lost half its scan, unless the process-wide
``ImageFile.LOAD_TRUNCATED_IMAGES`` is set, which is not thread safe and would
accept both. So a JPEG that Pillow calls truncated gets the marker appended to
a copy, only when all of these hold:

* the marker segments parse up to a scan whose entropy-coded data runs to the
  end of the file (a cut inside a header is a real cut);
* the scans cover the picture (T.81 G.1.1): every frame component is in a
  scan, and in a progressive JPEG every coefficient 0..63 of every component
  has reached successive approximation bit 0 (else later scans are missing);
* with restart intervals (DRI), the last scan holds as many restart markers
  as its MCU count calls for (a cut at an interval's end would otherwise
  pass the next test: a decoder skips bytes while it looks for RSTn);
* the last scan's data is complete: the copy decodes to the same pixels as
  the same bytes followed by filler and then EOI. A decoder that still needs
  entropy-coded bits reads the filler (and differs); one that has every MCU
  skips bytes before a marker as extraneous (B.1.1.2, libjpeg's
  ``next_marker``).
"""
from __future__ import annotations

import io

from PIL import Image

__all__ = ["with_end_marker"]

_EOI = b"\xff\xd9"
#: not 0x00 (what libjpeg feeds when data runs out) and without 0xFF (no marker)
_FILLER = b"\x55" * 256
_SEQUENTIAL = {0xC0, 0xC1}  # baseline, extended Huffman
_PROGRESSIVE = 0xC2


def with_end_marker(data) -> bytes | None:
    """``data`` with ``FF D9`` appended when only that marker is missing (see the module doc), else None."""
    data = bytes(data)
    if data.endswith(_EOI) or not data.startswith(b"\xff\xd8"):
        return None
    layout = _scans_to_end(data)
    if layout is None or not _covers(layout) or not _restarts_complete(layout):
        return None
    completed = data + _EOI
    try:
        if _pixels(completed) != _pixels(data + _FILLER + _EOI):
            return None
    except (OSError, SyntaxError, ValueError, EOFError):
        return None
    return completed


class _Layout:
    """What the marker segments say: frame marker, size, components (id, h, v), scans."""

    def __init__(self) -> None:
        self.frame: int | None = None
        self.size = (0, 0)
        self.components: list[tuple[int, int, int]] = []
        self.scans: list[tuple[list[int], int, int, int]] = []  # ids, Ss, Se, Al
        self.interval = 0  # DRI: MCUs per restart interval (0: none)
        self.restarts = 0  # RSTn markers in the last scan's data


def _scans_to_end(data: bytes) -> _Layout | None:
    """The layout when the last scan's entropy-coded data runs to the end of ``data``, else None."""
    pos, end = 2, len(data)
    layout = _Layout()
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if pos + 2 + length > end:
            return None  # cut inside a marker segment
        body = data[pos + 4:pos + 2 + length]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if len(body) < 6 or len(body) < 6 + 3 * body[5]:
                return None
            layout.frame = marker
            layout.size = (int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big"))
            layout.components = [(body[6 + 3 * k], body[7 + 3 * k] >> 4, body[7 + 3 * k] & 15)
                                 for k in range(body[5])]
        elif marker == 0xDD and len(body) >= 2:
            layout.interval = int.from_bytes(body[:2], "big")
        elif marker == 0xDA:  # start of scan, then entropy-coded data up to the next marker
            n = body[0] if body else 0
            if len(body) < 1 + 2 * n + 3:
                return None
            ss, se, approx = body[1 + 2 * n:4 + 2 * n]
            layout.scans.append(([body[1 + 2 * k] for k in range(n)], ss, se, approx & 0x0F))
            pos, layout.restarts = _next_marker(data, pos + 2 + length)
            if pos >= end:
                return layout
            continue
        pos += 2 + length
    return None


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """Offset of the marker that ends entropy-coded data, and the RSTn markers before it
    (FF 00 is a stuffed byte, FF D0-D7 a restart, FF FF fill)."""
    restarts = 0
    while (pos := data.find(b"\xff", pos)) >= 0 and pos + 1 < len(data):
        following = data[pos + 1]
        if following != 0 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return pos, restarts
        restarts += 0xD0 <= following <= 0xD7
        pos += 1 if following == 0xFF else 2
    return len(data), restarts


def _restarts_complete(layout: _Layout) -> bool:
    """Whether the last scan holds every restart marker its MCUs call for (T.81 B.2.4.4, A.2)."""
    if not layout.interval:
        return True
    ids = layout.scans[-1][0]
    width, height = layout.size
    hmax = max(h for _, h, _ in layout.components)
    vmax = max(v for _, _, v in layout.components)
    if len(ids) == 1:  # non-interleaved: one MCU per block of that component
        _, h, v = next((c for c in layout.components if c[0] == ids[0]), (0, hmax, vmax))
        mcus = -(-(-(-width * h // hmax)) // 8) * -(-(-(-height * v // vmax)) // 8)
    else:
        mcus = -(-width // (8 * hmax)) * -(-height // (8 * vmax))
    return layout.restarts >= -(-mcus // layout.interval) - 1


def _covers(layout: _Layout) -> bool:
    components = [c for c, _, _ in layout.components]
    if not components or not layout.scans:
        return False
    if layout.frame in _SEQUENTIAL:
        return set(components) <= {c for ids, *_ in layout.scans for c in ids}
    if layout.frame != _PROGRESSIVE:
        return False  # lossless, arithmetic coding, hierarchical: not judged here
    final = {(c, k) for ids, ss, se, al in layout.scans if al == 0
             for c in ids for k in range(ss, se + 1)}
    return all((c, k) in final for c in components for k in range(64))


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
        im.load()
        return im.tobytes()
