"""Stills in the less common modes and corners, pixel for pixel: high bit depths, tRNS keys,
associated alpha, MPO, the reduction factor, metadata chunks, out of memory (issue 18:
the surviving mutants of classifiers/media/stills.py that change what a file shows)."""
from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import Blend

from classifiers.media import MediaError, read_frames

from .makers import encode_image, make_animation, moving_frame, photo, png_chunk
from .test_as_seen_stills import _compressed_text, _with_chunk_after, png

ROOT = Path(__file__).resolve().parents[2]


def still(source, **kw) -> np.ndarray:
    decoded = read_frames(source, **kw)
    assert decoded.media_type == "still" and decoded.error_kind is None and len(decoded.frames) == 1
    image = decoded.frames[0].image
    assert image.mode == "RGB"
    return np.asarray(image)


def grey_row(source, **kw) -> list[int]:
    """The first row of a grey still (R, G and B checked equal)."""
    a = still(source, **kw)
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 0] == a[..., 2]).all()
    return a[0, :, 0].tolist()


# --- high bit depths: the scaling rules of _to_8bit -----------------------------------------

def test_a_dark_16_bit_png_stays_dark():
    """16-bit samples below 256 are almost black (value/65535), also when no sample of the
    file reaches 256 (a peak that low is no reason to read them as 8-bit values)."""
    samples = np.array([[0, 100, 200, 255]] * 2, np.uint16)
    data = encode_image(Image.fromarray(samples), "PNG")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode.startswith("I;16")
    assert grey_row(data) == [0, 0, 0, 0]


@pytest.mark.parametrize("values, shown", [
    ([0, 40000, 65535], [0, 156, 255]),  # 16-bit range, up to its very top: / 256
    ([0, 128, 256], [0, 0, 1]),  # just above 8 bits: the 16-bit rule already
    ([0, 100, 255], [0, 100, 255]),  # 8-bit values: as they are
    ([0, 1, 1], [0, 1, 1]),  # 0 and 1 are not floats in [0, 1]: almost black
    ([-5, 100, 255], [0, 100, 255]),  # below 0: black
    ([0, 32768, 65536], [0, 127, 255]),  # above 16 bits: by the peak (/ 256 would give 128)
    ([0, 50000, 100000], [0, 127, 255]),  # by the peak, 255 / 100000
])
def test_32_bit_integer_tiff_is_scaled_by_its_range(values, shown):
    data = encode_image(Image.fromarray(np.array([values] * 2, np.int32), "I"), "TIFF")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "I"
    assert grey_row(data) == shown


@pytest.mark.parametrize("values, shown", [
    ([0.0, 0.5, 1.0], [0, 127, 255]),  # floats in [0, 1], white exactly 1.0: * 255
    ([0.0, 1.5, 2.0], [0, 1, 2]),  # a peak above 1: 8-bit values, not scaled
    ([0.0, 100.0, 255.0], [0, 100, 255]),
])
def test_float_tiff_in_0_1_is_scaled_by_255(values, shown):
    data = encode_image(Image.fromarray(np.array([values] * 2, np.float32), "F"), "TIFF")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "F"
    assert grey_row(data) == shown


# --- tRNS keys ------------------------------------------------------------------------------

def test_1_bit_png_with_a_key_shows_the_background():
    data = png(8, 1, 1, 0, [bytes([0b00001111])], png_chunk(b"tRNS", struct.pack(">H", 0)))
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "1" and opened.info["transparency"] == 0
    got = still(data, background=(0, 128, 0))
    assert got[0].tolist() == [[0, 128, 0]] * 4 + [[255, 255, 255]] * 4


def test_8_bit_rgb_key_with_a_full_component_is_not_read_as_16_bit():
    data = png(3, 1, 8, 2, [bytes([255, 0, 0, 0, 0, 0, 9, 9, 9])],
               png_chunk(b"tRNS", struct.pack(">3H", 255, 0, 0)))
    assert still(data)[0].tolist() == [[255, 255, 255], [0, 0, 0], [9, 9, 9]]


