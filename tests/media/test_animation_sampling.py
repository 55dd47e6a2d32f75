"""Which frames of an animation are sampled, at which times, within which budget (issue 18:
survivors of the mutation run over classifiers/media/animated.py that change frames, times or
error kinds). Every file is written here by Pillow, some then edited byte by byte so that a
block or field is what the test says; frames are checked by the number they show
(makers.moving_frame) or against the GIF89a rule written out (test_as_seen_animations)."""
from __future__ import annotations

import numpy as np
import pytest

from classifiers.media import MediaError, MediaLimits, read_frames
from classifiers.media.animated import gif_delays, gif_timeline

from .makers import frame_number, make_animation, png_chunk
from .test_as_seen_animations import palette_frame, save_gif, shown
from .test_as_seen_apng import NONE, SOURCE, rgba, write_apng

FORMATS = ["GIF", "WEBP", "PNG"]


def indices(decoded) -> list[int]:
    return [f.index for f in decoded.frames]


def assert_frames_show_their_numbers(decoded) -> None:
    assert decoded.frames
    for f in decoded.frames:
        assert frame_number(f.image) == f.index


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_few_more_frames_than_samples_still_include_the_last_frame(fmt):
    """20 frames, 16 samples: the middle of each sixteenth; the last sixteenth's is frame 19."""
    decoded = read_frames(make_animation(fmt, 20, duration=50), frames=16)
    assert decoded.error_kind is None
    assert indices(decoded) == [0, 1, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 18, 19]
    assert_frames_show_their_numbers(decoded)
    assert [f.time for f in decoded.frames] == pytest.approx([i * 0.05 for i in indices(decoded)])


def test_a_long_last_gif_frame_counts_for_its_play_time():
    """Frames 0..8 for 0.1 s, frame 9 for 9 s: the play time is 9.9 s, and every time target
    falls on frame 9; evenly spread frames top the sample up (the mirror of a long first frame)."""
    data = make_animation("GIF", 10, duration=[100] * 9 + [9000])
    assert gif_delays(data) == pytest.approx([0.1] * 9 + [9.0])
    decoded = read_frames(data, frames=4)
    assert indices(decoded) == [1, 3, 6, 9]
    assert decoded.duration == pytest.approx(9.9)
    assert [f.time for f in decoded.frames] == pytest.approx([0.1, 0.3, 0.6, 0.9])
    assert_frames_show_their_numbers(decoded)


def test_gif_delays_of_one_centisecond_play_at_100_ms():
    data = make_animation("GIF", 8, duration=10)  # written as 1 centisecond
    assert gif_delays(data) == pytest.approx([0.1] * 8)
    decoded = read_frames(data, frames=4)
    assert indices(decoded) == [1, 3, 5, 7]
    assert [f.time for f in decoded.frames] == pytest.approx([0.1, 0.3, 0.5, 0.7])
    assert decoded.duration == pytest.approx(0.8)


def test_gif_delays_of_two_centiseconds_are_kept():
    """The boundary above the browsers' minimum: 20 ms is played as written."""
    assert gif_delays(make_animation("GIF", 3, duration=20)) == pytest.approx([0.02] * 3)


def without_graphic_control(data: bytes) -> bytes:
    """The GIF with every frame's graphic control extension taken out (no delay, no
    transparency, no disposal: frames of some encoders look like that)."""
    out = bytearray(data)
    for descriptor, _, _ in reversed(gif_timeline(data).layout):
        assert out[descriptor - 8:descriptor - 5] == b"\x21\xf9\x04"  # Pillow writes it just before
        del out[descriptor - 8:descriptor]
    return bytes(out)


def test_gif_frames_without_graphic_control_play_at_100_ms_and_are_keyframes():
    """No graphic control block: delay 0 (played at 100 ms) and no transparency, so every
    whole-canvas frame is a keyframe and 4 samples of 40 frames cost 4 decodes."""
    data = without_graphic_control(make_animation("GIF", 40, optimize=False))
    timeline = gif_timeline(data)
    assert len(timeline.delays) == 40 and all(timeline.independent)
    assert timeline.delays == pytest.approx([0.1] * 40)
    decoded = read_frames(data, frames=4, limits=MediaLimits(max_decoded_frames=4))
    assert decoded.error_kind is None
    assert indices(decoded) == [5, 15, 25, 35]
    assert [f.time for f in decoded.frames] == pytest.approx([0.5, 1.5, 2.5, 3.5])
    assert_frames_show_their_numbers(decoded)


