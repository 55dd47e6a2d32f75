"""What decoding one file may cost, and the types every decoder returns."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from PIL import Image

__all__ = ["MediaLimits", "MediaError", "Frame", "DecodedMedia", "Deadline", "ERROR_KINDS"]

#: every ``MediaError.kind`` / ``DecodedMedia.error_kind``, with what it means (docs/media.md)
ERROR_KINDS = {
    "empty": "the file has no bytes",
    "io-error": "the file could not be read (missing, permission, ...)",
    "not-media": "no image or video signature (HTML, text, random bytes)",
    "unsupported-format": "a known format this decoder does not render (SVG, PDF, DjVu, audio)",
    "too-large": "more bytes than MediaLimits.max_bytes",
    "decompression-bomb": "a frame claims more pixels than MediaLimits.max_pixels",
    "truncated": "the data ends before the image or stream does",
    "no-video-stream": "a container without a video stream (audio-only Ogg, ...)",
    "timeout": "decoding took longer than MediaLimits.max_seconds",
    "frame-limit": "the frame or pixel budget ran out before all sampled frames were reached",
    "decode-error": "the decoder rejected the data",
}


@dataclass(frozen=True)
class MediaLimits:
    """Hard caps for one file. Every decoder checks them before it spends the resource.

    The defaults fit the bot: it downloads Commons thumbnails and small video
    transcodes (a 330 px JPEG, a 480p WebM), so anything near these caps is
    already unusual; they bound memory to a few hundred MB and time to seconds.

    :param max_bytes: size of the encoded file
    :param max_pixels: pixels of one frame as decoded (after JPEG draft scaling)
    :param max_decoded_frames: frames a decoder may decode for one file, sampled
        or skipped over (GIF/APNG/WebP seek sequentially; video decodes from a keyframe)
    :param max_decoded_pixels: the sum of the pixels of those frames
    :param max_seconds: wall time for one file; decoding stops with what it has
    """

    max_bytes: int = 512 * 2**20
    max_pixels: int = 64_000_000
    max_decoded_frames: int = 1_000
    max_decoded_pixels: int = 500_000_000
    max_seconds: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_decoded_frames", "max_decoded_pixels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"MediaLimits.{name} must be >= 1")
        if not self.max_seconds > 0:
            raise ValueError("MediaLimits.max_seconds must be > 0")


class MediaError(Exception):
    """Nothing usable could be decoded. ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Frame:
    """One decoded frame, RGB.

    :param index: frame number in the file (0 for a still)
    :param time: seconds from the start, or None for stills
    """

    image: Image.Image
    index: int
    time: float | None = None


@dataclass(frozen=True)
class DecodedMedia:
    """The frames of one file. ``error_kind``/``error_message`` are set when
    decoding stopped early but some frames exist (a partial result)."""

    media_type: str  # "still" | "animated" | "video"
    frames: list[Frame] = field(default_factory=list)
    error_kind: str | None = None
    error_message: str | None = None
    #: seconds the file lasts, when known (animations and videos)
    duration: float | None = None

    @property
    def partial(self) -> bool:
        return self.error_kind is not None


class Deadline:
    """Wall-time and decode budget for one file, checked between decoder steps."""

    def __init__(self, limits: MediaLimits) -> None:
        self.limits = limits
        self.started = time.monotonic()
        self.frames = 0
        self.pixels = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def remaining(self) -> float:
        return self.limits.max_seconds - self.elapsed

    def expired(self) -> bool:
        return self.remaining <= 0

    def spend(self, pixels: int, frames: int = 1) -> None:
        """Count ``frames`` decoded frames of ``pixels`` pixels in all."""
        self.frames += frames
        self.pixels += pixels

    def affords(self, frames: int, pixels: int) -> bool:
        """Whether ``frames`` more frames of ``pixels`` pixels in all fit the budgets."""
        return (self.frames + frames <= self.limits.max_decoded_frames
                and self.pixels + pixels <= self.limits.max_decoded_pixels)
