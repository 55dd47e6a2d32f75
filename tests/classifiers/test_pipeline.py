"""ScoringPipeline: one result per item, errors per item, bounded read-ahead, voting over frames."""
from __future__ import annotations

import io
import itertools
import threading

import numpy as np
import pytest
from PIL import Image

from classifiers import ScoringPipeline
from classifiers.classifier import Classifier
from classifiers.media import read_frames
from classifiers.voting import VotingPolicy, vote

from .conftest import SKIMAGE_DATA, photo_path


def jpeg_bytes(image: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


@pytest.fixture(scope="session")
def coffee_jpeg(photos) -> bytes:
    return jpeg_bytes(dict(photos)["coffee.png"])


def test_one_result_per_item_and_bad_inputs_do_not_stop_the_run(onnx_classifier, coffee_jpeg, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    items = [
        ("astronaut", str(photo_path("astronaut.png"))),
        ("text", str(tmp_path / "notes.txt")),
        ("truncated", coffee_jpeg[:200]),
        ("empty", b""),
        ("missing", str(tmp_path / "missing.jpg")),
        ("coffee", coffee_jpeg),
        ("grace", photo_path("grace_hopper.jpg")),
    ]
    listed = list(ScoringPipeline(onnx_classifier, decode_workers=2).score(items))
    assert sorted(r.key for r in listed) == sorted(key for key, _ in items)  # each once, none twice
    results = {r.key: r for r in listed}
    assert sorted(results) == sorted(key for key, _ in items)
    for key in ("astronaut", "coffee", "grace"):
        r = results[key]
        assert r.ok and r.media_type == "still" and len(r.frames) == 1 and r.evidence == r.frames[0]
        assert r.score == r.frames[0].score and r.flagged is False and r.flagged_share == 0.0
        assert {"decode", "preprocess", "inference"} <= set(r.timings)
    for key in ("text", "truncated", "empty", "missing"):
        r = results[key]
        assert not r.ok and r.score is None and r.error_kind and r.error_message
    assert results["text"].error_kind == "not-media"
    assert results["missing"].error_kind == "io-error"


def test_scores_are_the_classifier_scores_of_the_decoded_frames(onnx_classifier):
    paths = [photo_path(name) for name in ("astronaut.png", "retina.jpg", "rocket.jpg")]
    results = {r.key: r for r in ScoringPipeline(onnx_classifier).score((str(p), p) for p in paths)}
    for path in paths:
        frame = read_frames(path, decode_size=onnx_classifier.decode_size).frames[0]
        expected = onnx_classifier.score_images([frame.image])[0]
        assert results[str(path)].score == pytest.approx(expected, abs=1e-6)


def test_animated_files_vote_over_their_frames(onnx_classifier):
    gif = SKIMAGE_DATA / "no_time_for_that_tiny.gif"
    policy = VotingPolicy(threshold=0.005, rule="majority", quorum=0.5)
    (result,) = ScoringPipeline(onnx_classifier, frames=6, voting=policy).score([("gif", gif)])
    assert result.media_type == "animated" and len(result.frames) == 6
    assert len({f.index for f in result.frames}) == 6
    expected = vote(result.frames, policy)
    assert (result.score, result.flagged, result.flagged_share, result.evidence) == \
        (expected.score, expected.flagged, expected.flagged_share, expected.evidence)


def test_threshold_decides_the_flag(onnx_classifier):
    item = [("astronaut", photo_path("astronaut.png"))]
    (low,) = ScoringPipeline(onnx_classifier, voting=VotingPolicy(threshold=0.0)).score(item)
    (high,) = ScoringPipeline(onnx_classifier, voting=VotingPolicy(threshold=1.0)).score(item)
    assert low.flagged is True and high.flagged is False and low.score == high.score


def test_read_ahead_is_bounded(onnx_classifier, coffee_jpeg):
    """However many items come, only a bounded number are taken before their results are out."""
    taken = itertools.count()
    pulled = [0]

    def items():
        for i in range(60):
            pulled[0] = next(taken) + 1
            yield f"item{i}", coffee_jpeg

    pipeline = ScoringPipeline(onnx_classifier, frames=2, queue_size=8, decode_workers=2)
    ahead = []
    count = 0
    for count, _ in enumerate(pipeline.score(items()), 1):
        ahead.append(pulled[0] - count)
    assert count == 60
    # 8 frame slots; a still holds one once decoded: at most 8 files in flight, plus
    # the one the feeder has taken and waits to find a slot for
    assert max(ahead) <= 8 + 1


def test_stopping_early_does_not_hang(onnx_classifier, coffee_jpeg):
    stream = ScoringPipeline(onnx_classifier, queue_size=4).score(("x", coffee_jpeg) for _ in itertools.count())
    first = next(stream)
    stream.close()
    assert first.ok


def test_a_failing_input_iterable_is_raised(onnx_classifier, coffee_jpeg):
    def items():
        yield "ok", coffee_jpeg
        raise RuntimeError("listing failed")

    with pytest.raises(RuntimeError, match="listing failed"):
        list(ScoringPipeline(onnx_classifier).score(items()))


class _FailingRuntime:
    """A runtime that fails (like a GPU out of memory) on batches holding more than one frame."""

    name = "failing"
    precision = "fp32"
    default_batch_size = 4

    def __init__(self, real) -> None:
        self.real = real
        self.failed = threading.Event()

    def probabilities(self, batch):
        if len(batch) > 1:
            self.failed.set()
            raise MemoryError("out of memory")
        return self.real.probabilities(batch)


def test_inference_errors_fail_only_the_files_of_that_batch(onnx_classifier, coffee_jpeg):
    runtime = _FailingRuntime(onnx_classifier.backend)
    clf = Classifier(onnx_classifier.card, runtime, batch_size=4)
    gif = SKIMAGE_DATA / "no_time_for_that_tiny.gif"

    def items():
        # The gif's three frames form one batch, which fails; the still is handed over only
        # after that failure, so it is scored in a batch of its own (no timing involved).
        yield "gif", gif
        assert runtime.failed.wait(60), "the gif's batch was never scored"
        yield "still", coffee_jpeg

    listed = list(ScoringPipeline(clf, frames=3).score(items()))
    assert sorted(r.key for r in listed) == ["gif", "still"]  # the gif once, not once per frame
    results = {r.key: r for r in listed}
    assert sorted(results) == ["gif", "still"]
    assert results["gif"].error_kind == "inference-error" and "out of memory" in results["gif"].error_message
    assert results["gif"].score is None and not results["gif"].ok
    # a later batch is unaffected by the earlier failure
    still = results["still"]
    assert still.ok and still.error_kind is None and still.media_type == "still"
    assert still.score is not None and len(still.frames) == 1
