"""Files in, one :class:`FileResult` each out: decoding overlapped with inference, memory bounded.

Decode threads read and sample each file (:func:`classifiers.media.read_frames`)
and preprocess its frames, so only small model inputs wait in memory; the
calling thread batches those frames across files, runs the model, and votes
once all frames of a file are scored. A frame budget caps the frames decoded
but not yet scored, so memory does not grow with the number of inputs however
long the input iterable is. Every failure becomes that item's result.
"""
from __future__ import annotations

import itertools
import math
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Union

import numpy as np

from .classifier import Classifier
from .media import MediaError, MediaLimits, read_frames
from .results import FileResult, FrameScore
from .signatures import FrameSignature, normalise_embedding, pdq_hash
from .voting import VotingPolicy, vote

__all__ = ["ScoringPipeline", "Source"]

Source = Union[str, "os.PathLike[str]", bytes]


@dataclass
class _Decoded:
    """A file whose frames are decoded and preprocessed, waiting for scores."""

    seq: int
    key: str
    media_type: str
    frames: list[tuple[int, float | None]]
    inputs: np.ndarray  # (frames, C, H, W) float32
    budget: int  # frame slots this file holds
    error_kind: str | None = None
    error_message: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    hashes: list[tuple[bytes, int]] = field(default_factory=list)  # PDQ (hash, quality) per frame
    scores: np.ndarray | None = None
    features: list[np.ndarray | None] = field(default_factory=list)
    scored: int = 0


@dataclass
class _Failed:
    result: FileResult
    budget: int


@dataclass
class _Aborted:
    error: BaseException


_DONE = object()


