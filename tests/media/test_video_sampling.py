"""Video sampling edge cases found by the mutation run over classifiers/media/video.py (issue 18):
broken targets in a row, the fall-back to a sequential decode, the pixel budget of a forward
run, the content's exact length."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from classifiers.media import MediaLimits, read_frames

from .makers import FAST_OPTIONS, break_video, frame_number, make_video, moving_frame

W, H = 160, 120


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """20 s, 10 fps, a keyframe every 2 s: 16 targets every 1.25 s from 0.625 s."""
    return make_video(tmp_path_factory.mktemp("sampling") / "clip.webm", seconds=20, fps=10,
                      gop=20, width=W, height=H)


def test_two_broken_targets_in_a_row_are_passed_over(clip, tmp_path):
    # packets from 8 s to 10 s are garbage: the targets at 8.125 and 9.375 s fail, 10.625 s is fine
    broken = break_video(clip, tmp_path / "gap.webm", from_share=0.4, to_share=0.5)
    decoded = read_frames(broken, frames=16)
    assert decoded.error_kind == "decode-error" and "near 8.12 s" in decoded.error_message
    times = [f.time for f in decoded.frames]
    assert not any(8 <= t < 10 for t in times)
    assert [t for t in times if t >= 10] == [10.0, 11.9, 12.0, 14.0, 15.7, 16.0, 18.0, 19.4]
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def test_three_broken_targets_in_a_row_end_the_file(clip, tmp_path):
    # packets from 6 s to 10 s are garbage: 6.875, 8.125 and 9.375 s fail, then sampling stops
    broken = break_video(clip, tmp_path / "gap.webm", from_share=0.3, to_share=0.5)
    decoded = read_frames(broken, frames=16)
    assert decoded.error_kind == "decode-error" and "near 6.88 s" in decoded.error_message
    assert [f.time for f in decoded.frames] == [0.0, 1.9, 2.0, 4.0, 5.7]
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def test_a_file_that_fails_at_every_target_is_decoded_from_its_start(clip, tmp_path):
    # one target, at 10 s, in the garbage: the frames before it are still decodable
    broken = break_video(clip, tmp_path / "late.webm", from_share=0.4)
    decoded = read_frames(broken, frames=1)
    assert decoded.media_type == "video" and decoded.error_kind == "decode-error"
    assert "decoding frame 80" in decoded.error_message  # the sequential decode's error
    assert len(decoded.frames) == 1 and decoded.frames[0].time < 8
    assert frame_number(decoded.frames[0].image) == decoded.frames[0].index


def test_the_pixel_budget_gates_a_forward_run_as_the_frame_budget_does(clip):
    by_frames = read_frames(clip, frames=16, limits=MediaLimits(max_decoded_frames=30))
    by_pixels = read_frames(clip, frames=16, limits=MediaLimits(max_decoded_pixels=30 * W * H))
    assert by_pixels.error_kind == by_frames.error_kind == "frame-limit"
    assert "share a keyframe" in by_pixels.error_message
    assert [f.time for f in by_pixels.frames] == [f.time for f in by_frames.frames]
    assert 10 <= len(by_pixels.frames) < 16


def test_the_content_lasts_to_the_end_of_its_last_frame(clip):
    # WebM blocks carry no duration: the last one lasts one frame (1 / 10 s)
    decoded = read_frames(clip, frames=16)
    assert decoded.duration == pytest.approx(20.0, abs=1e-6)


def test_frames_twice_the_decode_size_are_reduced(clip):
    decoded = read_frames(clip, frames=2, decode_size=H // 2)
    assert {f.image.size for f in decoded.frames} == {(W // 2, H // 2)}
    decoded = read_frames(clip, frames=2, decode_size=H // 2 + 1)
    assert {f.image.size for f in decoded.frames} == {(W, H)}


def test_a_clip_of_twice_the_samples_is_decoded_whole(tmp_path):
    # 40 frames, 20 samples: every other frame, and the decode of all 40 fits a budget of 40
    path = make_video(tmp_path / "short.webm", seconds=4, fps=10, gop=40, width=W, height=H)
    decoded = read_frames(path, frames=20, limits=MediaLimits(max_decoded_frames=40))
    assert decoded.error_kind is None
    assert [f.index for f in decoded.frames] == list(range(0, 40, 2))
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def make_vfr(path: Path, times: list[float], *, gop: int | None = 100, live: bool = False) -> Path:
    """A VP9 WebM whose frame i (:func:`moving_frame` (i)) is stamped ``times[i]`` seconds;
    ``live``: no duration and no cues, as a live stream is written; ``gop`` None: libvpx's own."""
    with av.open(str(path), "w", format="webm", container_options={"live": "1"} if live else {}) as out:
        stream = out.add_stream("libvpx-vp9", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        stream.codec_context.time_base = Fraction(1, 1000)  # times finer than 1 / rate
        stream.options = FAST_OPTIONS["libvpx-vp9"]
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(moving_frame(i, W, H), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_a_frame_that_lasts_over_several_targets_is_kept_once(tmp_path):
    # 10 fps, except one frame shown from 10 s to 14.375 s; keyframes at 0 and 10 s only. The
    # targets at 11.875, 13.125 and 14.375 s are all served by the frame of 14.375 s, the first
    # at or after each (at the last one exactly), and it is kept once
    times = [i / 10 for i in range(100)] + [10.0, 14.375] + [i / 10 for i in range(144, 200)]
    decoded = read_frames(make_vfr(tmp_path / "vfr.webm", times), frames=16)
    assert decoded.error_kind is None and decoded.duration == pytest.approx(20.0, abs=1e-6)
    assert [f.time for f in decoded.frames] == [0.0, 1.9, 3.2, 4.4, 5.7, 6.9, 8.2, 9.4, 10.0, 14.375,
                                                15.7, 16.9, 18.2, 19.4]
    assert [frame_number(f.image) for f in decoded.frames] == [times.index(f.time) for f in decoded.frames]


def test_a_frame_exactly_at_a_target_is_the_one_taken(tmp_path):
    # 8 fps over 20 s: every target (0.625 s + 1.25 s k) is a frame's own timestamp; keyframes
    # every 5 s, so most targets are reached by decoding forward from a shared keyframe
    path = make_video(tmp_path / "8fps.webm", seconds=20, fps=8, gop=40, width=W, height=H)
    decoded = read_frames(path, frames=16)
    assert decoded.error_kind is None
    assert [f.time for f in decoded.frames] == [0.0] + [0.625 + 1.25 * k for k in range(1, 4)] + [5.0] + [
        0.625 + 1.25 * k for k in range(5, 8)] + [10.0] + [0.625 + 1.25 * k for k in range(9, 12)] + [
        15.0] + [0.625 + 1.25 * k for k in range(13, 16)]
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


@pytest.fixture
def frame_clock(monkeypatch):
    """A hand-moved clock: one second passes with each decoded frame (real decoding)."""
    from classifiers.media import limits as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    spend = module.Deadline.spend

    def spend_and_tick(self, pixels: int, frames: int = 1) -> None:
        now[0] += frames
        spend(self, pixels, frames)

    monkeypatch.setattr(module.Deadline, "spend", spend_and_tick)


def test_time_running_out_in_a_forward_run_is_a_timeout(clip, frame_clock):
    # pass 1 decodes 16 frames (16 s); the forward runs from shared keyframes then run out
    decoded = read_frames(clip, frames=16, limits=MediaLimits(max_seconds=20.5))
    assert decoded.error_kind == "timeout", decoded.error_message
    assert 10 <= len(decoded.frames) < 16
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def test_time_running_out_in_a_sequential_decode_is_a_timeout(tmp_path, frame_clock):
    live = make_video(tmp_path / "live.webm", seconds=6, fps=10, gop=10, width=W, height=H,
                      container_options={"live": "1"})
    decoded = read_frames(live, frames=4, limits=MediaLimits(max_seconds=5.5))
    assert decoded.error_kind == "timeout", decoded.error_message
    assert decoded.frames and max(f.time for f in decoded.frames) < 0.6  # the first 6 frames


def test_without_duration_a_variable_frame_rate_keeps_each_frames_own_time(tmp_path):
    # a live WebM (no duration, no cues: decoded sequentially) of 3 s at 10 fps, then 2 fps
    times = [i / 10 for i in range(30)] + [3.0 + 0.5 * i for i in range(1, 7)]
    path = make_vfr(tmp_path / "live-vfr.webm", times, gop=None, live=True)
    decoded = read_frames(path, frames=4)
    assert decoded.error_kind is None and decoded.duration is None and len(decoded.frames) == 4
    assert [times[frame_number(f.image)] for f in decoded.frames] == [f.time for f in decoded.frames]
    assert decoded.frames[-1].time == 4.5


def test_a_slideshow_of_one_frame_in_two_seconds_numbers_its_frames(tmp_path):
    path = make_video(tmp_path / "slides.webm", seconds=40, fps=Fraction(1, 2), gop=100, width=W, height=H)
    decoded = read_frames(path, frames=4)
    assert decoded.error_kind is None and [f.time for f in decoded.frames] == [0.0, 16.0, 26.0, 36.0]
    assert [f.index for f in decoded.frames] == [frame_number(f.image) for f in decoded.frames]


def test_an_absurd_frame_rate_is_ignored_not_fatal(tmp_path):
    # 1000 fps (>= 1000 counts as absurd): no rate, so frames are found by time alone
    path = make_video(tmp_path / "k.webm", seconds=0.3, fps=1000, gop=50, width=W, height=H)
    decoded = read_frames(path, frames=8)
    assert decoded.error_kind is None and len(decoded.frames) == 8
    times = [f.time for f in decoded.frames]
    assert times == sorted(set(times)) and times[0] < 0.04 and times[-1] >= 0.25  # the last keyframe
    assert all(frame_number(f.image) == round(f.time * 1000) for f in decoded.frames)



def test_a_forward_run_the_budget_affords_is_made_after_ones_it_does_not(clip):
    # after pass 1 (16 frames) the runs from the keyframes at 0, 4 and 8 s would need 20, 18
    # and 15 frames: a budget of 31 affords only the third, which is still made
    decoded = read_frames(clip, frames=16, limits=MediaLimits(max_decoded_frames=31))
    assert decoded.error_kind == "frame-limit" and "share a keyframe" in decoded.error_message
    assert [f.time for f in decoded.frames] == [0.0, 2.0, 4.0, 6.0, 8.0, 9.4, 10.0, 12.0, 14.0,
                                                16.0, 18.0]
    assert all(frame_number(f.image) == f.index for f in decoded.frames)


def test_a_broken_stream_after_a_shared_keyframe_is_a_decode_error(clip, tmp_path):
    # 0.5 s to 1.5 s broken: the keyframe at 0 s decodes, the run from it to 1.875 s does not
    broken = break_video(clip, tmp_path / "early.webm", from_share=0.025, to_share=0.075)
    decoded = read_frames(broken, frames=16)
    assert decoded.error_kind == "decode-error", decoded.error_message
    assert "after the keyframe at 0.00 s" in decoded.error_message
    assert not any(0.5 <= f.time < 1.5 for f in decoded.frames)


def test_the_frame_budget_running_out_in_the_first_pass_is_a_frame_limit(tmp_path):
    path = make_video(tmp_path / "dense.webm", seconds=20, fps=10, gop=5, width=W, height=H)
    decoded = read_frames(path, frames=16, limits=MediaLimits(max_decoded_frames=5))
    assert decoded.error_kind == "frame-limit", decoded.error_message
    assert len(decoded.frames) == 5 and decoded.frames[-1].time < 6


def cut_before(path: Path, end: float) -> bytes:
    """The bytes of ``path`` before its frame stamped ``end`` s: every frame before it, the header
    still claiming the whole duration."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        pos = {round(float(p.pts * p.time_base), 3): p.pos for p in container.demux(stream) if p.pts is not None}
    return path.read_bytes()[:pos[round(end, 3)]]


@pytest.mark.parametrize("seconds, end, truncated", [
    (20, 19.0, False), (20, 18.9, True),   # short of 20 s by 1 s is allowed, not more
    (40, 38.0, False), (40, 37.9, True),   # ... and of 40 s by 5 % (2 s)
])
def test_content_short_of_the_claim_by_over_1_s_and_5_percent_is_truncated(tmp_path, seconds, end, truncated):
    path = make_video(tmp_path / "clip.webm", seconds=seconds, fps=10, gop=20, width=W, height=H)
    decoded = read_frames(cut_before(path, end), frames=16)
    assert decoded.error_kind == ("truncated" if truncated else None), decoded.error_message
    assert decoded.duration == pytest.approx(end, abs=1e-6)  # the frames spread over what exists
    last_target = end * 15.5 / 16  # a kept frame lies within a keyframe interval (2 s) before it
    assert decoded.frames[0].time < 1.25 and decoded.frames[-1].time > last_target - 2
