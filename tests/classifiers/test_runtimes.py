"""Runtimes agree with each other; onnxruntime scores from its cache without torch or timm."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from classifiers import load_classifier
from classifiers.classifier import SHARED_MODEL_ID, scores_model_id
from classifiers.runtimes import cuda_available, onnx_cache, resolve_runtime

from .conftest import photo_path, stack


@pytest.fixture(scope="session")
def batch(torch_classifier, photos_and_crops) -> np.ndarray:
    return stack(torch_classifier, [image for _, image in photos_and_crops])


@pytest.fixture(scope="session")
def torch_fp32(torch_classifier, batch) -> np.ndarray:
    return torch_classifier.predict(batch)


def test_onnxruntime_matches_torch_fp32(onnx_classifier, torch_classifier, batch, torch_fp32):
    assert onnx_classifier.model_id == torch_classifier.model_id
    assert np.abs(onnx_classifier.predict(batch) - torch_fp32).max() < 1e-4


def test_bf16_autocast_stays_close_to_fp32(batch, torch_fp32):
    # bf16 is slow on CPUs without bf16 units: the 6 highest-scoring inputs, where errors show most
    top = np.argsort(torch_fp32)[-6:]
    bf16 = load_classifier(runtime="torch-cpu", precision="bf16")
    scores = bf16.predict(batch[top])
    assert np.abs(scores - torch_fp32[top]).max() < 0.01
    assert not np.array_equal(scores, torch_fp32[top])  # reduced precision did run


def test_model_id_is_shared_only_by_the_parity_tested_runtimes(onnx_classifier, torch_classifier):
    """The pairs allowed one id are exactly those test_onnxruntime_matches_torch_fp32 compares."""
    assert {(clf.runtime, clf.precision) for clf in (onnx_classifier, torch_classifier)} == SHARED_MODEL_ID
    bf16 = load_classifier(runtime="torch-cpu", precision="bf16")
    assert bf16.card.model_id == onnx_classifier.model_id  # the same weights...
    assert bf16.model_id == f"{onnx_classifier.model_id}@torch-cpu-bf16"  # ...but other scores
    assert scores_model_id("m@0123456789ab", "torch-cuda", "fp32") == "m@0123456789ab@torch-cuda-fp32"
    assert scores_model_id("m@0123456789ab", "onnxruntime", "fp32") == "m@0123456789ab"


def test_batch_size_does_not_change_scores(onnx_classifier, batch):
    one_by_one = np.concatenate([onnx_classifier.predict(batch[i:i + 1]) for i in range(8)])
    np.testing.assert_allclose(one_by_one, onnx_classifier.predict(batch[:8]), atol=1e-6)


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device on this machine")
def test_cuda_bf16_matches_fp32(batch, torch_fp32):  # runs where a GPU is present
    cuda = load_classifier(runtime="torch-cuda", batch_size=256)
    assert cuda.runtime == "torch-cuda"
    assert np.abs(cuda.predict(batch) - torch_fp32).max() < 0.01
    fp32 = load_classifier(runtime="torch-cuda", precision="fp32")
    assert np.abs(fp32.predict(batch) - torch_fp32).max() < 1e-3
    assert cuda.model_id.endswith(f"@torch-cuda-{cuda.precision}") and fp32.model_id.endswith("@torch-cuda-fp32")


def test_auto_picks_cuda_or_onnxruntime():
    assert resolve_runtime("auto") == ("torch-cuda" if cuda_available() else "onnxruntime")
    with pytest.raises(ValueError):
        resolve_runtime("tensorflow")


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """A model other than the default (which runs from its original ONNX file, never exported)."""
    from classifiers.models import save_checkpoint

    from .test_models import tiny_model

    model = tiny_model(seed=3)
    path = tmp_path_factory.mktemp("export") / "tiny.safetensors"
    return save_checkpoint(path, model, label_names=["sfw", "nsfw"], pretrained_cfg=model.pretrained_cfg)


def test_export_is_cached_by_weights_hash(checkpoint):
    exported = load_classifier(checkpoint, runtime="onnxruntime")
    path, card = onnx_cache.lookup(checkpoint)
    assert card.weights_sha256.startswith(exported.model_id.split("@")[1])
    assert card.weights_sha256[:32] in path.name
    before = path.stat().st_mtime_ns
    load_classifier(checkpoint, runtime="onnxruntime")
    assert path.stat().st_mtime_ns == before


def test_onnxruntime_from_cache_imports_neither_torch_nor_timm(onnx_classifier, classifier_cache, photos):
    image = photo_path("retina.jpg")
    code = f"""
import json, sys
from PIL import Image
from classifiers import load_classifier
clf = load_classifier(runtime="auto")
score = float(clf.score_images([Image.open({str(image)!r}).convert("RGB")])[0])
print(json.dumps({{"score": score, "runtime": clf.runtime, "model_id": clf.model_id,
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "timm", "torchvision"))}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NSFWBOT_CACHE_DIR": str(classifier_cache)})
    report = json.loads(out.stdout)
    assert report["heavy"] == []
    assert report["runtime"] == "onnxruntime" and report["model_id"] == onnx_classifier.model_id
    expected = onnx_classifier.score_images([dict(photos)["retina.jpg"]])[0]
    assert abs(report["score"] - expected) < 1e-6
