"""Videos as FFmpeg shows them: display rotation, timestamps from the stream's real start (issue 11)."""
from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from classifiers.media import read_frames

from .makers import FAST_OPTIONS, frame_number, make_video, moving_frame


def ffmpeg_frames(path: Path, width: int, height: int) -> np.ndarray:
    """Every frame as the ffmpeg command line shows it (autorotate on, its default), RGB."""
    import imageio_ffmpeg
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def with_display_matrix(src: Path, dst: Path, *, rotation: int, hflip: bool = False) -> Path:
    """``src`` remuxed with a display matrix, as phone recorders write one."""
    import imageio_ffmpeg
    flags = ["-display_rotation:v:0", str(rotation)] + (["-display_hflip:v:0"] if hflip else [])
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *flags, "-i", str(src),
                    "-c", "copy", str(dst)], check=True)
    return dst


@pytest.mark.parametrize("rotation, hflip", [(90, False), (-90, False), (180, False),
                                             (90, True), (0, True)])
def test_display_matrix_frames_equal_ffmpegs_own(tmp_path, rotation, hflip):
    """cases/media/video_display_rotation.webm: frames come out as FFmpeg's autorotate shows them."""
    stored = make_video(tmp_path / "stored.webm", seconds=2, fps=10, width=160, height=96, gop=5,
                        options={"lossless": "1"})
    path = with_display_matrix(stored, tmp_path / "shown.webm", rotation=rotation, hflip=hflip)
    turned = rotation % 180 != 0
    width, height = (96, 160) if turned else (160, 96)
    reference = ffmpeg_frames(path, width, height)
    decoded = read_frames(path, frames=8, decode_size=64)
    assert decoded.error_kind is None and len(decoded.frames) == 8
    for frame in decoded.frames:
        got = np.asarray(frame.image, dtype=np.int16)
        assert got.shape == (height, width, 3)
        assert np.abs(got - reference[frame.index]).mean() < 3  # swscale rounding only


def test_rotated_recording_is_upright(tmp_path):
    """A phone held upright stores landscape frames turned 90 degrees plus a matrix that turns them back."""
    upright = [moving_frame(i, 96, 128) for i in range(20)]
    stored = tmp_path / "stored.webm"
    with av.open(str(stored), "w", format="webm") as out:
        stream = out.add_stream("libvpx-vp9", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.options = {**FAST_OPTIONS["libvpx-vp9"], "lossless": "1"}
        for a in upright:  # stored turned clockwise; the matrix turns it back counter-clockwise
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(a, -1)), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    path = with_display_matrix(stored, tmp_path / "phone.webm", rotation=90)
    decoded = read_frames(path, frames=4)
    assert [f.image.size for f in decoded.frames] == [(96, 128)] * 4  # before: (128, 96), sideways
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def make_offset_video(path: Path, fmt: str, codec: str, *, offset: float, seconds: int,
                      fps: int) -> Path:
    """Frame i stamped ``offset + i / fps`` seconds: content that starts late on the clock."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.gop_size = fps
        if codec.startswith("mpeg"):
            stream.codec_context.max_b_frames = 0
        stream.options = FAST_OPTIONS.get(codec, {})
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, 160, 120), format="rgb24")
            frame.pts, frame.time_base = round(offset * fps) + i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.mark.parametrize("fmt, codec, fps", [("webm", "libvpx-vp9", 25), ("matroska", "libvpx", 10),
                                             ("ogg", "libvpx", 10), ("mpegts", "mpeg2video", 25),
                                             ("mpeg", "mpeg1video", 25)])
def test_frames_are_spread_over_the_content_after_a_late_start(tmp_path, fmt, codec, fps):
    """cases/media/webm_start100s.webm: 20 s of frames stamped from 100 s (Matroska's header
    then says 120 s); before, 4 of 16 frames came back, partial, with a "frame-limit" message."""
    path = make_offset_video(tmp_path / f"late.{fmt}", fmt, codec, offset=100, seconds=20, fps=fps)
    decoded = read_frames(path, frames=16)
    assert decoded.error_kind is None, decoded.error_message
    assert len(decoded.frames) == 16
    assert decoded.duration == pytest.approx(20, abs=0.2)
    times = [f.time for f in decoded.frames]
    assert 0 <= times[0] < 2 and 17 < times[-1] < 20  # relative to the start, over all of it
    assert max(b - a for a, b in zip(times, times[1:])) < 2.6  # no gap where targets went missing
    assert all(abs(frame_number(f.image) - f.index) <= 1 for f in decoded.frames)
