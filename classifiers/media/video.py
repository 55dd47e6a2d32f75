"""Videos with PyAV: N frames spread over the duration, found by keyframe seeks.

For each of N equal spans of the video the sampler seeks backwards to the
keyframe at or before the middle of the span and keeps the first frame the
decoder gives there: one frame decode per sample, instead of decoding the
whole stream. A kept frame therefore lies within one keyframe interval before
its target. When keyframes are sparser than the samples (several targets land
on one keyframe) it then decodes forward from that keyframe once, taking the
first frame at or after each of those targets, as far as the budget allows;
no frame is counted twice in a vote.

Without a usable duration, or when the container cannot seek, it decodes
sequentially under the frame/pixel/time budget and keeps an evenly thinned
pool of frames (so memory stays at ~2N small frames), then spreads N over it.
"""
from __future__ import annotations

import io
import math
import os
from fractions import Fraction

import av

from .animated import spread_indices
from .limits import DecodedMedia, Deadline, Frame, MediaError, MediaLimits
from .orientation import apply_transposes, display_matrix_transposes

__all__ = ["sample_video", "target_times"]

#: consecutive failed targets after which a broken stream is given up
_MAX_FAILED_TARGETS = 3

#: packets read (not decoded) after a seek to the end to find where the content ends
_END_PROBE_PACKETS = 2_000


def target_times(start: float, duration: float, count: int) -> list[float]:
    """The middle of each of ``count`` equal spans: it skips the black first frame and
    the fade-out, and with one frame it is the middle, as Commons' video thumbnails."""
    return [start + (j + 0.5) * duration / count for j in range(count)]


def sample_video(source: str | os.PathLike | bytes, fmt: str, *, frames: int,
                 limits: MediaLimits, decode_size: int, deadline: Deadline) -> DecodedMedia:
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    seconds = max(0.1, deadline.remaining)
    try:
        container = av.open(fp, format=fmt, timeout=(seconds, seconds))
    except av.FFmpegError as e:
        raise _classify(e, "opening the container") from None
    with container:
        if not container.streams.video:
            kinds = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams) or "none"
            raise MediaError("no-video-stream", f"{fmt} container without video (streams: {kinds})")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width * height > limits.max_pixels:
            raise MediaError("decompression-bomb", f"video frames of {width}x{height} exceed "
                             f"max_pixels {limits.max_pixels:,}")
        sampler = _Sampler(container, stream, frames=frames, limits=limits,
                           decode_size=decode_size, deadline=deadline)
        # An MPEG elementary stream has no timestamps to seek by; FFmpeg's
        # duration for it is a guess from the bit rate.
        duration = None if fmt == "mpegvideo" else sampler.duration()
        truncated = None
        if duration is not None:
            duration, truncated = sampler.content_span(duration)
        # A clip with few more frames than samples is cheaper (and exact) to decode whole.
        short = duration is not None and sampler.rate and duration * sampler.rate <= 2 * frames
        if duration is not None and not short:
            result = sampler.by_seeking(duration)
            if result is not None:
                return _with_error(result, truncated)
        return _with_error(sampler.sequentially(duration), truncated)


def _with_error(result: DecodedMedia, error: MediaError | None) -> DecodedMedia:
    """``result`` marked partial by ``error`` unless it already names a cause."""
    if error is None or result.error_kind is not None:
        return result
    return DecodedMedia(result.media_type, result.frames, error.kind, error.message,
                        duration=result.duration)