def test_a_gif_over_255_pixels_wide_and_high_is_sampled_from_its_keyframes():
    """Sizes and boxes are 16-bit little-endian: a 260x260 frame covers its 260x260 screen."""
    data = make_animation("GIF", 40, size=(260, 260), optimize=False)
    timeline = gif_timeline(data)
    assert [box for _, box, _ in timeline.layout] == [(0, 0, 260, 260)] * 40
    assert all(timeline.independent)
    decoded = read_frames(data, frames=4, limits=MediaLimits(max_decoded_frames=4))
    assert decoded.error_kind is None and indices(decoded) == [5, 15, 25, 35]
    assert all(f.image.size == (260, 260) for f in decoded.frames)
    assert_frames_show_their_numbers(decoded)


def test_a_gif_without_a_global_colour_table():
    """Only local colour tables; the header's table size bits are set but its flag is not
    (decoders read the size only under the flag)."""
    data = bytearray(make_animation("GIF", 6, optimize=False))
    timeline = gif_timeline(bytes(data))
    table = bytes(data[13:timeline.header_end])
    assert data[10] & 0x80 and table and all(data[d + 9] & 0x80 for d, _, _ in timeline.layout[1:])
    first = timeline.layout[0][0]  # frame 0 uses the global table: it becomes its own
    data[first + 9] = 0x80 | (data[10] & 7)
    data[first + 10:first + 10] = table
    del data[13:timeline.header_end]  # the global table
    data[10] = (data[10] & 0x70) | 0x07  # no table, size bits 7
    decoded = read_frames(bytes(data), frames=16)
    assert decoded.error_kind is None and indices(decoded) == [0, 1, 2, 3, 4, 5]
    assert_frames_show_their_numbers(decoded)


def test_a_gif_frame_without_a_local_colour_table_whose_size_bits_are_set():
    pal = [(0, 0, 0), (220, 40, 40), (40, 40, 220), (240, 240, 0)]
    layers = []
    for i in range(4):
        a = np.full((12, 16), 1 + i % 3, np.uint8)
        a[i:i + 3, :] = 3
        layers.append((a, pal))
    data = bytearray(save_gif(layers, [1] * 4, background=0))
    first = gif_timeline(bytes(data)).layout[0][0]
    assert data[first + 9] == 0  # frame 0 uses the global table
    data[first + 9] = 0x07  # size bits without the flag: still no local table
    decoded = read_frames(bytes(data), frames=16, decode_size=1000)
    assert decoded.error_kind is None and indices(decoded) == [0, 1, 2, 3]
    for got, expected in zip(decoded.frames, shown(layers, [1] * 4), strict=True):
        assert np.array_equal(np.asarray(got.image), expected)


def test_a_gif_walk_needing_exactly_the_frame_budget_is_not_cut():
    """Frames that depend on their predecessors: samples 2, 7, 12, 17 of 20 cost 18 decodes
    from frame 0. A budget of 18 reaches them; 17 does not, so the samples are spread over
    the 17 frames it reaches."""
    data = make_animation("GIF", 20)
    assert gif_timeline(data).independent == [True] + [False] * 19
    at = read_frames(data, frames=4, limits=MediaLimits(max_decoded_frames=18))
    assert at.error_kind is None and indices(at) == [2, 7, 12, 17]
    below = read_frames(data, frames=4, limits=MediaLimits(max_decoded_frames=17))
    assert below.error_kind == "frame-limit" and indices(below) == [2, 6, 10, 14]
    assert_frames_show_their_numbers(at)
    assert_frames_show_their_numbers(below)


def test_a_gif_run_goes_on_from_a_target_that_is_a_keyframe():
    """Keyframes 0, 2 and 10 among frames that depend on their predecessors. Samples 2, 6,
    10, 14: 6 is decoded on from sample 2 and 14 from 10 (2..6 and 10..14: 10 decodes), not
    from their keyframes again (12). The pixels are the GIF89a rule's."""
    pal = [(0, 0, 0), (220, 40, 40), (40, 40, 220), (240, 240, 0)]
    keyframes = {0, 2, 10}
    layers = []
    for i in range(16):
        a = np.full((12, 16), 1 + i % 3, np.uint8)
        a[i % 12, :] = 3
        if i not in keyframes:
            a[:, i % 16] = 0  # a transparent column: the frame before shows through
        layers.append((a, pal))
    data = bytearray(save_gif(layers, [1] * 16, background=0))
    for i in keyframes:  # no transparent index on keyframes (they use no index 0)
        descriptor = gif_timeline(bytes(data)).layout[i][0]
        data[descriptor - 5] &= 0xFE
    data = bytes(data)
    assert [i for i, k in enumerate(gif_timeline(data).independent) if k] == sorted(keyframes)
    decoded = read_frames(data, frames=4, decode_size=1000, limits=MediaLimits(max_decoded_frames=10))
    assert decoded.error_kind is None and indices(decoded) == [2, 6, 10, 14]
    expected = shown(layers, [1] * 16)
    for f in decoded.frames:
        assert np.array_equal(np.asarray(f.image), expected[f.index]), f.index


