"""Stills as browsers and MediaWiki show them: EXIF-only orientation, tRNS keys in
every mode, metadata that Pillow refuses (issue 11)."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from classifiers.media import read_frames

from .makers import encode_image, photo, png_chunk

XMP_ORIENTATION_6 = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                     b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                     b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
                     b'tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')


def frame(source, **kw) -> np.ndarray:
    decoded = read_frames(source, **kw)
    assert decoded.error_kind is None and len(decoded.frames) == 1
    return np.asarray(decoded.frames[0].image)


def banded() -> Image.Image:
    """A portrait picture with a red band on top: any turn or flip moves the band."""
    im = Image.new("RGB", (200, 300), "white")
    im.paste((255, 0, 0), (0, 0, 200, 30))
    im.paste((0, 0, 255), (0, 0, 20, 300))
    return im


# --- orientation: EXIF only ----------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_stale_xmp_orientation_is_ignored(fmt):
    """Upright pixels, no EXIF, a leftover XMP tiff:Orientation=6 (cases/media/xmp_stale_orientation.jpg)."""
    im = banded()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo
        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP_ORIENTATION_6.decode())
        data = encode_image(im, fmt, pnginfo=info)
    else:
        data = encode_image(im, fmt, xmp=XMP_ORIENTATION_6, quality=95)
    with Image.open(io.BytesIO(data)) as opened:  # the upstream behaviour worked around
        assert ImageOps.exif_transpose(opened).size == (300, 200)
    got = frame(data, decode_size=200)
    assert got.shape[:2] == (300, 200)
    assert np.abs(got.astype(int) - np.asarray(im, dtype=int)).mean() < 4


def test_exif_orientation_wins_over_a_contradicting_xmp():
    exif = Image.Exif()
    exif[0x0112] = 1
    data = encode_image(banded(), "JPEG", quality=95, exif=exif.tobytes(), xmp=XMP_ORIENTATION_6)
    assert frame(data, decode_size=200).shape[:2] == (300, 200)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_every_exif_orientation_matches_the_rule_written_out(orientation, fmt):
    """EXIF 2.32 Orientation: how the stored rows map to the displayed picture."""
    shown = banded()
    # what a camera stores for each orientation so that the display is `shown`
    stored = {1: shown, 2: shown.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
              3: shown.rotate(180), 4: shown.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
              5: shown.transpose(Image.Transpose.TRANSPOSE), 6: shown.rotate(90, expand=True),
              7: shown.transpose(Image.Transpose.TRANSVERSE), 8: shown.rotate(-90, expand=True)}
    exif = Image.Exif()
    exif[0x0112] = orientation
    params = {"exif": exif.tobytes()} if fmt != "TIFF" else {"tiffinfo": {0x0112: orientation}}
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = 95
    got = frame(encode_image(stored[orientation], fmt, **params), decode_size=200)
    assert got.shape[:2] == (300, 200)
    assert np.abs(got.astype(int) - np.asarray(shown, dtype=int)).mean() < 4


def test_the_shared_xmp_case_scores_upright_like_its_reference():
    """cases/media: xmp_stale_orientation.jpg holds the pixels of ref.jpg plus a stale XMP."""
    ref = photo("astronaut").resize((240, 320))
    plain = encode_image(ref, "JPEG", quality=90)
    stale = encode_image(ref, "JPEG", quality=90, xmp=XMP_ORIENTATION_6)
    assert np.array_equal(frame(plain), frame(stale))


# --- transparency keys in every mode -------------------------------------------

def png(width: int, height: int, depth: int, colour_type: int, rows: list[bytes],
        *extra: bytes) -> bytes:
    """A PNG written chunk by chunk (Pillow cannot write every depth/key combination)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    data = zlib.compress(b"".join(b"\0" + row for row in rows))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(extra)
            + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))


