"""Every cap of ``MediaLimits`` is enforced by every decoder it applies to (docs/media.md:
"Every decoder checks them before it spends the resource"): one file per kind, each cap set
just below what that file needs, the error kind from ``ERROR_KINDS``. A cap set just above
must pass, so a check that fires always is caught too."""
from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.media import read_frames
from classifiers.media.limits import ERROR_KINDS, MediaError, MediaLimits
from tests.media.makers import encode_image, make_animation, make_video, photo

W, H = 160, 120  # every sample is this size, so pixel caps are the same for all kinds


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    d: Path = tmp_path_factory.mktemp("limits")
    video = make_video(d / "clip.webm", seconds=2, fps=10, gop=10, width=W, height=H)
    return {"still": encode_image(photo().resize((W, H)), "PNG"),
            "animated": make_animation("GIF", 30, size=(W, H)),
            "video": video.read_bytes()}


def outcome(data: bytes, limits: MediaLimits, frames: int = 8) -> str | None:
    """The error kind decoding ends with (raised, or partial), None when it completes."""
    try:
        return read_frames(data, frames=frames, limits=limits).error_kind
    except MediaError as e:
        return e.kind


@pytest.mark.parametrize("kind", ["still", "animated", "video"])
def test_byte_and_pixel_caps(samples, kind):
    data = samples[kind]
    assert outcome(data, MediaLimits()) is None
    assert outcome(data, MediaLimits(max_bytes=len(data) - 1)) == "too-large"
    assert outcome(data, MediaLimits(max_bytes=len(data))) is None
    assert outcome(data, MediaLimits(max_pixels=W * H - 1)) == "decompression-bomb"
    assert outcome(data, MediaLimits(max_pixels=W * H)) is None


@pytest.mark.parametrize("kind", ["animated", "video"])
def test_decode_budgets(samples, kind):
    data = samples[kind]
    # 8 samples spread over the file: a budget of 3 frames (or 3 frames' pixels) cannot reach them
    assert outcome(data, MediaLimits(max_decoded_frames=3)) == "frame-limit"
    assert outcome(data, MediaLimits(max_decoded_pixels=3 * W * H)) == "frame-limit"
    # enough for every frame of the file: no limit hit
    assert outcome(data, MediaLimits(max_decoded_frames=1000, max_decoded_pixels=1000 * W * H)) is None


@pytest.mark.parametrize("kind", ["animated", "video"])
def test_wall_time_cap(samples, kind):
    assert outcome(samples[kind], MediaLimits(max_seconds=1e-9)) == "timeout"


DOCS = Path(__file__).resolve().parents[2] / "docs" / "media.md"
UNITS = {"MiB": 2**20, "M": 10**6, "s": 1, "": 1}


def doc_table(heading: str) -> dict[str, str]:
    """First two columns of the table under ``heading`` in docs/media.md, backticks dropped."""
    text = DOCS.read_text().split(heading, 1)[1]
    rows = {}
    for line in text.splitlines()[1:]:
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1]
        elif rows and not line.startswith("|"):
            break
    return rows


def test_defaults_are_the_documented_ones():
    """docs/media.md "Limits": the caps' defaults are a promise (e.g. "at most 1,000 frames by
    default"); each is read from the table and compared with ``MediaLimits()``."""
    documented = doc_table("## Limits (`MediaLimits`, per file)")
    limits = MediaLimits()
    assert len(documented) == 5
    for name, text in documented.items():
        number, _, unit = text.replace(",", "").partition(" ")
        assert getattr(limits, name) == float(number) * UNITS[unit], name


def test_every_cap_accepts_one_and_refuses_zero():
    for name in ("max_bytes", "max_pixels", "max_decoded_frames", "max_decoded_pixels"):
        assert getattr(MediaLimits(**{name: 1}), name) == 1
        with pytest.raises(ValueError, match=name):
            MediaLimits(**{name: 0})
    assert MediaLimits(max_seconds=1e-9).max_seconds == 1e-9
    with pytest.raises(ValueError, match="max_seconds"):
        MediaLimits(max_seconds=0)


def test_error_kinds_are_the_documented_ones():
    assert set(ERROR_KINDS) == set(doc_table("## Error kinds (`classifiers.media.ERROR_KINDS`)"))


def test_the_decode_budget_counts_frames_and_pixels_up_to_the_cap_inclusive():
    from classifiers.media.limits import Deadline

    budget = Deadline(MediaLimits(max_decoded_frames=3, max_decoded_pixels=300))
    assert (budget.frames, budget.pixels) == (0, 0)
    assert budget.affords(3, 300) and not budget.affords(4, 300) and not budget.affords(3, 301)
    budget.spend(100)            # one frame by default
    budget.spend(100, frames=1)
    assert (budget.frames, budget.pixels) == (2, 200)
    assert budget.affords(1, 100)
    assert not budget.affords(2, 100) and not budget.affords(1, 101)


def test_wall_time_runs_out_exactly_at_max_seconds(monkeypatch):
    """A hand-moved clock: the deadline is expired at ``max_seconds``, not a moment before."""
    from classifiers.media import limits as module

    now = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    deadline = module.Deadline(MediaLimits(max_seconds=2.0))
    now[0] += 1.5
    assert not deadline.expired() and deadline.remaining == 0.5
    now[0] += 0.5
    assert deadline.expired()


def test_results_and_errors_have_their_documented_shape():
    import dataclasses

    from PIL import Image

    from classifiers.media.limits import DecodedMedia, Frame

    empty = DecodedMedia("still")
    assert (empty.frames, empty.error_kind, empty.error_message, empty.duration) == ([], None, None, None)
    assert not empty.partial
    assert DecodedMedia("video", error_kind="frame-limit", error_message="budget").partial
    assert Frame(Image.new("RGB", (1, 1)), 0).time is None
    error = MediaError("too-large", "2 bytes exceed max_bytes 1")
    assert str(error) == "too-large: 2 bytes exceed max_bytes 1" and error.kind == "too-large"
    for value, field in ((MediaLimits(), "max_bytes"), (empty, "media_type"),
                         (Frame(Image.new("RGB", (1, 1)), 0), "index")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)
