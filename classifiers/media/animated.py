"""Animated GIF, WebP and PNG with Pillow: N frames spread over the animation.

Pillow seeks these formats sequentially (each frame is drawn over the previous
one), so reaching frame k costs k frame decodes. Sampling therefore walks
forward once, keeps the frames it needs, and stops when the per-file budget of
decoded frames, decoded pixels or wall time runs out; the frames sampled are
then spread over the part it could reach and the result says so
(``error_kind="frame-limit"``).

GIF frame counts, delays and byte spans come from a scan of the block
structure (no LZW decoding), because ``Image.n_frames`` walks the whole file
anyway and gives no delays. Delays of 0 or 1 centisecond are read as 100 ms,
as browsers play them. A GIF frame that covers the canvas without transparency
is a "keyframe": decoding can start there, so GIFs written without
transparency optimisation are sampled without walking every frame.
"""
from __future__ import annotations

import bisect
import io
import mmap
from typing import BinaryIO, NamedTuple

from PIL import Image

from .apng_compositing import apng_frames, compose_apng
from .gif_compositing import compose_gif
from .limits import DecodedMedia, Deadline, Frame, MediaError, MediaLimits
from .stills import classify_pillow_error, reduce_to, to_rgb, to_rgba

__all__ = ["is_animated", "sample_animation", "still_gif", "gif_delays", "gif_timeline", "GifTimeline",
           "spread_indices"]

#: browsers play GIF delays of 0-10 ms at this rate, so that is when the frames show
_MIN_GIF_DELAY = 0.1


class GifTimeline(NamedTuple):
    """What a scan of a GIF's blocks tells without decoding.

    :param delays: seconds each complete frame is shown
    :param ended: the trailer was reached (else the file is cut short)
    :param header_end: offset of the first block after the header and global colour table
    :param spans: byte range of each frame (its extensions, descriptor and data)
    :param independent: frames that cover the whole canvas without transparency,
        so they look the same whatever was drawn before them: decoding can start there
    """

    delays: list[float]
    ended: bool
    header_end: int = 13
    spans: list[tuple[int, int]] = []
    independent: list[bool] = []
    #: per frame: offset of its image descriptor, its box (left, top, width, height), disposal method
    layout: list[tuple[int, tuple[int, int, int, int], int]] = []


def is_animated(im: Image.Image, fp: BinaryIO) -> GifTimeline | bool:
    """Falsy for a still; for an animated GIF its timeline (scanned once, reused)."""
    if im.format == "GIF":
        timeline = _with_buffer(fp, gif_timeline)
        return timeline if len(timeline.delays) > 1 else False
    return bool(getattr(im, "is_animated", False))


def still_gif(im: Image.Image, fp: BinaryIO, *, decode_size: int,
               background: tuple[int, int, int], deadline: Deadline) -> DecodedMedia | None:
    """A one-frame GIF whose frame does not cover the logical screen, as browsers show it.

    Outside the frame's box the canvas is transparent (GIF89a, section 23, as
    browsers read it), so the page shows there; Pillow fills it with colour 0.
    None when the frame covers the screen (or no frame is complete): then
    Pillow's own still decode is right and gives the errors.
    """
    timeline = _with_buffer(fp, gif_timeline)
    if len(timeline.layout) != 1 or timeline.layout[0][1] == (0, 0, *im.size):
        return None
    deadline.spend(im.size[0] * im.size[1])
    try:
        composed = _with_buffer(fp, lambda buf: [
            reduce_to(to_rgb(frame, background), decode_size)
            for _, frame in compose_gif(buf, timeline, 0, [0], before_frame=lambda i: None)])
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        raise classify_pillow_error(e, stage="decoding GIF") from None
    return DecodedMedia("still", [Frame(composed[0], 0, None)])


def _with_buffer(fp: BinaryIO, scan):
    """``scan`` over the whole file without copying it (BytesIO buffer or mmap)."""
    if isinstance(fp, io.BytesIO):
        view = fp.getbuffer()
        try:
            return scan(view)
        finally:
            view.release()
    with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return scan(buf)


def gif_delays(buf) -> list[float]:
    """Display time in seconds of each complete frame of a GIF, from its block structure."""
    return gif_timeline(buf).delays


