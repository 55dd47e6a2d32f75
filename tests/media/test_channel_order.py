"""Channel order: a pure red picture decodes as red (and blue as blue), for every kind of file.

A decoder that hands over BGR as RGB (``to_ndarray(format="bgr24")``, a cv2 habit,
a swapped ``Image.merge``) still gives plausible pictures; only colour tells.
"""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from classifiers.media import read_frames

from .makers import encode_image, has_encoder

RED, BLUE = (255, 0, 0), (0, 0, 255)
SIZE = (64, 48)


def near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    mean = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0)
    return bool(np.all(np.abs(mean - np.array(colour)) <= tolerance))


def still(fmt: str, colour, tmp_path):
    params = {"lossless": True} if fmt == "WEBP" else {}
    return encode_image(Image.new("RGB", SIZE, colour), fmt, **params)


def animation(fmt: str, colour, tmp_path):
    # three frames of the colour; the middle one darker, so it really is an animation
    frames = [Image.new("RGB", SIZE, tuple(round(c * k) for c in colour)) for k in (1.0, 0.9, 1.0)]
    params = {"lossless": True} if fmt == "WEBP" else {}
    return encode_image(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                        **params)


def video(codec: str, fmt: str, suffix: str):
    def make(colour, tmp_path):
        path = tmp_path / f"solid{suffix}"
        if codec == "libtheora" and not has_encoder(codec):
            # PyAV's FFmpeg decodes Theora but cannot encode it: losslessly through PyAV,
            # then through the FFmpeg binary of the imageio-ffmpeg wheel (as makers.make_video)
            import subprocess

            import imageio_ffmpeg

            lossless = _write_video(tmp_path / "solid.ffv1.mkv", colour, "ffv1", "matroska")
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(lossless),
                            "-c:v", "libtheora", "-q:v", "8", "-g", "10", str(path)], check=True)
            return path
        return _write_video(path, colour, codec, fmt)
    return make


def _write_video(path, colour, codec: str, fmt: str):
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        if codec.startswith("libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for _ in range(40):
            frame = av.VideoFrame.from_ndarray(np.full((SIZE[1], SIZE[0], 3), colour, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


KINDS = [
    pytest.param("still", lambda c, t: still("JPEG", c, t), id="jpeg"),
    pytest.param("still", lambda c, t: still("PNG", c, t), id="png"),
    pytest.param("still", lambda c, t: still("GIF", c, t), id="gif"),
    pytest.param("still", lambda c, t: still("WEBP", c, t), id="webp"),
    pytest.param("animated", lambda c, t: animation("GIF", c, t), id="animated-gif"),
    pytest.param("animated", lambda c, t: animation("WEBP", c, t), id="animated-webp"),
    pytest.param("animated", lambda c, t: animation("PNG", c, t), id="apng"),
    pytest.param("video", video("libvpx", "webm", ".webm"), id="webm-vp8"),
    pytest.param("video", video("libvpx-vp9", "webm", ".webm"), id="webm-vp9"),
    pytest.param("video", video("libtheora", "ogg", ".ogv"), id="ogg-theora"),
]


@pytest.mark.parametrize("colour", [RED, BLUE], ids=["red", "blue"])
@pytest.mark.parametrize("media_type, make", KINDS)
def test_colours_keep_their_channels(media_type, make, colour, tmp_path):
    decoded = read_frames(make(colour, tmp_path), frames=3)
    assert decoded.media_type == media_type and decoded.error_kind is None
    assert decoded.frames
    for frame in decoded.frames:
        assert frame.image.mode == "RGB"
        assert near(frame.image, tuple(round(c * 0.95) for c in colour)), (
            frame.index, np.asarray(frame.image).reshape(-1, 3).mean(axis=0))