class _Sampler:
    def __init__(self, container, stream, *, frames: int, limits: MediaLimits,
                 decode_size: int, deadline: Deadline) -> None:
        self.container = container
        self.stream = stream
        self.count = frames
        self.limits = limits
        self.decode_size = decode_size
        self.deadline = deadline
        self.time_base: Fraction = stream.time_base or Fraction(1, 1000)
        # Timestamps need not start at 0 (a WebM cut from a live stream, MPEG-PS/TS
        # clocks, Ogg granules): every time is taken relative to the stream's start.
        self.start_known = True
        if stream.start_time is not None:
            self.start = float(stream.start_time * self.time_base)
        elif container.start_time is not None:
            self.start = container.start_time / av.time_base
        else:
            self.start, self.start_known = 0.0, False  # the first decoded frame tells
        rate = stream.average_rate or stream.guessed_rate
        #: frames per second when plausible (a hostile header may claim 0 or millions)
        self.rate = float(rate) if rate and 0 < float(rate) < 1000 else None
        #: an MPEG elementary stream has no timestamps: FFmpeg guesses them
        self.timestamps = container.format.name != "mpegvideo"
        #: display-matrix turns, read from the first kept frame (like ffmpeg's autorotate,
        #: configured once per stream)
        self.transposes: list | None = None

    def duration(self) -> float | None:
        """Seconds from the stream, the container, or frame count / frame rate; None if unknown."""
        candidates = []
        if self.stream.duration:
            candidates.append(float(self.stream.duration * self.time_base))
        if self.container.duration:
            candidates.append(self.container.duration / av.time_base)
        if self.stream.frames and self.rate:
            candidates.append(self.stream.frames / self.rate)
        shortest = 1.0 / self.rate if self.rate else 1e-3  # a video lasts at least one frame
        for d in candidates:
            if math.isfinite(d) and d >= shortest:
                return d
        return None

    def content_span(self, claimed: float) -> tuple[float, MediaError | None]:
        """Seconds of content from the stream's start to its last frame's end, and
        ``truncated`` when that ends well before what the header claims.

        A header's duration is not the content: FFmpeg's Matroska muxer writes the
        last timestamp (120 s for 20 s of frames stamped from 100 s), and a cut
        file keeps its header. So the sampler seeks to the last keyframe and reads
        the packets after it (demuxing only, no decoding). When that fails the
        header's claim is used, as before.
        """
        start = self.start
        end = None
        try:
            self.container.seek(int((start + claimed) / self.time_base), stream=self.stream,
                                backward=True, any_frame=False)
            for n, packet in enumerate(self.container.demux(self.stream)):
                if n >= _END_PROBE_PACKETS:
                    end = None  # the seek did not reach the end: do not trust a partial read
                    break
                if packet.pts is None:
                    continue
                length = packet.duration * self.time_base if packet.duration else (
                    1.0 / self.rate if self.rate else 0.0)
                end = max(end or 0.0, float(packet.pts * self.time_base + length))
        except av.FFmpegError:
            end = None
        if end is None or end <= start:
            return claimed, None
        content = end - start
        # The claim may count from 0 or from the start; only short of both is a cut file.
        shortest_claim = claimed - start if 0 < start < claimed else claimed
        if content < shortest_claim - max(1.0, 0.05 * claimed):
            return content, MediaError("truncated", f"the frames end at {content:.2f} s of a "
                                       f"claimed {claimed:.2f} s")
        return content, None

    # --- seeking --------------------------------------------------------
    def by_seeking(self, duration: float) -> DecodedMedia | None:
        """Sample by keyframe seeks; None when the container cannot seek at all.

        Pass 1 seeks to each target and keeps the keyframe found there when it is
        new: one decode per sample, and coverage of the whole video comes first.
        Pass 2 handles targets whose keyframe was already used (keyframes sparser
        than targets): per keyframe, one seek and one forward decode through all
        of its targets, as far as the frame/pixel budget allows.
        """
        self.spacing = duration / self.count
        targets = target_times(self.start, duration, self.count)
        kept: dict[int, Frame] = {}
        shared: dict[float, list[int]] = {}  # keyframe time -> targets that landed on it again
        last_key: float | None = None
        error: MediaError | None = None
        failures = 0
        for j, target in enumerate(targets):
            if self.deadline.expired():
                error = self._timeout(len(kept))
                break
            try:
                first = self._seek_first(target)
            except av.FFmpegError as e:
                error = error or _classify(e, f"decoding near {target - self.start:.2f} s")
                failures += 1
                if failures >= _MAX_FAILED_TARGETS:
                    break
                continue
            except _Budget as e:
                error = error or MediaError(e.kind, str(e))
                break
            failures = 0
            if first is None:
                if last_key is None or last_key < self.start + duration - 2 * self.spacing:
                    # the data ends before the duration the header claims
                    error = error or MediaError("truncated", f"no frame at or after "
                                                f"{target - self.start:.2f} s of a claimed {duration:.2f} s")
                break
            frame, t = first
            if last_key is None or t > last_key + 1e-6:
                kept[j] = self._keep(frame, t)
                last_key = t
            else:
                shared.setdefault(t, []).append(j)
        if error is None or error.kind != "timeout":
            error = self._forward(shared, targets, kept, duration) or error
        if not kept and error is not None and error.kind == "decode-error":
            return None  # e.g. a stream that cannot seek: try decoding from the start
        if not kept:
            raise error or MediaError("decode-error", "no frame decoded")
        # Sorted by time, one frame per timestamp: after an imprecise seek (MPEG-PS)
        # a later target can come back with an earlier or an already kept frame.
        frames = list({f.time: f for f in sorted(kept.values(), key=lambda f: f.time)}.values())
        return DecodedMedia("video", frames, error.kind if error else None,
                            error.message if error else None, duration=duration)

    def _forward(self, shared: dict[float, list[int]], targets: list[float],
                 kept: dict[int, Frame], duration: float) -> MediaError | None:
        """Pass 2: the first frame at or after each target that shares a keyframe."""
        pixels = self.stream.codec_context.width * self.stream.codec_context.height or 1
        error = None
        for key, js in sorted(shared.items()):
            cost = math.ceil((targets[js[-1]] - key) * self.rate) + 1 if self.rate else len(js)
            if not self.deadline.affords(cost, cost * pixels):
                error = error or MediaError("frame-limit", f"{len(js)} of {len(targets)} targets "
                                            f"share a keyframe and would need {cost} more decoded frames "
                                            f"(max_decoded_frames {self.limits.max_decoded_frames:,}, "
                                            f"max_decoded_pixels {self.limits.max_decoded_pixels:,})")
                continue
            try:
                self.container.seek(int(key / self.time_base), stream=self.stream,
                                    backward=True, any_frame=False)
                frames = self.container.decode(self.stream)
                pending = list(js)
                while pending:
                    nxt = self._next_timed(frames)
                    if nxt is None:
                        if targets[pending[0]] < self.start + duration - 2 * self.spacing:
                            error = error or MediaError("truncated", f"the stream ends before "
                                                        f"{targets[pending[0]] - self.start:.2f} s of a "
                                                        f"claimed {duration:.2f} s")
                        break
                    frame, t = nxt
                    if t > key + 1e-6 and t >= targets[pending[0]] - 1e-6:
                        kept[pending.pop(0)] = self._keep(frame, t)
                        while pending and targets[pending[0]] <= t + 1e-6:
                            pending.pop(0)  # a frame longer than the target spacing
            except av.FFmpegError as e:
                error = error or _classify(e, f"decoding after the keyframe at {key - self.start:.2f} s")
            except _Budget as e:
                return error or MediaError(e.kind, str(e))
        return error

    def _seek_first(self, target: float):
        """(frame, time) of the first frame after a backward keyframe seek to ``target``.

        Containers without an index (MPEG program streams) seek by bisecting
        bytes and may land past the target or at the end: then it seeks again,
        earlier, a few times.
        """
        seek_at, first = target, None
        for attempt in range(4):
            self.container.seek(int(seek_at / self.time_base), stream=self.stream,
                                backward=True, any_frame=False)
            first = self._next_timed(self.container.decode(self.stream))
            overshoot = first is None or first[1] > target + 1e-6
            if not overshoot or seek_at <= self.start:
                break
            back = 2 * (first[1] - target) if first is not None else 0.0
            seek_at = max(self.start, seek_at - max(back, self.spacing * (attempt + 1)))
        return first

    def _next_timed(self, frames):
        for frame in frames:
            self._spend(frame)
            t = self._time(frame)
            if t is not None:
                return frame, t
        return None

    # --- sequential -----------------------------------------------------
    def sequentially(self, duration: float | None) -> DecodedMedia:
        """Decode from the start under the budget, keeping an evenly thinned pool."""
        try:
            self.container.seek(0)
        except av.FFmpegError:
            pass
        pool: list[tuple[int, object]] = []  # (decoded index, av frame as PIL)
        stride, index, error = 1, 0, None
        try:
            for frame in self.container.decode(self.stream):
                if self.deadline.expired():
                    error = self._timeout(len(pool))
                    break
                self._spend(frame)
                if index == 0 and not self.start_known and self.timestamps:
                    self.start = self._time(frame) or 0.0  # no start_time in the header
                if index % stride == 0:
                    t = self._time(frame) if self.timestamps else None
                    if t is None and self.rate:
                        t = self.start + index / self.rate
                    pool.append((index, self._keep(frame, t, index=index)))
                    if len(pool) >= 2 * self.count:
                        pool, stride = pool[::2], stride * 2
                index += 1
        except _Budget as e:
            error = MediaError(e.kind, f"{e}; sampled the first {index:,} frames")
        except av.FFmpegError as e:
            error = _classify(e, f"decoding frame {index}")
        if not pool:
            raise error or MediaError("decode-error", "the video stream has no frames")
        kept = [pool[i][1] for i in spread_indices(len(pool), self.count)]
        return DecodedMedia("video", kept, error.kind if error else None,
                            error.message if error else None, duration=duration)

    # --- helpers --------------------------------------------------------
    def _spend(self, frame) -> None:
        if self.deadline.expired():
            raise _Budget(f"stopped after {self.deadline.elapsed:.1f} s "
                          f"(max_seconds {self.limits.max_seconds})", kind="timeout")
        pixels = frame.width * frame.height
        if not self.deadline.affords(1, pixels):
            raise _Budget(f"decoded {self.deadline.frames:,} frames / {self.deadline.pixels:,} pixels "
                          f"(max_decoded_frames {self.limits.max_decoded_frames:,}, "
                          f"max_decoded_pixels {self.limits.max_decoded_pixels:,})")
        if pixels > self.limits.max_pixels:
            raise MediaError("decompression-bomb", f"a frame of {frame.width}x{frame.height} "
                             f"exceeds max_pixels {self.limits.max_pixels:,}")
        self.deadline.spend(pixels)

    def _time(self, frame) -> float | None:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            return None
        return float(pts * self.time_base)

    def _keep(self, frame, t: float | None, *, index: int | None = None) -> Frame:
        w, h = frame.width, frame.height
        short = min(w, h)
        if short >= 2 * self.decode_size:
            scale = self.decode_size / short
            w, h = max(1, round(w * scale)), max(1, round(h * scale))
        image = frame.to_image(width=w, height=h)
        # upright as FFmpeg, browsers and TimedMediaHandler show it (orientation.py)
        if self.transposes is None:
            self.transposes = _display_transposes(frame)
        image = apply_transposes(image, self.transposes)
        rel = None if t is None else round(t - self.start, 6)
        return Frame(image, self._index(rel) if index is None else index, rel)

    def _index(self, t: float | None) -> int:
        """Frame number at ``t`` (after seeks the decoder's own count restarts)."""
        if t is None or not self.rate:
            return self.deadline.frames - 1
        return max(0, round(t * self.rate))

    def _timeout(self, have: int) -> MediaError:
        return MediaError("timeout", f"stopped after {self.deadline.elapsed:.1f} s with {have} "
                          f"frames (max_seconds {self.limits.max_seconds})")


class _Budget(Exception):
    """The per-file frame, pixel or time budget ran out."""

    def __init__(self, message: str, kind: str = "frame-limit") -> None:
        super().__init__(message)
        self.kind = kind


def _display_transposes(frame) -> list:
    """The transposes of ``frame``'s display matrix (none without one).

    Read once per file: PyAV's side-data objects refer back to their frame, a
    cycle that keeps each decoded (full-size) frame alive until the garbage
    collector runs; per frame that added ~230 MB of peak RSS on 1080p.
    """
    matrix = None
    for data in frame.side_data:
        if data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            matrix = bytes(data)
    return display_matrix_transposes(matrix)


def _classify(e: Exception, stage: str) -> MediaError:
    if isinstance(e, av.error.EOFError):
        return MediaError("truncated", f"{stage}: {e}")
    if isinstance(e, av.error.ExitError):  # FFmpeg's interrupt callback: our timeout
        return MediaError("timeout", f"{stage}: {e}")
    return MediaError("decode-error", f"{stage}: {e}")