def gif_timeline(buf) -> GifTimeline:
    """Frame delays and completeness of a GIF, from its block structure (no LZW decoding)."""
    end = len(buf)
    if end < 13:
        return GifTimeline([], False)
    canvas = (0, 0, buf[6] | buf[7] << 8, buf[8] | buf[9] << 8)
    pos = 13
    if buf[10] & 0x80:
        pos += 3 << ((buf[10] & 7) + 1)
    header_end = frame_start = pos
    delays: list[float] = []
    spans: list[tuple[int, int]] = []
    independent: list[bool] = []
    layout: list[tuple[int, tuple[int, int, int, int], int]] = []
    pending, transparent, disposal = 0.0, False, 0

    def timeline(ended: bool) -> GifTimeline:
        return GifTimeline(delays, ended, header_end, spans, independent, layout)

    while pos < end:
        block = buf[pos]
        if block == 0x3B:  # trailer
            return timeline(True)
        if block == 0x21:  # extension: label, then sub-blocks
            if pos + 1 >= end:
                break
            if buf[pos + 1] == 0xF9 and pos + 6 < end:  # graphic control: delay, transparency
                pending = (buf[pos + 4] | buf[pos + 5] << 8) / 100.0
                transparent = bool(buf[pos + 3] & 1)
                disposal = buf[pos + 3] >> 2 & 7
            pos, complete = _skip_sub_blocks(buf, pos + 2, end)
        elif block == 0x2C:  # image descriptor, colour table, LZW data
            if pos + 10 > end:
                break
            box = tuple(buf[pos + k] | buf[pos + k + 1] << 8 for k in (1, 3, 5, 7))
            descriptor = pos
            packed = buf[pos + 9]
            pos += 10 + ((3 << ((packed & 7) + 1)) if packed & 0x80 else 0) + 1
            pos, complete = _skip_sub_blocks(buf, pos, end)
            if complete:
                delays.append(pending if pending > 0.01 else _MIN_GIF_DELAY)
                spans.append((frame_start, pos))
                independent.append(not spans[1:] or (box == canvas and not transparent))
                layout.append((descriptor, box, disposal))
                frame_start = pos
            pending, transparent, disposal = 0.0, False, 0
        else:  # garbage between blocks: Pillow stops reading here too
            break
        if not complete:
            break
    return timeline(False)


def _skip_sub_blocks(buf, pos: int, end: int) -> tuple[int, bool]:
    while pos < end:
        size = buf[pos]
        pos += 1
        if size == 0:
            return pos, True
        pos += size
    return pos, False


def _starts(delays: list[float]) -> list[float]:
    starts, t = [], 0.0
    for d in delays:
        starts.append(t)
        t += d
    return starts


def spread_indices(n: int, count: int) -> list[int]:
    """``count`` indices spread evenly over ``range(n)``: the middle of each of
    ``count`` equal parts (all of them when ``n <= count``)."""
    if n <= count:
        return list(range(n))
    return sorted({min(n - 1, int((j + 0.5) * n / count)) for j in range(count)})


def _spread_by_time(delays: list[float], count: int) -> list[int]:
    """The frames on screen at the middle of each of ``count`` equal spans of play time."""
    starts = _starts(delays)
    t = starts[-1] + delays[-1] if delays else 0.0
    if len(delays) <= count:
        return list(range(len(delays)))
    chosen = {bisect.bisect_right(starts, (j + 0.5) * t / count + 1e-9) - 1 for j in range(count)}
    # A frame shown for long absorbs several targets: top up with evenly spread
    # other frames so brief frames are looked at too and the vote has `count` voices.
    for i in spread_indices(len(delays), count):
        if len(chosen) >= count:
            break
        chosen.add(i)
    return sorted(chosen)