SIZE = (48, 16)  # not square: a frame's pixels are its width times its height


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pixel_budget_of_five_and_a_half_frames_reaches_five(fmt):
    data = make_animation(fmt, 12, size=SIZE)
    pixels = SIZE[0] * SIZE[1]
    decoded = read_frames(data, frames=16, limits=MediaLimits(max_decoded_pixels=pixels * 11 // 2))
    assert decoded.error_kind == "frame-limit" and "12 frames" in decoded.error_message
    assert indices(decoded) == [0, 1, 2, 3, 4]
    assert_frames_show_their_numbers(decoded)
    whole = read_frames(data, frames=16, limits=MediaLimits(max_decoded_pixels=pixels * 12))
    assert whole.error_kind is None and indices(whole) == list(range(12))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_pixel_budget_below_one_frame_still_gives_the_first(fmt):
    data = make_animation(fmt, 12, size=SIZE)
    decoded = read_frames(data, frames=16, limits=MediaLimits(max_decoded_pixels=SIZE[0] * SIZE[1] - 1))
    assert decoded.error_kind == "frame-limit" and indices(decoded) == [0]
    assert_frames_show_their_numbers(decoded)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_frame_budget_below_the_frame_count_is_reported(fmt):
    decoded = read_frames(make_animation(fmt, 12), frames=4, limits=MediaLimits(max_decoded_frames=8))
    assert decoded.error_kind == "frame-limit" and "12 frames" in decoded.error_message
    assert max(indices(decoded)) < 8
    assert_frames_show_their_numbers(decoded)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nothing_decoded_within_the_wall_time_is_a_timeout(fmt):
    with pytest.raises(MediaError) as e:
        read_frames(make_animation(fmt, 6), limits=MediaLimits(max_seconds=1e-9))
    assert e.value.kind == "timeout"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_animation_read_from_a_path_is_the_one_read_from_bytes(fmt, tmp_path):
    """Files are read through a memory map, bytes through their buffer: the same frames."""
    data = make_animation(fmt, 20, duration=[30, 70] * 10)
    path = tmp_path / "animation.bin"
    path.write_bytes(data)
    from_bytes, from_path = read_frames(data, frames=6), read_frames(path, frames=6)
    assert from_path.media_type == "animated" and from_path.error_kind is None
    assert indices(from_path) == indices(from_bytes) and len(from_path.frames) == 6
    assert [f.time for f in from_path.frames] == [f.time for f in from_bytes.frames]
    for a, b in zip(from_path.frames, from_bytes.frames, strict=True):
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert_frames_show_their_numbers(from_path)


def test_apng_frames_past_the_actl_count_are_not_sampled():
    """acTL says 1 frame (after a default image, so Pillow counts 2 and calls it animated);
    the file holds 2 fcTL frames: only the first is played."""
    frames = [(rgba(8, 8, (200, 30, 30), 255), 0, 0, NONE, SOURCE),
              (rgba(8, 8, (20, 20, 220), 255), 0, 0, NONE, SOURCE)]
    data = bytearray(write_apng((8, 8), frames, default=rgba(8, 8, (0, 200, 0), 255)))
    at = data.index(b"acTL") - 4
    data[at:at + 20] = png_chunk(b"acTL", (1).to_bytes(4, "big") + (1).to_bytes(4, "big"))
    decoded = read_frames(bytes(data), frames=16)
    assert decoded.media_type == "animated" and decoded.error_kind is None
    assert indices(decoded) == [0]
    assert (np.asarray(decoded.frames[0].image) == (200, 30, 30)).all()


def test_a_still_gif_smaller_than_its_screen_is_frame_0_without_a_time():
    frame = palette_frame(np.full((8, 8), 1, np.uint8), [(0, 0, 0), (200, 30, 30)])
    import io
    buf = io.BytesIO()
    frame.save(buf, "GIF", optimize=False)
    data = bytearray(buf.getvalue())
    data[6:10] = (16).to_bytes(2, "little") + (12).to_bytes(2, "little")
    decoded = read_frames(bytes(data))
    assert decoded.media_type == "still" and len(decoded.frames) == 1
    assert (decoded.frames[0].index, decoded.frames[0].time) == (0, None)