@pytest.mark.parametrize("key, look_alike", [
    ((0x00C8, 0x0064, 0x0032), (0xC800, 0x6400, 0x3200)),  # every component below 256
    ((0x0100, 0x0000, 0x0000), (0xFFFF, 0x0000, 0x0000)),  # 256 exactly
])
def test_16_bit_rgb_key_is_matched_on_the_high_bytes_whatever_its_value(key, look_alike):
    """The key's pixels are transparent; pixels whose high bytes equal the key's low bytes
    are not (Pillow compared the 16-bit key with its 8-bit samples: a key below 256 made
    the wrong pixels transparent and left the key's own pixels black)."""
    row = struct.pack(">12H", *key * 2, *look_alike * 2)
    data = png(4, 2, 16, 2, [row, row], png_chunk(b"tRNS", struct.pack(">3H", *key)))
    shown = [v >> 8 for v in look_alike]
    assert still(data)[:, :2].tolist() == [[[255, 255, 255]] * 2] * 2
    assert still(data)[:, 2:].tolist() == [[shown] * 2] * 2


def _apng(width: int, height: int, depth: int, colour_type: int, frames: list[list[bytes]],
          *extra: bytes) -> bytes:
    """An APNG written chunk by chunk: each frame covers the canvas, SOURCE blend, no disposal."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header), png_chunk(b"acTL", struct.pack(">II", len(frames), 0)), *extra]
    seq = 0
    for i, rows in enumerate(frames):
        chunks.append(png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, width, height, 0, 0, 1, 10, 0, 0)))
        seq += 1
        data = zlib.compress(b"".join(b"\0" + row for row in rows))
        if i == 0:
            chunks.append(png_chunk(b"IDAT", data))
        else:
            chunks.append(png_chunk(b"fdAT", struct.pack(">I", seq) + data))
            seq += 1
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + png_chunk(b"IEND", b"")


def test_16_bit_rgb_key_below_256_in_apng_frames():
    key, look_alike = (0x00C8, 0x0064, 0x0032), (0xC800, 0x6400, 0x3200)
    first = struct.pack(">6H", *key, *look_alike)
    second = struct.pack(">6H", *look_alike, *key)
    data = _apng(2, 1, 16, 2, [[first], [second]], png_chunk(b"tRNS", struct.pack(">3H", *key)))
    decoded = read_frames(data)
    assert decoded.media_type == "animated" and decoded.error_kind is None and len(decoded.frames) == 2
    assert np.asarray(decoded.frames[0].image)[0].tolist() == [[255, 255, 255], [200, 100, 50]]
    assert np.asarray(decoded.frames[1].image)[0].tolist() == [[200, 100, 50], [255, 255, 255]]


# --- alpha in the other modes ---------------------------------------------------------------

def _tiff_extra_samples(data: bytes, value: int) -> bytes:
    """``data`` (a little-endian TIFF from Pillow) with its ExtraSamples tag set to ``value``."""
    out = bytearray(data)
    assert out[:4] == b"II*\0"
    ifd = struct.unpack("<I", out[4:8])[0]
    for k in range(struct.unpack("<H", out[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        tag, kind, count = struct.unpack("<HHI", out[entry:entry + 8])
        if tag == 338:
            assert kind == 3 and count == 1
            out[entry + 8:entry + 10] = struct.pack("<H", value)
            return bytes(out)
    raise AssertionError("no ExtraSamples tag")


def test_grey_tiff_with_associated_alpha_is_composited_not_refused():
    """ExtraSamples 1 (associated alpha): Pillow opens it as mode La and converts La only to
    LA; to_rgb asked for RGBA and the file failed (decode-error)."""
    grey = np.array([[0, 50, 100, 200]] * 2, np.uint8)  # premultiplied by alpha
    alpha = np.array([[0, 128, 255, 255]] * 2, np.uint8)
    la = Image.fromarray(np.dstack([grey, alpha]), "LA")
    data = _tiff_extra_samples(encode_image(la, "TIFF"), 1)
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "La"
    got = grey_row(data)
    # premultiplied over white: grey + 255 * (1 - alpha / 255)
    assert got[0] == 255 and abs(got[1] - (50 + 127)) <= 1 and got[2:] == [100, 200]


def test_palette_tiff_with_alpha_shows_the_background_where_transparent():
    pa = Image.new("PA", (4, 1))
    pa.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pa.putdata([(0, 0), (0, 255), (1, 128), (1, 255)])
    data = encode_image(pa, "TIFF")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "PA"
    got = still(data)[0].tolist()
    assert got[0] == [255, 255, 255] and got[1] == [255, 0, 0] and got[3] == [0, 0, 255]
    assert abs(got[2][0] - 127) <= 1 and abs(got[2][1] - 127) <= 1 and got[2][2] == 255


def test_apng_of_rgb_frames_blended_over_gives_its_frames():
    """to_rgba gives RGBA for frames without alpha too (OVER composites RGBA only)."""
    over = make_animation("PNG", 4, blend=Blend.OP_OVER)
    source = make_animation("PNG", 4)
    with Image.open(io.BytesIO(over)) as opened:
        assert opened.mode == "RGB"
    decoded, reference = read_frames(over, frames=4), read_frames(source, frames=4)
    assert decoded.error_kind is None and len(decoded.frames) == len(reference.frames) == 4
    for i, (a, b) in enumerate(zip(decoded.frames, reference.frames)):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
        assert np.array_equal(np.asarray(a.image), moving_frame(i, 32, 24))


# --- size: the reduction factor and MPO's draft ---------------------------------------------

def test_a_picture_twice_the_decode_size_is_halved():
    big = photo("coffee").resize((600, 520))
    got = still(encode_image(big, "PNG"), decode_size=256)
    assert got.shape[:2] == (260, 300)
    assert np.array_equal(got, np.asarray(big.reduce(2)))


def test_mpo_is_drafted_like_a_jpeg_and_gives_its_main_picture():
    main = photo("astronaut").resize((2048, 1536))
    data = encode_image(main, "MPO", save_all=True, append_images=[main.rotate(180)])
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == "MPO" and opened.n_frames == 2
    got = still(data, decode_size=256)
    assert got.shape[:2] == (384, 512)  # DCT scale 1/4, as test_stills' JPEG
    expected = np.asarray(main.resize((512, 384), Image.Resampling.BOX), dtype=float)
    assert np.abs(got.astype(float) - expected).mean() < 6
    assert np.abs(got.astype(float) - expected[::-1, ::-1]).mean() > 30  # not the second picture


def test_a_jpeg_the_jpeg_plugin_rejects_is_a_decode_error_of_the_plugin():
    """A SOF claiming height 0: Pillow's JPEG plugin rejects it; naming "MPO" among the
    formats to open made that a KeyError: 'MPO' (MPO opens through the JPEG plugin)."""
    data = bytearray(encode_image(Image.new("RGB", (16, 16), "red"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = b"\0\0"
    with pytest.raises(MediaError) as e:
        read_frames(bytes(data))
    assert e.value.kind == "decode-error"
    assert e.value.message.startswith("opening JPEG: cannot identify image file"), e.value.message


# --- PNG metadata chunks --------------------------------------------------------------------

def test_png_with_more_plain_text_than_pillow_keeps_is_scored(tmp_path):
    """tEXt counts against MAX_TEXT_MEMORY (64 MiB) too, uncompressed: left out like the rest."""
    plain = encode_image(photo("coffee").resize((300, 200)), "PNG")
    chunk = png_chunk(b"tEXt", b"Comment\0" + b" " * (2**20 - 100))
    path = tmp_path / "text.png"
    path.write_bytes(_with_chunk_after(plain, chunk * 66, b"IHDR"))
    with pytest.raises(ValueError, match="MAX_TEXT_MEMORY"):  # the upstream refusal
        with Image.open(path) as opened:
            opened.load()
    assert np.array_equal(still(path), still(plain))


def test_a_metadata_chunk_cut_after_its_header_is_left_out_too():
    """A file cut right after the 8-byte header of a text chunk, after the image data: that
    header goes with the other metadata (kept, Pillow calls the copy truncated)."""
    plain = encode_image(photo("coffee").resize((300, 200)), "PNG")
    big = _with_chunk_after(plain, _compressed_text(b"zTXt", 2 * 2**20), b"IHDR")
    cut = big[:big.rindex(b"IEND") - 4] + struct.pack(">I", 16) + b"tEXt"
    assert np.array_equal(still(cut), still(plain))


# --- out of memory ----------------------------------------------------------------------------

OUT_OF_MEMORY = textwrap.dedent("""
    import resource, struct, zlib
    from classifiers.media import MediaError, MediaLimits, read_frames
    from tests.media.makers import png_chunk

    side = 9000  # 81 MP: below Pillow's own warning (89 MP); 324 MB as Pillow holds RGB
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = (b"\\x89PNG\\r\\n\\x1a\\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(bytes(3 * side + 1))) + png_chunk(b"IEND", b""))
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + 128 * 2**20, resource.RLIM_INFINITY))
    try:
        read_frames(data, limits=MediaLimits(max_pixels=10**9))
    except MediaError as e:
        print(f"{e.kind}|{e.message}")
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limit and /proc")
def test_a_still_pillow_cannot_allocate_is_too_large():
    """A real allocation failure: the process's address space is limited to 128 MiB more than
    it uses, and the file claims 81 MP (its pixels are never there: no memory is needed for them)."""
    done = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
                                          "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "too-large|decoding PNG: out of memory", done.stdout + done.stderr
