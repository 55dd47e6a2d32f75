"""Animated GIF, WebP and APNG: frames spread over the play time, bounded cost."""
from __future__ import annotations

import numpy as np
import pytest

from classifiers.media import MediaError, MediaLimits, read_frames
from classifiers.media.animated import gif_delays

from .makers import frame_number, make_animation

FORMATS = ["GIF", "WEBP", "PNG"]


def shows_frame(frame_or_image, i: int) -> bool:
    """Whether the picture is makers.moving_frame(i)."""
    return frame_number(getattr(frame_or_image, "image", frame_or_image)) == i


@pytest.mark.parametrize("fmt", FORMATS)
def test_frames_spread_over_the_animation_with_timestamps(fmt):
    decoded = read_frames(make_animation(fmt, 64, duration=50), frames=8)
    assert decoded.media_type == "animated" and decoded.error_kind is None
    indices = [f.index for f in decoded.frames]
    assert indices == [4, 12, 20, 28, 36, 44, 52, 60]  # the middle of 8 equal parts
    assert [f.time for f in decoded.frames] == pytest.approx([i * 0.05 for i in indices])
    for f in decoded.frames:  # the pixels are those of the frame claimed, not of frame 0
        assert shows_frame(f, f.index)
        assert f.image.mode == "RGB"


@pytest.mark.parametrize("fmt", FORMATS)
def test_short_animation_gives_every_frame(fmt):
    decoded = read_frames(make_animation(fmt, 5), frames=16)
    assert [f.index for f in decoded.frames] == [0, 1, 2, 3, 4]


def test_gif_frames_are_spread_by_play_time_not_by_count():
    # frame 0 is shown for 9 s, frames 1..9 for 0.1 s each: most of the play time is frame 0
    data = make_animation("GIF", 10, duration=[9000] + [100] * 9)
    assert gif_delays(data) == pytest.approx([9.0] + [0.1] * 9)
    decoded = read_frames(data, frames=4)
    # frame 0 fills all four time targets; evenly spread frames top the sample up
    assert [f.index for f in decoded.frames] == [0, 1, 3, 6]
    assert decoded.duration == pytest.approx(9.9)


def test_gif_zero_delays_play_at_browser_speed():
    decoded = read_frames(make_animation("GIF", 20, duration=0), frames=4)
    assert [f.time for f in decoded.frames] == pytest.approx([0.2, 0.7, 1.2, 1.7])


def test_long_gif_decodes_only_up_to_the_frame_budget():
    data = make_animation("GIF", 300, size=(16, 16))
    decoded = read_frames(data, frames=6, limits=MediaLimits(max_decoded_frames=60))
    assert decoded.error_kind == "frame-limit" and "300 frames" in decoded.error_message
    assert len(decoded.frames) == 6 and max(f.index for f in decoded.frames) < 60
    assert all(shows_frame(f, f.index) for f in decoded.frames)


def test_pixel_budget_bounds_big_animations():
    data = make_animation("PNG", 40, size=(200, 100))
    decoded = read_frames(data, frames=4, limits=MediaLimits(max_decoded_pixels=20 * 200 * 100))
    assert decoded.error_kind == "frame-limit" and max(f.index for f in decoded.frames) < 20


def test_wall_time_cap_stops_an_animation():
    with pytest.raises(MediaError) as e:
        read_frames(make_animation("GIF", 50), limits=MediaLimits(max_seconds=1e-9))
    assert e.value.kind == "timeout"


def test_transparent_gif_frames_go_on_the_background():
    from PIL import Image
    frames = []
    for i in range(3):
        im = Image.new("P", (8, 8), 0)
        im.putpalette([0, 0, 0, 250, 20, 20] + [0] * 762)
        im.paste(1, (0, 0, 2 + i, 8))
        frames.append(im)
    import io
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], transparency=0,
                   disposal=2, duration=100)
    decoded = read_frames(buf.getvalue())
    assert [f.index for f in decoded.frames] == [0, 1, 2]
    for f in decoded.frames:
        a = np.asarray(f.image)
        assert tuple(a[0, 7]) == (255, 255, 255) and tuple(a[0, 0]) == (250, 20, 20)


def test_gif_of_independent_frames_is_decoded_from_the_nearest_one():
    # optimize=False: every frame covers the canvas without transparency
    data = make_animation("GIF", 400, size=(16, 16), optimize=False)
    # a budget of 40 decoded frames cannot walk 400 frames, but 16 jumps fit it
    decoded = read_frames(data, frames=16, limits=MediaLimits(max_decoded_frames=40))
    assert decoded.error_kind is None
    assert [f.index for f in decoded.frames] == [12, 37, 62, 87, 112, 137, 162, 187, 212, 237,
                                                 262, 287, 312, 337, 362, 387]
    assert all(shows_frame(f, f.index) for f in decoded.frames)
    assert [f.time for f in decoded.frames] == pytest.approx([f.index * 0.1 for f in decoded.frames])


def test_gif_with_dependent_frames_walks_sequentially_under_the_same_budget():
    data = make_animation("GIF", 400, size=(16, 16))  # Pillow marks unchanged pixels transparent
    decoded = read_frames(data, frames=16, limits=MediaLimits(max_decoded_frames=40))
    assert decoded.error_kind == "frame-limit" and max(f.index for f in decoded.frames) < 40
    assert all(shows_frame(f, f.index) for f in decoded.frames)


def test_decoding_from_an_independent_frame_gives_the_same_pixels_as_walking():
    import io

    from PIL import Image

    from classifiers.media.stills import to_rgb

    data = make_animation("GIF", 60, size=(40, 30), optimize=False, disposal=1)
    decoded = read_frames(data, frames=5)
    with Image.open(io.BytesIO(data)) as walked:
        for f in decoded.frames:
            walked.seek(f.index)
            assert np.array_equal(np.asarray(f.image), np.asarray(to_rgb(walked.copy()))), f.index
