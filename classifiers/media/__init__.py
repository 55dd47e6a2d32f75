"""Media to frames: any file Commons serves in, a few RGB frames out, at bounded cost.

:func:`read_frames` is the one entry point. It sniffs the bytes (never the
name), then decodes a still with Pillow, samples an animated GIF/WebP/APNG
with Pillow, or samples a video (WebM, Ogg, MPEG-1/2) with PyAV. Every file
gives either a :class:`DecodedMedia` (possibly partial, with the error that
stopped it) or a :class:`MediaError` with a short, stable ``kind``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from .limits import ERROR_KINDS, DecodedMedia, Deadline, Frame, MediaError, MediaLimits
from .sniffing import HEAD_BYTES, Sniffed, sniff
from .stills import (DEFAULT_BACKGROUND, decode_still, is_metadata_refusal, open_image,
                     png_without_metadata)

__all__ = ["read_frames", "DecodedMedia", "Frame", "MediaError", "MediaLimits",
           "ERROR_KINDS", "DEFAULT_BACKGROUND", "sniff", "Sniffed"]

#: formats Pillow can animate; anything else with several frames is read as a still
_ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")


def read_frames(source: str | os.PathLike | bytes, *, frames: int = 16,
                limits: MediaLimits | None = None, decode_size: int = 256,
                background: tuple[int, int, int] = DEFAULT_BACKGROUND) -> DecodedMedia:
    """Decode a still, or sample ``frames`` frames spread over an animation or video.

    :param source: a path, or the file's bytes
    :param frames: frames to sample from animations and videos (stills give one)
    :param limits: caps on bytes, pixels, decoded frames and wall time
    :param decode_size: the classifier's input side: frames are reduced only
        while their shorter side stays at least this
    :param background: RGB that transparent pixels are composited onto
    :raises MediaError: when nothing usable could be decoded
    """
    if frames < 1:
        raise ValueError("frames must be >= 1")
    limits = limits or MediaLimits()
    deadline = Deadline(limits)
    head, size = _head(source)
    if size == 0:
        raise MediaError("empty", "the file has no bytes")
    if size > limits.max_bytes:
        raise MediaError("too-large", f"{size:,} bytes exceed max_bytes {limits.max_bytes:,}")
    sniffed = sniff(head)
    if sniffed is None:
        raise MediaError("not-media", f"no image or video signature (starts with {head[:16]!r})")
    if sniffed.family == "unsupported":
        raise MediaError("unsupported-format",
                         f"{sniffed.format} is not decoded here: score the PNG/JPEG "
                         "thumbnail Commons renders for it instead")
    try:
        if sniffed.family == "video":
            from .video import sample_video
            return sample_video(source, sniffed.format, frames=frames, limits=limits,
                                decode_size=decode_size, deadline=deadline)
        try:
            return _read_image(source, sniffed.format, frames=frames, limits=limits,
                               decode_size=decode_size, background=background, deadline=deadline)
        except MediaError as e:
            if sniffed.format == "JPEG" and e.kind == "truncated":
                # Browsers show a JPEG that lacks only its end marker (see jpeg_end.py)
                from .jpeg_end import with_end_marker
                completed = with_end_marker(_bytes_of(source))
                if completed is None:
                    raise
                return _read_image(completed, "JPEG", frames=frames, limits=limits,
                                   decode_size=decode_size, background=background,
                                   deadline=deadline)
            if sniffed.format != "PNG" or not is_metadata_refusal(e):
                raise
            # Browsers show a PNG whose ICC profile or text Pillow will not decompress
            # (libpng skips the chunk): decode it without those chunks.
            return _read_image(png_without_metadata(_bytes_of(source)), "PNG", frames=frames, limits=limits,
                               decode_size=decode_size, background=background, deadline=deadline)
    except MediaError:
        raise
    except MemoryError:
        raise MediaError("too-large", "out of memory while decoding") from None
    except Exception as e:  # noqa: BLE001 - a decoder bug must not end a batch
        raise MediaError("decode-error", f"{type(e).__name__}: {e}") from None


def _bytes_of(source: str | os.PathLike | bytes):
    return source if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()


def _head(source: str | os.PathLike | bytes) -> tuple[bytes, int]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source[:HEAD_BYTES])
        return data, len(source)
    try:
        path = Path(source)
        size = path.stat().st_size
        with path.open("rb") as f:
            return f.read(HEAD_BYTES), size
    except OSError as e:
        raise MediaError("io-error", f"{type(e).__name__}: {e}") from None


def _read_image(source, fmt: str, *, frames: int, limits: MediaLimits, decode_size: int,
                background: tuple[int, int, int], deadline: Deadline) -> DecodedMedia:
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else open(source, "rb")
    with fp:
        im = open_image(fp, fmt, limits=limits, decode_size=decode_size)
        with im:
            if fmt in _ANIMATED_FORMATS:
                from .animated import is_animated, sample_animation
                animated = is_animated(im, fp)
                if animated:
                    return sample_animation(im, fp, frames=frames, limits=limits,
                                            decode_size=decode_size, background=background,
                                            deadline=deadline,
                                            timeline=animated if animated is not True else None)
                if fmt == "GIF":  # a frame smaller than the screen: transparent around it
                    from .animated import still_gif
                    still = still_gif(im, fp, decode_size=decode_size, background=background,
                                      deadline=deadline)
                    if still is not None:
                        return still
            return decode_still(im, limits=limits, decode_size=decode_size,
                                background=background, deadline=deadline)
