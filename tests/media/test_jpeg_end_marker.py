"""A JPEG complete but for its end marker is scored; one really cut short stays truncated (issue 11)."""
from __future__ import annotations

import numpy as np
import pytest

from classifiers.media import MediaError, read_frames

from .makers import encode_image, photo

KINDS = {
    "baseline": {},
    "progressive": {"progressive": True},
    "restart-intervals": {"restart_marker_blocks": 4},
    "greyscale": {"mode": "L"},
    "no-subsampling": {"subsampling": 0},
}


def jpeg(kind: str) -> bytes:
    params = dict(KINDS[kind])
    im = photo("coffee")
    if params.pop("mode", None):
        im = im.convert("L")
    data = encode_image(im, "JPEG", quality=90, **params)
    assert data.endswith(b"\xff\xd9")
    return data


def truncated(data: bytes) -> None:
    with pytest.raises(MediaError) as e:
        read_frames(data)
    assert e.value.kind == "truncated"


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_jpeg_without_only_its_end_marker_decodes_to_the_same_pixels(kind):
    data = jpeg(kind)
    for decode_size in (256, 10_000):  # drafted and full size
        whole = read_frames(data, decode_size=decode_size)
        cut = read_frames(data[:-2], decode_size=decode_size)
        assert cut.media_type == "still" and cut.error_kind is None
        assert np.array_equal(np.asarray(cut.frames[0].image), np.asarray(whole.frames[0].image))


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_jpeg_missing_scan_data_stays_truncated(kind):
    data = jpeg(kind)
    for lost in (16, 1000, len(data) // 2):
        truncated(data[:-2 - lost])


def test_a_cut_at_a_restart_marker_stays_truncated():
    """The data ends at a restart boundary, so an appended EOI would decode without a
    complaint: the rest of the picture is missing all the same."""
    data = jpeg("restart-intervals")
    at = data.index(b"\xff\xd3", len(data) // 2)  # RST3 in the second half
    truncated(data[:at + 2])
    truncated(data[:at])


def test_a_progressive_jpeg_cut_between_scans_stays_truncated():
    """Every scan before the cut is complete, but later scans (refinements) are missing."""
    data = jpeg("progressive")
    starts = [k for k in range(len(data) - 1) if data[k:k + 2] == b"\xff\xda"]
    assert len(starts) > 3
    for at in starts[1:]:
        truncated(data[:at])


def test_a_jpeg_file_without_its_end_marker_is_read_from_its_path(tmp_path):
    path = tmp_path / "no-eoi.jpg"
    path.write_bytes(jpeg("baseline")[:-2])
    decoded = read_frames(path)
    assert decoded.media_type == "still" and decoded.error_kind is None
