"""Damaged animations give the frames before the damage and say why they stopped (issue 18:
survivors of the mutation run over classifiers/media/animated.py). A GIF's block scan must
stop cleanly wherever the file is cut; a frame the decoder rejects ends the walk with
``decode-error``, keeping what came before it (docs/media.md, "Error kinds")."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from classifiers.media import MediaError, read_frames
from classifiers.media.animated import gif_timeline

from .makers import frame_number, make_animation
from .test_as_seen_apng import NONE, SOURCE, rgba, write_apng


def indices(decoded) -> list[int]:
    return [f.index for f in decoded.frames]


def test_a_gif_cut_at_any_byte_keeps_its_complete_frames():
    """Cut at every byte from the start of frame 2 to just before the trailer (inside a
    graphic control block, an image descriptor, a colour table, the LZW data, right after a
    block's introducer or a sub-block): the frames complete before the cut, and ``truncated``."""
    data = make_animation("GIF", 4, size=(16, 8), optimize=False)
    timeline = gif_timeline(data)
    assert timeline.ended and len(timeline.spans) == 4
    for cut in range(timeline.spans[2][0], len(data)):
        complete = sum(1 for _, end in timeline.spans if end <= cut)
        decoded = read_frames(data[:cut], frames=16)
        assert decoded.media_type == "animated", cut
        assert decoded.error_kind == "truncated", cut
        assert indices(decoded) == list(range(complete)), cut
        assert decoded.duration == pytest.approx(0.1 * complete), cut
        assert all(frame_number(f.image) == f.index for f in decoded.frames), cut


def test_a_gif_cut_inside_its_second_frame_shows_its_first():
    """One complete frame: the file is read as that frame, wherever the second is cut (Pillow's
    own look at the second frame fails on a cut graphic control block)."""
    data = make_animation("GIF", 3, optimize=False)
    timeline = gif_timeline(data)
    for cut in range(timeline.spans[1][0], timeline.spans[1][1]):
        decoded = read_frames(data[:cut], frames=16)
        assert indices(decoded) == [0], cut
        assert frame_number(decoded.frames[0].image) == 0, cut


def test_garbage_where_the_gif_trailer_belongs_ends_the_scan():
    data = make_animation("GIF", 3, optimize=False)
    assert data.endswith(b";")
    decoded = read_frames(data[:-1] + b"\x00garbage", frames=16)
    assert decoded.error_kind == "truncated" and indices(decoded) == [0, 1, 2]
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def gif_with_bad_frame(k: int) -> bytes:
    """Six keyframes; frame ``k``'s LZW minimum code size is 12 (GIF allows at most 8)."""
    data = bytearray(make_animation("GIF", 6, optimize=False))
    descriptor = gif_timeline(bytes(data)).layout[k][0]
    packed = data[descriptor + 9]
    data[descriptor + 10 + ((3 << ((packed & 7) + 1)) if packed & 0x80 else 0)] = 12
    return bytes(data)


def webp_with_bad_frame(k: int) -> bytes:
    """Six frames; random bytes in the middle of frame ``k``'s bitstream."""
    data = bytearray(make_animation("WEBP", 6))
    pos, frames = 12, []
    while pos + 8 <= len(data):
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if data[pos:pos + 4] == b"ANMF":
            frames.append(pos)
        pos += 8 + size + (size & 1)
    assert len(frames) == 6
    at = frames[k] + 8 + 16 + 8 + 5  # ANMF header, frame header, VP8L header, 5 bytes in
    data[at:at + 30] = np.random.default_rng(1).integers(0, 256, 30, dtype=np.uint8).tobytes()
    return bytes(data)


def apng_with_bad_frame(k: int) -> bytes:
    """Six frames; frame ``k``'s compressed data starts with bytes zlib rejects."""
    frames = [(rgba(8, 8, (40 * i, 50, 50), 255), 0, 0, NONE, SOURCE) for i in range(6)]
    data = bytearray(write_apng((8, 8), frames))
    at = -1
    for _ in range(k):  # frame k's fdAT (frame 0 is IDAT)
        at = data.index(b"fdAT", at + 1)
    data[at + 8:at + 14] = b"\xff" * 6  # after the sequence number; the CRC is not checked
    return bytes(data)


@pytest.mark.parametrize("make", [gif_with_bad_frame, webp_with_bad_frame, apng_with_bad_frame],
                         ids=["GIF", "WEBP", "PNG"])
def test_a_frame_the_decoder_rejects_keeps_the_frames_before_it(make):
    decoded = read_frames(make(3), frames=16)
    assert decoded.media_type == "animated"
    assert decoded.error_kind == "decode-error", decoded.error_message
    assert indices(decoded) == [0, 1, 2]
    assert "frame 3" in decoded.error_message


def test_an_apng_cut_inside_its_first_frame_is_truncated():
    frames = [(rgba(8, 8, (40 * i, 50, 50), 255), 0, 0, NONE, SOURCE) for i in range(3)]
    data = write_apng((8, 8), frames)
    cut = data.index(b"IDAT") + 10
    with pytest.raises(MediaError) as e:
        read_frames(data[:cut])
    assert e.value.kind == "truncated"
