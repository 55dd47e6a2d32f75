"""Stills: real photographs through Pillow, every mode Commons files come in."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from classifiers.media import DEFAULT_BACKGROUND, MediaError, MediaLimits, read_frames

from .makers import encode_image, photo


def only_frame(source, **kw) -> Image.Image:
    decoded = read_frames(source, **kw)
    assert decoded.media_type == "still" and decoded.error_kind is None
    assert len(decoded.frames) == 1 and decoded.frames[0].index == 0 and decoded.frames[0].time is None
    image = decoded.frames[0].image
    assert image.mode == "RGB"
    return image


def mean_rgb(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float32).reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF"])
def test_real_photos_in_every_still_format(name, fmt, tmp_path):
    original = photo(name)
    path = tmp_path / f"photo.{fmt.lower()}"
    path.write_bytes(encode_image(original, fmt))
    image = only_frame(path)
    assert min(image.size) >= min(256, *original.size)  # reduced, never below the decode size
    assert abs(image.size[0] / image.size[1] - original.size[0] / original.size[1]) < 0.02
    tolerance = 40 if fmt == "GIF" else 6
    assert np.abs(mean_rgb(image) - mean_rgb(original)).max() < tolerance


def test_big_jpeg_is_drafted_to_the_decode_size_not_below():
    big = photo("astronaut").resize((2048, 1536))  # 4x (width 8x) the decode size
    image = only_frame(encode_image(big, "JPEG"), decode_size=256)
    assert image.size == (512, 384)  # DCT scale 1/4: the smallest that keeps >= 256
    assert np.abs(mean_rgb(image) - mean_rgb(big)).max() < 4


def test_big_png_is_reduced_keeping_aspect_and_shorter_side():
    big = photo("coffee").resize((1800, 1200))
    image = only_frame(encode_image(big, "PNG"), decode_size=256)
    assert image.size == (450, 300)
    assert min(image.size) >= 256


def test_bytes_and_path_give_the_same_pixels(tmp_path):
    data = encode_image(photo("chelsea"), "JPEG")
    (tmp_path / "x.jpg").write_bytes(data)
    assert np.array_equal(np.asarray(only_frame(data)), np.asarray(only_frame(tmp_path / "x.jpg")))


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (300, 200), "white")
    im.paste((255, 0, 0), (0, 0, 30, 200))  # red band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    image = only_frame(encode_image(im, "JPEG", exif=exif.tobytes()))
    assert image.size == (200, 300)
    top = np.asarray(image)[:20, :, :].mean(axis=(0, 1))
    assert top[0] > 200 and top[1] < 80  # the left band is now on top


def test_cmyk_jpeg_keeps_its_colours():
    rgb = photo("coffee")
    image = only_frame(encode_image(rgb.convert("CMYK"), "JPEG", quality=95))
    assert np.abs(mean_rgb(image) - mean_rgb(rgb)).max() < 8


def test_16_bit_greyscale_png_is_scaled_not_clipped():
    ramp = (np.tile(np.arange(256, dtype=np.uint16), (16, 1)) * 257)
    image = only_frame(encode_image(Image.fromarray(ramp), "PNG"))
    grey = np.asarray(image)[0, :, 0].astype(int)
    assert grey[0] == 0 and grey[255] == 255 and abs(grey[128] - 128) <= 1  # clipping would give 255


@pytest.mark.parametrize("mode", ["L", "1", "P", "LA", "I"])
def test_other_modes_become_rgb(mode):
    im = photo("astronaut").convert("L").convert(mode)
    image = only_frame(encode_image(im, "PNG" if mode not in ("1", "I") else "TIFF"), decode_size=512)
    assert image.size == im.size
    expected = np.asarray(im.convert("L"), dtype=np.float32).mean()
    assert abs(np.asarray(image, dtype=np.float32).mean() - expected) < (40 if mode == "1" else 2)


def test_transparent_pixels_show_the_background_not_black():
    """A shape drawn only in alpha: its RGB is black everywhere, visible or not."""
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[16:48, 16:48, 3] = 255  # an opaque black square on a transparent field
    image = np.asarray(only_frame(encode_image(Image.fromarray(rgba, "RGBA"), "PNG")))
    assert tuple(image[0, 0]) == DEFAULT_BACKGROUND == (255, 255, 255)
    assert tuple(image[32, 32]) == (0, 0, 0)
    # convert("RGB") would have turned the whole image black: the shape would vanish
    assert np.asarray(Image.fromarray(rgba, "RGBA").convert("RGB")).max() == 0


def test_hidden_colour_under_alpha_stays_hidden_and_half_alpha_blends():
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere, but ...
    rgba[:4, :, 3] = 0  # ... invisible in the top half
    rgba[4:, :, 3] = 128  # half visible below
    image = np.asarray(only_frame(encode_image(Image.fromarray(rgba, "RGBA"), "PNG")))
    assert tuple(image[0, 0]) == (255, 255, 255)
    assert image[7, 0, 0] == 255 and 120 <= image[7, 0, 1] <= 135  # red over white, half


def test_palette_transparency_and_a_custom_background():
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    im.paste(1, (0, 0, 5, 10))
    data = encode_image(im, "GIF", transparency=0)
    image = np.asarray(only_frame(data, background=(0, 128, 0)))
    assert tuple(image[0, 9]) == (0, 128, 0) and tuple(image[0, 0]) == (200, 30, 30)


def test_pixel_limit_is_checked_before_decoding():
    data = encode_image(photo("chelsea"), "PNG")
    with pytest.raises(MediaError) as e:
        read_frames(data, limits=MediaLimits(max_pixels=10_000))
    assert e.value.kind == "decompression-bomb"


def test_byte_limit():
    with pytest.raises(MediaError) as e:
        read_frames(encode_image(photo(), "PNG"), limits=MediaLimits(max_bytes=1000))
    assert e.value.kind == "too-large"
