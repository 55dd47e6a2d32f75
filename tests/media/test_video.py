"""Videos: every codec Commons serves that this FFmpeg can encode, keyframe seeking, caps."""
from __future__ import annotations

import numpy as np
import pytest

from classifiers.media import MediaError, MediaLimits, read_frames
from classifiers.media.video import target_times

from .makers import frame_number, AV1_ENCODERS, break_video, has_encoder, make_video


def shows_frame(frame_or_image, i: int) -> bool:
    """Whether the picture is makers.moving_frame(i)."""
    return frame_number(getattr(frame_or_image, "image", frame_or_image)) == i


AV1 = next((name for name in AV1_ENCODERS if has_encoder(name)), None)
CODECS = [
    pytest.param("libvpx", "webm", id="webm-vp8"),
    pytest.param("libvpx-vp9", "webm", id="webm-vp9"),
    pytest.param(AV1 or "libaom-av1", "webm", id="webm-av1", marks=pytest.mark.skipif(
        AV1 is None, reason=f"no AV1 encoder in PyAV's FFmpeg (tried {', '.join(AV1_ENCODERS)})")),
    pytest.param("mpeg1video", "mpeg", id="mpeg1-ps"),
    pytest.param("mpeg2video", "mpeg", id="mpeg2-ps"),
    pytest.param("mpeg1video", "mpeg1video", id="mpeg1-elementary"),
    # PyAV's FFmpeg cannot encode Theora: makers.make_video falls back to imageio-ffmpeg's binary
    pytest.param("libtheora", "ogg", id="ogg-theora"),
]


@pytest.mark.parametrize("codec, fmt", CODECS)
def test_every_codec_gives_frames_spread_over_the_video(codec, fmt, media_dir):
    fps = 25 if codec.startswith("mpeg") else 10  # MPEG-1/2 allow only broadcast rates
    seconds, gop = 4, fps
    path = make_video(media_dir / f"codec-{codec}.{fmt}", codec=codec, fmt=fmt, seconds=seconds,
                      fps=fps, gop=gop, width=160, height=128)
    decoded = read_frames(path, frames=8)
    assert decoded.media_type == "video" and decoded.error_kind is None, decoded.error_message
    times = [f.time for f in decoded.frames]
    assert len(times) == 8 and times == sorted(set(times))
    assert times[0] < seconds / 4 and times[-1] > seconds * 3 / 4
    for f in decoded.frames:
        assert f.image.mode == "RGB" and f.image.size == (160, 128)
        assert f.index == round(f.time * fps)
        # MPEG program streams time-stamp PES packets, not frames: after a seek
        # FFmpeg may give a frame its neighbour's time
        slack = 1 if fmt == "mpeg" else 0
        assert abs(frame_number(f.image) - f.index) <= slack, (f.index, f.time)


def test_seeking_picks_frames_within_one_keyframe_interval_of_the_targets(vp9_video):
    decoded = read_frames(vp9_video, frames=16)
    assert decoded.duration == pytest.approx(20.0, abs=0.2)
    keyframe_interval, frame_time = 2.0, 0.1
    for target, f in zip(target_times(0.0, decoded.duration, 16), decoded.frames, strict=True):
        assert target - keyframe_interval - 1e-6 <= f.time <= target + frame_time, (target, f.time)
        assert shows_frame(f.image, f.index)
    assert len({f.index for f in decoded.frames}) == 16  # no frame counted twice


def test_seeking_does_not_decode_the_whole_video(vp9_dense_keys):
    # 200 frames; 16 samples from keyframes must fit in a budget of 40 decoded frames
    decoded = read_frames(vp9_dense_keys, frames=16, limits=MediaLimits(max_decoded_frames=40))
    assert decoded.error_kind is None and len(decoded.frames) == 16
    assert decoded.frames[-1].time > 18


def test_without_duration_frames_still_cover_the_whole_video(live_webm):
    decoded = read_frames(live_webm, frames=8)
    assert decoded.error_kind is None and len(decoded.frames) == 8
    times = [f.time for f in decoded.frames]
    assert times == sorted(times) and times[0] < 1.0 and times[-1] > 4.5
    assert all(shows_frame(f.image, f.index) for f in decoded.frames)


def test_without_duration_the_frame_budget_ends_a_sequential_decode(live_webm):
    decoded = read_frames(live_webm, frames=4, limits=MediaLimits(max_decoded_frames=20))
    assert decoded.error_kind == "frame-limit" and decoded.frames
    assert max(f.time for f in decoded.frames) < 2.0


def test_truncated_video_keeps_the_frames_before_the_cut(vp9_video, tmp_path):
    data = vp9_video.read_bytes()
    decoded = read_frames(data[: len(data) // 2], frames=16)
    assert decoded.error_kind == "truncated" and "claimed" in decoded.error_message
    assert 4 <= len(decoded.frames) < 16
    assert all(f.time < 12 for f in decoded.frames)


def test_a_stream_that_breaks_midway_keeps_earlier_frames_and_records_the_error(vp9_video, tmp_path):
    broken = break_video(vp9_video, tmp_path / "broken.webm", from_share=0.5)
    decoded = read_frames(broken, frames=16)
    assert decoded.error_kind == "decode-error" and "Invalid data" in decoded.error_message
    assert len(decoded.frames) >= 6 and all(f.time < 10 for f in decoded.frames)
    assert all(shows_frame(f.image, f.index) for f in decoded.frames)


def test_large_frames_are_reduced_keeping_aspect(media_dir):
    path = make_video(media_dir / "vga.webm", seconds=1, fps=10, width=640, height=480)
    decoded = read_frames(path, frames=2, decode_size=128)
    assert {f.image.size for f in decoded.frames} == {(171, 128)}


def test_video_pixel_limit(vp9_video):
    with pytest.raises(MediaError) as e:
        read_frames(vp9_video, limits=MediaLimits(max_pixels=100 * 100))
    assert e.value.kind == "decompression-bomb"


def test_video_wall_time_cap(vp9_video):
    with pytest.raises(MediaError) as e:
        read_frames(vp9_video, limits=MediaLimits(max_seconds=1e-9))
    assert e.value.kind == "timeout"


def test_sparse_keyframes_cover_the_video_first_then_fill_in_under_the_budget(vp9_video):
    # keyframes every 2 s, targets every 1.25 s: 10 keyframes serve 16 targets
    decoded = read_frames(vp9_video, frames=16, limits=MediaLimits(max_decoded_frames=30))
    assert decoded.error_kind == "frame-limit" and "share a keyframe" in decoded.error_message
    times = [f.time for f in decoded.frames]
    assert 10 <= len(times) < 16 and times == sorted(set(times))
    assert times[0] < 1.25 and times[-1] >= 18.0  # the whole video, not just its start
    assert all(shows_frame(f.image, f.index) for f in decoded.frames)


def test_limits_are_validated():
    with pytest.raises(ValueError):
        MediaLimits(max_pixels=0)
    with pytest.raises(ValueError):
        MediaLimits(max_seconds=0)
    with pytest.raises(ValueError):
        read_frames(b"GIF89a", frames=0)