class _FrameBudget:
    """A counting semaphore for frames that can take or give back several slots at once."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._cond = threading.Condition()
        self._closed = False

    def take(self, n: int) -> bool:
        """Wait for ``n`` slots; False when the pipeline is shutting down."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._free >= n)
            if self._closed:
                return False
            self._free -= n
            return True

    def give(self, n: int) -> None:
        if n:
            with self._cond:
                self._free += n
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class ScoringPipeline:
    """Score many files with one classifier.

    :param frames: frames sampled from each animation or video (a still gives one)
    :param limits: decoding caps per file (:class:`classifiers.media.MediaLimits`)
    :param voting: how frame scores become the file's verdict
    :param decode_workers: threads decoding files while the model runs
    :param queue_size: frames decoded but not yet scored, at most (bounds memory:
        one 224x224 frame is 0.6 MB); default twice the batch plus one file per worker
    """

    def __init__(self, classifier: Classifier, *, frames: int = 16, limits: MediaLimits | None = None,
                 voting: VotingPolicy = VotingPolicy(), decode_workers: int = 2,
                 queue_size: int | None = None) -> None:
        if frames < 1 or decode_workers < 1:
            raise ValueError("frames and decode_workers must be >= 1")
        self.classifier = classifier
        self.frames = frames
        self.limits = limits or MediaLimits()
        self.voting = voting
        self.decode_workers = decode_workers
        self.queue_size = max(queue_size or 2 * classifier.batch_size + frames * decode_workers, frames)

    def score(self, items: Iterable[tuple[str, Source]]) -> Iterator[FileResult]:
        """Yield exactly one result per ``(key, path or bytes)`` item, in completion order."""
        ready: queue.Queue = queue.Queue()
        budget = _FrameBudget(self.queue_size)
        feeder = threading.Thread(target=self._feed, args=(items, ready, budget), name="nsfw-feeder",
                                  daemon=True)
        feeder.start()
        try:
            yield from self._consume(ready, budget)
        finally:
            # On an early close the feeder stops at its next item; nobody waits for it.
            budget.close()

    # -- decode side ---------------------------------------------------------

    def _feed(self, items: Iterable[tuple[str, Source]], ready: queue.Queue, budget: _FrameBudget) -> None:
        pool = ThreadPoolExecutor(self.decode_workers, thread_name_prefix="nsfw-decode")
        stopped = False
        try:
            for seq, (key, source) in zip(itertools.count(), items):
                if not budget.take(self.frames):
                    stopped = True  # the consumer went away
                    break
                pool.submit(self._decode, seq, key, source, ready, budget)
        except BaseException as e:  # noqa: BLE001 - the caller's iterable failed: hand it over
            ready.put(_Aborted(e))
        finally:
            pool.shutdown(wait=True, cancel_futures=stopped)
        ready.put(_DONE)

    def _decode(self, seq: int, key: str, source: Source, ready: queue.Queue, budget: _FrameBudget) -> None:
        timings: dict[str, float] = {}
        media_type = None
        try:
            started = time.perf_counter()
            decoded = read_frames(source, frames=self.frames, limits=self.limits,
                                  decode_size=self.classifier.decode_size)
            media_type = decoded.media_type
            timings["decode"] = time.perf_counter() - started
            if not decoded.frames:
                raise MediaError(decoded.error_kind or "decode-error", decoded.error_message or "no frames decoded")
            started = time.perf_counter()
            inputs = np.stack([self.classifier.preprocess(frame.image) for frame in decoded.frames])
            timings["preprocess"] = time.perf_counter() - started
            started = time.perf_counter()
            # the match signature's hash, from the frame decoded for scoring (no second decode)
            hashes = [pdq_hash(frame.image) for frame in decoded.frames]
            timings["signature"] = time.perf_counter() - started
            frames = [(frame.index, frame.time) for frame in decoded.frames]
            used = len(frames)
            budget.give(self.frames - used)
            ready.put(_Decoded(seq, key, media_type, frames, inputs, used, decoded.error_kind,
                               decoded.error_message, timings, hashes))
        except MediaError as e:
            ready.put(_Failed(FileResult.failure(key, e.kind, e.message, media_type=media_type,
                                                 timings=timings), self.frames))
        except Exception as e:  # noqa: BLE001 - one bad file must not end the run
            kind = "preprocess-error" if media_type else "decode-error"
            ready.put(_Failed(FileResult.failure(key, kind, f"{type(e).__name__}: {e}", media_type=media_type,
                                                 timings=timings), self.frames))

    # -- model side ----------------------------------------------------------

    def _consume(self, ready: queue.Queue, budget: _FrameBudget) -> Iterator[FileResult]:
        waiting: deque[tuple[_Decoded, int]] = deque()  # (file, frame position) not yet scored
        done = False
        while not done or waiting:
            message = None
            if not done:
                try:
                    # Block only when there is nothing to score; otherwise score what
                    # is ready now, which keeps the model busy while decoders work.
                    message = ready.get(block=not waiting)
                except queue.Empty:
                    pass
            if message is _DONE:
                done = True
            elif isinstance(message, _Aborted):
                raise message.error
            elif isinstance(message, _Failed):
                budget.give(message.budget)
                yield message.result
            elif isinstance(message, _Decoded):
                message.scores = np.empty(len(message.frames), np.float32)
                message.features = [None] * len(message.frames)
                waiting.extend((message, i) for i in range(len(message.frames)))
            if waiting and (message is None or done or len(waiting) >= self.classifier.batch_size):
                yield from self._score_batch(waiting, budget)

    def _score_batch(self, waiting: deque, budget: _FrameBudget) -> Iterator[FileResult]:
        batch = [waiting.popleft() for _ in range(min(len(waiting), self.classifier.batch_size))]
        started = time.perf_counter()
        try:
            scores, features = self.classifier.predict_with_features(
                np.stack([file.inputs[i] for file, i in batch]))
            error = None
        except Exception as e:  # noqa: BLE001 - fail the files of this batch, keep going
            scores, features, error = None, None, f"{type(e).__name__}: {e}"
        share = (time.perf_counter() - started) / len(batch)
        failed: dict[int, _Decoded] = {}
        for n, (file, i) in enumerate(batch):
            file.timings["inference"] = file.timings.get("inference", 0.0) + share
            if error is not None:
                failed[file.seq] = file
                continue
            file.scores[i] = scores[n]
            if features is not None:
                file.features[i] = features[n]
            file.scored += 1
            if file.scored == len(file.frames):
                budget.give(file.budget)
                yield self._result(file)
        for file in failed.values():
            # drop its other frames still waiting, then report it once
            remaining = [entry for entry in waiting if entry[0] is not file]
            waiting.clear()
            waiting.extend(remaining)
            budget.give(file.budget)
            yield FileResult.failure(file.key, "inference-error", error, media_type=file.media_type,
                                     timings=file.timings)

    def _result(self, file: _Decoded) -> FileResult:
        frames = tuple(FrameScore(index, time_, float(score))
                       for (index, time_), score in zip(file.frames, file.scores))
        verdict = vote(frames, self.voting)
        embeddings: list[np.ndarray | None] = [None] * len(file.frames)
        if file.features and all(f is not None for f in file.features):
            embeddings = list(normalise_embedding(np.stack(file.features)))
        signatures = tuple(FrameSignature(index, pdq, quality, embedding)
                           for (index, _), (pdq, quality), embedding in zip(file.frames, file.hashes, embeddings))
        return FileResult(key=file.key, media_type=file.media_type, score=verdict.score, flagged=verdict.flagged,
                          frames=frames, flagged_share=verdict.flagged_share, evidence=verdict.evidence,
                          error_kind=file.error_kind, error_message=file.error_message,
                          partial=file.error_kind is not None, timings=file.timings, signatures=signatures)
