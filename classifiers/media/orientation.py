"""Upright pixels: stills turned by their EXIF orientation, video frames by their display matrix.

Both rules copy what viewers do, so a frame is scored the way people see it:

* Stills: browsers (CSS ``image-orientation: from-image``) and MediaWiki's
  thumbnailer turn a picture by its EXIF ``Orientation`` tag (TIFF tag 274)
  and nothing else. Pillow's ``ImageOps.exif_transpose`` and ``Image.getexif``
  also take ``tiff:Orientation`` from XMP when EXIF has none; editors often
  leave a stale XMP value behind after rotating the pixels, which would turn
  an upright picture sideways. So the tag is read from the EXIF block only.
* Videos: the display matrix (ISO/IEC 14496-12 ``tkhd`` matrix, Matroska
  ``ProjectionPoseRoll``; FFmpeg hands both to us as ``AV_FRAME_DATA_DISPLAYMATRIX``
  side data) is applied exactly as the ``ffmpeg`` command line's autorotate
  does (``fftools/ffmpeg_filter.c``), which browsers and TimedMediaHandler's
  FFmpeg transcodes agree with.
"""
from __future__ import annotations

import math
import struct

from PIL import Image

__all__ = ["exif_orientation", "apply_exif_orientation", "display_matrix_transposes",
           "apply_transposes"]

_T = Image.Transpose

#: EXIF Orientation value -> the transpose that makes the picture upright (EXIF 2.32, 4.6.4 A)
_EXIF_TRANSPOSE = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM,
                   5: _T.TRANSPOSE, 6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}

_ORIENTATION_TAG = 0x0112


def exif_orientation(im: Image.Image) -> int:
    """The EXIF Orientation (1-8) of ``im``, read from its EXIF block only; 1 when absent or malformed.

    TIFF files carry the tag in their first IFD, every other format in an
    ``Exif`` block (JPEG APP1, PNG ``eXIf``, WebP ``EXIF``). XMP is ignored on purpose.
    """
    try:
        if im.format == "TIFF":
            value = im.tag_v2.get(_ORIENTATION_TAG, 1)
        else:
            raw = im.info.get("exif")
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)  # the block alone: unlike im.getexif(), no XMP is merged in
            value = exif.get(_ORIENTATION_TAG, 1)
        value = int(value)
    except Exception:  # noqa: BLE001 - malformed EXIF: the pixels stay as stored
        return 1
    return value if value in _EXIF_TRANSPOSE else 1


def apply_exif_orientation(im: Image.Image) -> Image.Image:
    """``im`` turned upright by :func:`exif_orientation` (the same object when already upright)."""
    method = _EXIF_TRANSPOSE.get(exif_orientation(im))
    return im.transpose(method) if method is not None else im


def display_matrix_transposes(matrix: bytes | None) -> list[Image.Transpose]:
    """Transposes that show a video frame as FFmpeg's autorotate does.

    :param matrix: the 36-byte display matrix (nine native-endian int32, 16.16
        fixed point but for the last column), or None
    :returns: PIL transposes to apply in order; [] for none, an unreadable
        matrix, or an angle that is not a multiple of 90 degrees (left as stored)

    The rule is ``fftools/ffmpeg_filter.c`` (FFmpeg 7-9): theta is minus
    ``av_display_rotation_get`` rounded, folded into [0, 360); then 90 is a
    clockwise turn (``transpose=clock``; ``cclock_flip`` when ``m[3] > 0``), 270 a
    counter-clockwise one (``cclock``; ``clock_flip`` when ``m[3] < 0``), 180 flips
    by the signs of ``m[0]`` and ``m[4]``, and 0 flips vertically when ``m[4] < 0``.
    """
    if not matrix or len(matrix) < 36:
        return []
    m = struct.unpack("=9i", bytes(matrix[:36]))
    scale0 = math.hypot(m[0] / 65536, m[3] / 65536)
    scale1 = math.hypot(m[1] / 65536, m[4] / 65536)
    if scale0 == 0 or scale1 == 0:
        return []
    # av_display_rotation_get: the counter-clockwise angle, negated by ffmpeg_filter.c
    theta = -round(-math.degrees(math.atan2(m[1] / 65536 / scale1, m[0] / 65536 / scale0)))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    steps: list[Image.Transpose] = []
    if abs(theta - 90) < 1:  # transpose=cclock_flip when mirrored, else transpose=clock
        steps.append(_T.TRANSPOSE if m[3] > 0 else _T.ROTATE_270)
    elif abs(theta - 180) < 1:
        if m[0] < 0:
            steps.append(_T.FLIP_LEFT_RIGHT)
        if m[4] < 0:
            steps.append(_T.FLIP_TOP_BOTTOM)
    elif abs(theta - 270) < 1:  # transpose=clock_flip when mirrored, else transpose=cclock
        steps.append(_T.TRANSVERSE if m[3] < 0 else _T.ROTATE_90)
    elif abs(theta) < 1 and m[4] < 0:
        steps.append(_T.FLIP_TOP_BOTTOM)
    return steps


def apply_transposes(im: Image.Image, steps: list[Image.Transpose]) -> Image.Image:
    for step in steps:
        im = im.transpose(step)
    return im