def _sample_gif(im: Image.Image, fp: BinaryIO, timeline: GifTimeline, *, frames: int,
                limits: MediaLimits, decode_size: int, background: tuple[int, int, int],
                deadline: Deadline) -> DecodedMedia:
    """GIF frames spread over play time, decoding from the nearest independent frame.

    A frame that covers the canvas without transparency looks the same whatever
    came before, so decoding may start there: the file's header plus the bytes
    from that frame on form a valid GIF. Frames written with transparency
    optimisation (most encoders) depend on their predecessors; then this is
    Pillow's sequential walk from frame 0.
    """
    delays, n = timeline.delays, len(timeline.delays)
    canvas = im.size[0] * im.size[1]
    starts = _starts(delays)
    anchors, anchor = [], 0  # the latest independent frame at or before each frame
    for i, independent in enumerate(timeline.independent):
        anchor = i if independent else anchor
        anchors.append(anchor)
    budget = min(limits.max_decoded_frames, max(1, limits.max_decoded_pixels // canvas))
    error: MediaError | None = None
    if not timeline.ended:
        error = MediaError("truncated", f"the GIF ends without a trailer after {n:,} complete frames")
    plan = _gif_plan(_spread_by_time(delays, frames), anchors)
    if sum(ts[-1] - j + 1 for j, ts in plan) > budget:
        plan = _gif_plan(_spread_by_time(delays[:budget], frames), anchors)
        error = MediaError("frame-limit", f"{n:,} frames; sampled the first {budget:,} "
                           f"(max_decoded_frames {limits.max_decoded_frames:,}, "
                           f"max_decoded_pixels {limits.max_decoded_pixels:,})")
    out: list[Frame] = []
    k = 0

    def before_frame(i: int) -> None:
        nonlocal k
        k = i
        if deadline.expired():
            raise MediaError("timeout", f"stopped at frame {i} after {deadline.elapsed:.1f} s "
                             f"(max_seconds {limits.max_seconds})")
        deadline.spend(canvas)

    try:
        for j, targets in plan:
            composed = _with_buffer(fp, lambda buf: [
                (i, reduce_to(to_rgb(frame, background), decode_size))
                for i, frame in compose_gif(buf, timeline, j, targets, before_frame=before_frame)])
            out.extend(Frame(image, i, round(starts[i], 6)) for i, image in composed)
    except MediaError as e:
        error = e
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        error = classify_pillow_error(e, stage=f"GIF frame {k}")
    if not out:
        raise error or MediaError("decode-error", "no frame decoded")
    return DecodedMedia("animated", out, error.kind if error else None,
                        error.message if error else None, duration=round(sum(delays), 6))


def _gif_plan(targets: list[int], anchors: list[int]) -> list[tuple[int, list[int]]]:
    """Group sorted targets into runs decoded from one starting frame each: go on
    from the previous target unless an independent frame lies after it."""
    plan: list[tuple[int, list[int]]] = []
    previous = -1
    for k in targets:
        if plan and anchors[k] <= previous:
            plan[-1][1].append(k)
        else:
            plan.append((anchors[k], [k]))
        previous = k
    return plan


def sample_animation(im: Image.Image, fp: BinaryIO, *, frames: int, limits: MediaLimits,
                     decode_size: int, background: tuple[int, int, int], deadline: Deadline,
                     timeline: GifTimeline | None = None) -> DecodedMedia:
    """``frames`` frames of an animated GIF, WebP or APNG (see the module doc)."""
    if im.format == "GIF":
        return _sample_gif(im, fp, timeline or _with_buffer(fp, gif_timeline), frames=frames,
                           limits=limits, decode_size=decode_size, background=background,
                           deadline=deadline)
    if im.format == "PNG":
        return _sample_apng(im, fp, frames=frames, limits=limits, decode_size=decode_size,
                            background=background, deadline=deadline)
    _keep_webp_canvas_alpha(im)
    canvas = im.size[0] * im.size[1]
    n = int(getattr(im, "n_frames", 1))
    reachable = min(n, limits.max_decoded_frames, max(1, limits.max_decoded_pixels // canvas))
    targets = spread_indices(reachable, frames)
    out: list[Frame] = []
    error = _frame_limit(n, reachable, limits)
    i = last = 0
    try:
        for i in targets:  # WebP decodes forward by itself on load()
            if deadline.expired():
                error = _timeout(i, deadline, limits)
                break
            if i:
                im.seek(i)
            im.load()
            deadline.spend(canvas * max(1, i - last), frames=max(1, i - last))
            last = i
            image = reduce_to(to_rgb(im.copy(), background), decode_size)
            out.append(Frame(image, i, round(im.info.get("timestamp", 0) / 1000.0, 6)))
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        error = classify_pillow_error(e, stage=f"{im.format} frame {i}")
        if isinstance(e, EOFError) or "seek" in str(e).lower():
            error = MediaError("truncated", f"{im.format} claims {n:,} frames, frame {i} is missing: {e}")
    if not out:
        raise error or MediaError("decode-error", "no frame decoded")
    return DecodedMedia("animated", out, error.kind if error else None, error.message if error else None)


def _keep_webp_canvas_alpha(im: Image.Image) -> None:
    """Read an animated WebP's canvas with its alpha, also when the file claims none.

    libwebp's WebPAnimDecoder (which browsers and Pillow use) composes every
    frame on an RGBA canvas that starts transparent, and "dispose to
    background" clears a frame's rectangle to transparent (WebP container
    spec, "Animation"). Pillow 13 reads that canvas as ``RGBX`` (the fourth
    byte dropped) when the VP8X header has no alpha flag, so what the page
    shows through becomes black. The decoded bytes are RGBA either way: read
    them as such.
    """
    if getattr(im, "rawmode", None) == "RGBX" and im.mode == "RGB":
        im.rawmode = "RGBA"
        im._mode = "RGBA"  # Pillow sets the tile's raw mode from rawmode on each load()


def _frame_limit(n: int, reachable: int, limits: MediaLimits) -> MediaError | None:
    if reachable >= n:
        return None
    return MediaError("frame-limit", f"{n:,} frames; sampled the first {reachable:,} "
                      f"(max_decoded_frames {limits.max_decoded_frames:,}, "
                      f"max_decoded_pixels {limits.max_decoded_pixels:,})")


def _timeout(i: int, deadline: Deadline, limits: MediaLimits) -> MediaError:
    return MediaError("timeout", f"stopped at frame {i} after {deadline.elapsed:.1f} s "
                      f"(max_seconds {limits.max_seconds})")


def _sample_apng(im: Image.Image, fp: BinaryIO, *, frames: int, limits: MediaLimits,
                 decode_size: int, background: tuple[int, int, int],
                 deadline: Deadline) -> DecodedMedia:
    """APNG frames spread over the animation, composed by apng_compositing.

    Frame numbers and times count animation frames only: a default image
    (``IDAT`` before the first ``fcTL``) is not shown by APNG decoders. The
    ``acTL`` frame count is a claim; the frames counted are those in the file.
    """
    layout = _with_buffer(fp, apng_frames)
    claimed = int(getattr(im, "n_frames", 1)) - (1 if getattr(im, "default_image", False) else 0)
    n = min(len(layout.frames), max(claimed, 1))  # frames past acTL's count are not played
    if not n:
        raise MediaError("truncated", "the APNG holds no complete animation frame")
    canvas = im.size[0] * im.size[1]
    reachable = min(n, limits.max_decoded_frames, max(1, limits.max_decoded_pixels // canvas))
    targets = spread_indices(reachable, frames)
    delays = [f.delay for f in layout.frames[:n]]
    starts = _starts(delays)
    out: list[Frame] = []
    error = _frame_limit(n, reachable, limits)
    if n < claimed and error is None:
        error = MediaError("truncated", f"the header claims {claimed:,} frames, the file holds {n:,}")
    k = 0

    def before_frame(i: int) -> None:
        nonlocal k
        k = i
        if deadline.expired():
            raise _timeout(i, deadline, limits)
        deadline.spend(canvas)

    def walk(buf) -> None:  # keeps the frames composed before an error
        for i, shown in compose_apng(buf, layout, im.size, targets, to_rgba=to_rgba,
                                     before_frame=before_frame):
            out.append(Frame(reduce_to(to_rgb(shown, background), decode_size), i,
                             round(starts[i], 6)))

    try:
        _with_buffer(fp, walk)
    except MediaError as e:
        error = e
    except (OSError, EOFError, SyntaxError, ValueError) as e:
        error = classify_pillow_error(e, stage=f"APNG frame {k}")
    if not out:
        raise error or MediaError("decode-error", "no frame decoded")
    return DecodedMedia("animated", out, error.kind if error else None,
                        error.message if error else None, duration=round(sum(delays), 6))
