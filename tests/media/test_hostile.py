"""A corpus of hostile and odd files, made here, each with the one outcome it must give.

Every file gives exactly one outcome: frames (possibly partial, with the error
that stopped decoding) or a MediaError of a documented kind; never another
exception, never a hang (pytest-timeout guards the whole corpus).
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from classifiers.media import ERROR_KINDS, MediaError, read_frames

from .makers import (break_video, encode_image, make_animation, make_audio, make_video, photo,
                     png_chunk)


@dataclass(frozen=True)
class Outcome:
    """Frames of ``media_type`` (with ``partial`` as the error that cut them short), or ``error``."""

    media_type: str | None = None
    error: str | None = None
    partial: str | None = None
    check: Callable | None = None


def fails(kind: str) -> Outcome:
    return Outcome(error=kind)


def gives(media_type: str, partial: str | None = None, check: Callable | None = None) -> Outcome:
    return Outcome(media_type=media_type, partial=partial, check=check)


# --- makers: each returns bytes, or a path when the name matters ------------

def png_with_header(width: int, height: int, body: bytes = b"\0" * 64) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(body))
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode_image(Image.new("RGB", (16, 16), "grey"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def mpeg1_with_rate_code(tmp: Path, code: int) -> bytes:
    """An MPEG-1 elementary stream whose sequence headers say frame_rate_code ``code``
    (0 is 'forbidden': no frame rate; 9-15 are reserved: nonsense rates)."""
    data = bytearray(make_video(tmp / f"rate{code}.m1v", codec="mpeg1video", fmt="mpeg1video",
                                seconds=2, fps=25, width=64, height=48).read_bytes())
    at = 0
    while (at := data.find(b"\x00\x00\x01\xb3", at)) >= 0:
        data[at + 7] = (data[at + 7] & 0xF0) | code
        at += 4
    return bytes(data)


def apng_claiming_frames(n_claimed: int) -> bytes:
    data = bytearray(make_animation("PNG", 3))
    at = data.index(b"acTL") + 4
    data[at:at + 4] = struct.pack(">I", n_claimed)
    crc = zlib.crc32(bytes(data[at - 4:at + 8]))
    data[at + 8:at + 12] = struct.pack(">I", crc)
    return bytes(data)


def corrupt_crc(png: bytes) -> bytes:
    """Flip a byte inside the first IDAT chunk: its CRC no longer matches."""
    data = bytearray(png)
    data[data.index(b"IDAT") + 10] ^= 0xFF
    return bytes(data)


def named(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def cut(data: bytes, share: float = 0.5) -> bytes:
    return data[: int(len(data) * share)]


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 8
    return encode_image(photo("chelsea"), "JPEG", exif=exif.tobytes())


def transparent_png() -> bytes:
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[8:24, 8:24, 3] = 255  # black square, visible only against the background
    return encode_image(Image.fromarray(rgba, "RGBA"), "PNG")


def multipage_tiff() -> bytes:
    pages = [Image.new("RGB", (40, 30), c) for c in ("red", "green", "blue")]
    return encode_image(pages[0], "TIFF", save_all=True, append_images=pages[1:])


def frames_under(limit: int):
    return lambda d: max(f.index for f in d.frames) < limit and len(d.frames) == 16


def size_is(size):
    return lambda d: d.frames[0].image.size == size


def pixel_at(xy, rgb):
    return lambda d: d.frames[0].image.getpixel(xy) == rgb


HTML = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>nope</body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'

# (id, maker(tmp_path) -> bytes | Path, expected outcome)
CORPUS = [
    ("zero-bytes", lambda t: b"", fails("empty")),
    ("zero-bytes-file", lambda t: named(t, "empty.jpg", b""), fails("empty")),
    ("missing-file", lambda t: t / "does-not-exist.png", fails("io-error")),
    ("html-named-jpg", lambda t: named(t, "photo.jpg", HTML), fails("not-media")),
    ("random-bytes", lambda t: np.random.default_rng(1).bytes(50_000), fails("not-media")),
    ("plain-text", lambda t: b"just some words\n" * 100, fails("not-media")),
    ("svg", lambda t: named(t, "drawing.svg", SVG), fails("unsupported-format")),
    ("pdf", lambda t: b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", fails("unsupported-format")),
    ("djvu", lambda t: b"AT&TFORM\x00\x00\x00\x10DJVUINFO", fails("unsupported-format")),
    ("mp3-named-gif", lambda t: named(t, "x.gif", b"ID3\x04\x00" + bytes(200)), fails("unsupported-format")),
    ("truncated-jpeg", lambda t: cut(encode_image(photo(), "JPEG")), fails("truncated")),
    ("truncated-png", lambda t: cut(encode_image(photo("coffee"), "PNG")), fails("truncated")),
    ("jpeg-signature-then-html", lambda t: b"\xff\xd8\xff\xe0" + HTML, fails("truncated")),
    ("truncated-webm", lambda t: cut(make_video(t / "t.webm", seconds=6).read_bytes()),
     gives("video", partial="truncated")),
    ("decompression-bomb-png", lambda t: encode_image(Image.new("1", (20_000, 20_000)), "PNG"),
     fails("decompression-bomb")),
    ("png-header-60000x60000-tiny-body", lambda t: png_with_header(60_000, 60_000),
     fails("decompression-bomb")),
    ("jpeg-header-65000x65000-tiny-body", lambda t: jpeg_claiming(65_000, 65_000),
     fails("decompression-bomb")),
    ("png-header-4000x3000-tiny-body", lambda t: png_with_header(4000, 3000), fails("truncated")),
    ("gif-screen-65535x65535-one-pixel", lambda t: b"GIF89a\xff\xff\xff\xff\x00\x00\x00"
     b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;", fails("decompression-bomb")),
    ("png-corrupt-crc", lambda t: corrupt_crc(encode_image(photo("coffee"), "PNG")), fails("decode-error")),
    ("png-1x65535", lambda t: encode_image(Image.new("RGB", (1, 65535), "white"), "PNG"),
     gives("still", check=size_is((1, 65535)))),
    ("png-65535x1", lambda t: encode_image(Image.new("RGB", (65535, 1), "white"), "PNG"),
     gives("still", check=size_is((65535, 1)))),
    ("gif-10000-frames", lambda t: make_animation("GIF", 10_000, size=(16, 16)),
     gives("animated", partial="frame-limit", check=frames_under(1000))),
    ("truncated-animated-gif", lambda t: cut(make_animation("GIF", 40), 0.6),
     gives("animated", partial="truncated", check=lambda d: max(f.index for f in d.frames) < 30)),
    ("truncated-still-gif", lambda t: cut(encode_image(photo("coffee"), "GIF"), 0.5), fails("truncated")),
    ("gif-zero-delays", lambda t: make_animation("GIF", 30, duration=0),
     gives("animated", check=lambda d: all(f.time == pytest.approx(f.index * 0.1) for f in d.frames))),
    ("apng-claims-1000-frames-has-3", lambda t: apng_claiming_frames(1000),
     gives("animated", partial="truncated")),
    ("gif-without-frames", lambda t: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", fails("decode-error")),
    ("video-stream-breaks-midway",
     lambda t: break_video(make_video(t / "ok.webm", seconds=6), t / "broken.webm"),
     gives("video", partial="decode-error")),
    ("webm-without-video-stream", lambda t: make_audio(t / "a.webm", fmt="webm"),
     fails("no-video-stream")),
    ("audio-only-ogg", lambda t: make_audio(t / "a.ogg"), fails("no-video-stream")),
    ("ebml-header-only", lambda t: b"\x1a\x45\xdf\xa3" + bytes(60), fails("decode-error")),
    ("png-named-webm", lambda t: named(t, "clip.webm", encode_image(photo(), "PNG")), gives("still")),
    ("webm-named-gif", lambda t: named(t, "anim.gif", make_video(t / "w.webm", seconds=1).read_bytes()),
     gives("video")),
    ("mpeg1-frame-rate-zero", lambda t: mpeg1_with_rate_code(t, 0), gives("video")),
    ("mpeg1-frame-rate-reserved", lambda t: mpeg1_with_rate_code(t, 15), gives("video")),
    ("cmyk-jpeg", lambda t: encode_image(photo("coffee").convert("CMYK"), "JPEG"), gives("still")),
    ("png-16-bit", lambda t: encode_image(Image.fromarray(np.full((8, 8), 40000, np.uint16)), "PNG"),
     gives("still", check=pixel_at((0, 0), (156, 156, 156)))),
    ("exif-rotated-jpeg", lambda t: exif_rotated_jpeg(), gives("still", check=size_is((300, 451)))),
    ("transparent-png-black-shape", lambda t: transparent_png(),
     gives("still", check=lambda d: pixel_at((0, 0), (255, 255, 255))(d)
           and pixel_at((16, 16), (0, 0, 0))(d))),
    ("multipage-tiff", lambda t: multipage_tiff(), gives("still", check=pixel_at((0, 0), (255, 0, 0)))),
]


def test_the_corpus_is_big_enough_and_uses_documented_kinds():
    assert len(CORPUS) >= 25
    for name, _, outcome in CORPUS:
        # exactly one of: a MediaError of a documented kind, or frames of a known media type
        # (optionally cut short by a documented kind)
        if outcome.error is not None:
            assert outcome.error in ERROR_KINDS, name
            assert outcome.media_type is None and outcome.partial is None and outcome.check is None, name
        else:
            assert outcome.media_type in {"still", "animated", "video"}, name
            assert outcome.partial is None or outcome.partial in ERROR_KINDS, name
    # the corpus exercises both failures and partial decodes, not only clean files
    assert any(o.error for _, _, o in CORPUS) and any(o.partial for _, _, o in CORPUS)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, make, expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_input_gives_its_one_expected_outcome(name, make, expected, tmp_path):
    source = make(tmp_path)
    try:
        decoded = read_frames(source)
    except MediaError as e:
        assert expected.error == e.kind, f"{name}: got MediaError {e.kind}: {e.message}"
        assert e.message
        return
    assert expected.error is None, f"{name}: decoded, expected MediaError {expected.error}"
    assert decoded.media_type == expected.media_type
    assert decoded.error_kind == expected.partial, decoded.error_message
    assert decoded.frames and all(f.image.mode == "RGB" for f in decoded.frames)
    if expected.partial:
        assert decoded.error_message
    if expected.check:
        assert expected.check(decoded)
