"""Media the tests make themselves: real encoders (PyAV/FFmpeg, Pillow), real photos."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image

__all__ = ["photo", "encode_image", "make_video", "make_animation", "make_audio",
           "has_encoder", "AV1_ENCODERS", "png_chunk", "moving_frame", "frame_number"]

#: AV1 encoders PyAV may find in its bundled FFmpeg, fastest first
AV1_ENCODERS = ("libsvtav1", "librav1e", "libaom-av1")

#: encoder options that make test videos fast to encode
FAST_OPTIONS = {
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
    "libsvtav1": {"preset": "12"},
    "librav1e": {"speed": "10"},
    "libaom-av1": {"cpu-used": "8", "usage": "realtime"},
}


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:  # noqa: BLE001 - PyAV raises different errors by version
        return False


def photo(name: str = "astronaut") -> Image.Image:
    """A real photograph shipped with scikit-image (no download)."""
    from skimage import data
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def encode_image(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


#: the colour of a set bit in block row 0 and row 1 of :func:`moving_frame`: yellow and cyan
#: differ only in which of red and blue is on, so a decoder that swaps R and B reads them wrong
BIT_COLOURS = ((255, 255, 0), (0, 255, 255))


def moving_frame(i: int, width: int, height: int) -> np.ndarray:
    """A frame that tells its number: 16 blocks in the top half spell ``i`` in binary
    (set bits yellow in the first row of blocks, cyan in the second; read back with
    :func:`frame_number`, which also checks those colours), a green bar moves below them."""
    a = np.zeros((height, width, 3), np.uint8)
    a[..., 0] = (i * 7) % 256
    a[height // 2:, : (i * 3) % width, 1] = 200
    bw, bh = width // 8, height // 4
    for bit in range(16):
        if i >> bit & 1:
            row, col = divmod(bit, 8)
            a[row * bh:(row + 1) * bh, col * bw:(col + 1) * bw] = BIT_COLOURS[row]
    return a


class ChannelOrderError(AssertionError):
    """A bit block of :func:`moving_frame` came back in the other row's colour: R and B swapped."""


def frame_number(image) -> int:
    """The number :func:`moving_frame` wrote into ``image`` (robust to lossy codecs).

    A block is a set bit when its green is high (the top half's background has none);
    its colour must then be its row's (yellow: red on, blue off; cyan: the reverse),
    otherwise :class:`ChannelOrderError` is raised.
    """
    rgb = image.convert("RGB") if hasattr(image, "convert") else image
    a = np.asarray(rgb, dtype=np.float32)
    assert a.ndim == 3 and a.shape[2] == 3, a.shape
    height, width = a.shape[:2]
    bw, bh = width // 8, height // 4
    n = 0
    for bit in range(16):
        row, col = divmod(bit, 8)
        block = a[row * bh + bh // 4:(row + 1) * bh - bh // 4, col * bw + bw // 4:(col + 1) * bw - bw // 4]
        r, g, b = block.reshape(-1, 3).mean(axis=0)
        if g > 160:
            on, off = (r, b) if row == 0 else (b, r)
            if not (on > 160 and off < 96):
                raise ChannelOrderError(f"bit {bit}: block colour {(round(r), round(g), round(b))}, "
                                        f"expected about {BIT_COLOURS[row]}")
            n |= 1 << bit
    return n


def make_video(path: Path, *, codec: str = "libvpx-vp9", fmt: str | None = None,
               seconds: float = 4.0, fps: int = 10, width: int = 160, height: int = 120,
               gop: int = 10, audio: bool = False, options: dict | None = None,
               container_options: dict | None = None) -> Path:
    """Encode a test video; frame i shows :func:`moving_frame` (i)."""
    if codec == "libtheora" and not has_encoder(codec):
        return _make_theora(path, seconds=seconds, fps=fps, width=width, height=height, gop=gop)
    fmt = fmt or {"mpeg1video": "mpeg", "mpeg2video": "mpeg"}.get(codec, "webm")
    with av.open(str(path), "w", format=fmt, container_options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec.startswith("mpeg"):
            stream.codec_context.max_b_frames = 0
        stream.options = {**FAST_OPTIONS.get(codec, {}), **(options or {})}
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _make_theora(path: Path, *, seconds: float, fps: int, width: int, height: int, gop: int) -> Path:
    """Ogg Theora through the FFmpeg binary of the imageio-ffmpeg wheel.

    PyAV's bundled FFmpeg decodes Theora but cannot encode it, so the test
    frames go losslessly (FFV1) through PyAV and then through that binary.
    """
    import subprocess

    import imageio_ffmpeg

    lossless = make_video(path.with_suffix(".ffv1.mkv"), codec="ffv1", fmt="matroska",
                          seconds=seconds, fps=fps, width=width, height=height, gop=gop)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(lossless),
                    "-c:v", "libtheora", "-q:v", "8", "-g", str(gop), str(path)], check=True)
    lossless.unlink()
    return path


def make_audio(path: Path, *, fmt: str = "ogg", codec: str = "libopus", seconds: float = 1.0) -> Path:
    """An audio-only file (no video stream)."""
    rate = 48000
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        samples = (np.sin(np.arange(int(rate * seconds)) / 20) * 3000).astype(np.int16)
        step = 960
        for k in range(0, len(samples) - step + 1, step):
            frame = av.AudioFrame.from_ndarray(samples[None, k:k + step], format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = k
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def make_animation(fmt: str, n: int, *, size: tuple[int, int] = (32, 24),
                   duration: int | list[int] = 100, **params) -> bytes:
    """An animated GIF/WebP/PNG whose frame i is :func:`moving_frame` (i) (red level 7i mod 256)."""
    frames = [Image.fromarray(moving_frame(i, *size)) for i in range(n)]
    if fmt == "WEBP":
        params.setdefault("lossless", True)
    return encode_image(frames[0], fmt, save_all=True, append_images=frames[1:],
                        duration=duration, loop=0, **params)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def break_video(src: Path, dst: Path, *, from_share: float = 0.5, to_share: float = 1.0,
                seed: int = 0) -> Path:
    """Copy ``src`` with every video packet from ``from_share`` of the duration on (up to
    ``to_share``) replaced by random bytes of the same size: the container stays valid, the
    stream breaks."""
    rng = np.random.default_rng(seed)
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="webm") as out:
        ins = inp.streams.video[0]
        outs = out.add_stream_from_template(ins)
        length = float(ins.duration * ins.time_base if ins.duration else inp.duration / av.time_base)
        cut, mended = length * from_share, length * to_share
        for packet in inp.demux(ins):
            if packet.dts is None:
                continue
            if packet.pts is not None and cut <= float(packet.pts * packet.time_base) < mended:
                garbage = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                garbage.pts, garbage.dts, garbage.time_base = packet.pts, packet.dts, packet.time_base
                garbage.is_keyframe = packet.is_keyframe
                packet = garbage
            packet.stream = outs
            out.mux(packet)
    return dst