def test_16_bit_grey_with_a_trns_key_shows_white_not_black():
    """cases/media/png16_grey_trns.png: key 0 is transparent, the documented background shows."""
    samples = np.full((8, 16), 40000, np.uint16)
    samples[:, :8] = 0  # the key: transparent
    samples[0, 8] = 1  # one step above the key: opaque, almost black
    data = png(16, 8, 16, 0, [row.astype(">u2").tobytes() for row in samples],
               png_chunk(b"tRNS", struct.pack(">H", 0)))
    got = frame(data)
    assert (got[:, :8] == 255).all()  # before: 0 (black)
    assert tuple(got[0, 8]) == (0, 0, 0) and tuple(got[1, 8]) == (156, 156, 156)


def test_16_bit_rgb_with_a_trns_key_shows_white():
    key = (0x1234, 0x5678, 0x9ABC)
    row = struct.pack(">12H", *key * 2, *(0xFFFF, 0, 0) * 2)
    data = png(4, 2, 16, 2, [row, row], png_chunk(b"tRNS", struct.pack(">3H", *key)))
    got = frame(data)
    assert (got[:, :2] == 255).all() and (got[:, 2:] == (255, 0, 0)).all()


def test_8_bit_grey_and_rgb_keys_still_work():
    grey = png(4, 1, 8, 0, [bytes([7, 7, 200, 200])], png_chunk(b"tRNS", struct.pack(">H", 7)))
    assert frame(grey)[0, :, 0].tolist() == [255, 255, 200, 200]
    rgb = png(2, 1, 8, 2, [bytes([1, 2, 3, 9, 9, 9])], png_chunk(b"tRNS", struct.pack(">3H", 1, 2, 3)))
    assert frame(rgb)[0].tolist() == [[255, 255, 255], [9, 9, 9]]


# --- metadata Pillow refuses ----------------------------------------------------

def _compressed_text(kind: bytes, size: int) -> bytes:
    body = zlib.compress(b"<x:xmpmeta/>" + b" " * size)
    if kind == b"iCCP":
        return png_chunk(kind, b"big profile\0\0" + body)
    if kind == b"zTXt":
        return png_chunk(kind, b"Comment\0\0" + body)
    return png_chunk(kind, b"XML:com.adobe.xmp\0\1\0\0\0" + body)  # iTXt, compressed


def _with_chunk_after(data: bytes, chunk: bytes, after: bytes) -> bytes:
    """``data`` with ``chunk`` right after the IHDR, or after the image data (before IEND)."""
    if after == b"IHDR":
        at = 8 + 12 + 13
    else:
        at = data.rindex(b"IEND") - 4
    return data[:at] + chunk + data[at:]


@pytest.mark.parametrize("kind, where", [(b"iCCP", b"IHDR"), (b"zTXt", b"IHDR"), (b"iTXt", b"IHDR"),
                                         (b"zTXt", b"IDAT"), (b"iTXt", b"IDAT")])
def test_png_with_a_big_metadata_chunk_is_scored_like_without_it(kind, where):
    """cases/media/png_big_icc.png: 2 MiB of ICC (or text, or XMP) is no reason to refuse."""
    plain = encode_image(photo("coffee").resize((300, 200)), "PNG")  # (iCCP must precede IDAT)
    data = _with_chunk_after(plain, _compressed_text(kind, 2 * 2**20), where)
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):  # the upstream refusal
        Image.open(io.BytesIO(data)).load()
    assert np.array_equal(frame(data), frame(plain))


def test_png_with_more_text_than_pillow_keeps_is_scored(tmp_path):
    plain = encode_image(photo("coffee").resize((300, 200)), "PNG")
    chunk = _compressed_text(b"zTXt", 2**20 - 100)
    data = _with_chunk_after(plain, chunk * 66, b"IHDR")  # 66 MiB of text: over MAX_TEXT_MEMORY
    path = tmp_path / "text.png"
    path.write_bytes(data)
    assert np.array_equal(frame(path), frame(plain))


def test_animated_png_with_a_big_icc_profile_keeps_its_frames():
    from .makers import make_animation
    plain = make_animation("PNG", 6)
    data = _with_chunk_after(plain, _compressed_text(b"iCCP", 2 * 2**20), b"IHDR")
    decoded, reference = read_frames(data), read_frames(plain)
    assert decoded.error_kind is None and len(decoded.frames) == len(reference.frames) == 6
    for a, b in zip(decoded.frames, reference.frames):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
