"""Which decoder a file needs, decided by its first bytes, never by its name.

Commons file names and MIME types are claims made by uploaders; the bytes are
what the decoder will actually see. Only formats on an allow-list reach a
decoder (Pillow and FFmpeg both carry many rarely used parsers).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Sniffed", "sniff", "HEAD_BYTES"]

#: how many leading bytes :func:`sniff` needs
HEAD_BYTES = 4096


@dataclass(frozen=True)
class Sniffed:
    """:param family: ``image`` (Pillow), ``video`` (PyAV) or ``unsupported``
    :param format: Pillow format name, FFmpeg demuxer name, or a label for unsupported ones"""

    family: str
    format: str


_IMAGE_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
_VIDEO_SIGNATURES = (
    (b"\x1a\x45\xdf\xa3", "matroska"),  # WebM and Matroska (EBML)
    (b"OggS", "ogg"),
    (b"\x00\x00\x01\xba", "mpeg"),  # MPEG-1/2 program stream
    (b"\x00\x00\x01\xb3", "mpegvideo"),  # MPEG-1/2 elementary stream (.m1v/.m2v)
)
_UNSUPPORTED_SIGNATURES = (
    (b"%PDF-", "PDF"),
    (b"AT&TFORM", "DjVu"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"\xff\xfb", "MP3 audio"),
    (b"\x1f\x8b", "gzip (e.g. SVGZ)"),
)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_MARKUP = re.compile(rb"^\s*(<\?xml|<!doctype|<html|<head|<body)", re.IGNORECASE)


def sniff(head: bytes) -> Sniffed | None:
    """The decoder family and format for a file starting with ``head``; None: not media."""
    for magic, name in _IMAGE_SIGNATURES:
        if head.startswith(magic):
            return Sniffed("image", name)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "WEBP")
    for magic, name in _VIDEO_SIGNATURES:
        if head.startswith(magic):
            return Sniffed("video", name)
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return Sniffed("video", "mpegts")
    if head[4:8] == b"ftyp":
        return Sniffed("video", "mov")  # MP4/MOV: not on Commons, harmless to read
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("unsupported", "WAV audio")
    for magic, name in _UNSUPPORTED_SIGNATURES:
        if head.startswith(magic):
            return Sniffed("unsupported", name)
    text = head.lstrip(b"\xef\xbb\xbf")
    if _SVG.search(text) and (_MARKUP.match(text) or text.lstrip().startswith(b"<svg")):
        return Sniffed("unsupported", "SVG")
    return None
