"""Any timm model: label meaning from names, checkpoints from training, the hf-hub loader."""
from __future__ import annotations

import json

import numpy as np
import pytest
import timm
import torch
from huggingface_hub import constants as hf_constants

from classifiers import load_classifier
from classifiers.model_card import nsfw_index
from classifiers.models import load_checkpoint, load_model, save_checkpoint


def tiny_model(seed: int = 0, *, arch: str = "test_resnet"):
    """A tiny timm model with a two-class head and random (seeded) weights."""
    torch.manual_seed(seed)
    model = timm.create_model(arch, pretrained=False, num_classes=2).eval()
    with torch.no_grad():  # make the two outputs clearly different
        model.get_classifier().bias.copy_(torch.tensor([1.5, -1.5]))
    return model


@pytest.fixture(scope="session")
def nsfw_first_checkpoint(tmp_path_factory):
    """A checkpoint whose labels put NSFW first, like Marqo's model."""
    path = tmp_path_factory.mktemp("ckpt") / "nsfw-first.safetensors"
    model = tiny_model()
    save_checkpoint(path, model, label_names=["NSFW", "SFW"], pretrained_cfg=model.pretrained_cfg,
                    extra={"epochs": 3})
    return path


def test_nsfw_index_comes_from_label_names():
    assert nsfw_index(["NSFW", "SFW"]) == 0
    assert nsfw_index(("sfw", "nsfw")) == 1
    assert nsfw_index(["safe", "porn"], "porn") == 1
    for labels in (None, [], ["safe", "unsafe"], ["nsfw", "NSFW"]):
        with pytest.raises(ValueError):
            nsfw_index(labels)


def test_label_index_decides_which_output_is_scored(nsfw_first_checkpoint, photos):
    clf = load_classifier(nsfw_first_checkpoint, runtime="torch-cpu")
    assert clf.label_names == ("NSFW", "SFW") and clf.card.nsfw_index == 0
    batch = np.stack([clf.preprocess(image) for _, image in photos[:4]])
    probs = clf.probabilities(batch)
    np.testing.assert_array_equal(clf.predict(batch), probs[:, 0])
    assert not np.allclose(probs[:, 0], probs[:, 1])  # would catch scoring the wrong column


def test_checkpoint_round_trip(nsfw_first_checkpoint, photos):
    model, extra = load_checkpoint(nsfw_first_checkpoint)
    original = tiny_model()
    x = torch.from_numpy(np.stack([load_classifier(nsfw_first_checkpoint, runtime="torch-cpu").preprocess(image)
                                   for _, image in photos[:2]]))
    with torch.no_grad():
        torch.testing.assert_close(model(x), original(x))
    assert extra == {"epochs": 3}
    assert model.pretrained_cfg["label_names"] == ("NSFW", "SFW")
    assert model.pretrained_cfg["architecture"] == "test_resnet"


def test_model_id_names_architecture_and_weights(nsfw_first_checkpoint, tmp_path):
    _, card = load_model(nsfw_first_checkpoint)
    other = tmp_path / "other.safetensors"
    model = tiny_model(seed=1)
    save_checkpoint(other, model, label_names=["NSFW", "SFW"], pretrained_cfg=model.pretrained_cfg)
    _, other_card = load_model(other)
    assert card.model_id.startswith("test_resnet@") and len(card.model_id.split("@")[1]) == 12
    assert card.model_id != other_card.model_id


def test_checkpoints_without_an_nsfw_label_are_refused(tmp_path):
    model = tiny_model()
    with pytest.raises(ValueError, match="NSFW"):
        save_checkpoint(tmp_path / "x.safetensors", model, label_names=["a", "b"],
                        pretrained_cfg=model.pretrained_cfg)
    with pytest.raises(ValueError, match="label names"):
        save_checkpoint(tmp_path / "x.safetensors", model, label_names=["nsfw"], pretrained_cfg=model.pretrained_cfg)
    # two outputs both called nsfw: which one scores is a guess, so it is refused too
    with pytest.raises(ValueError, match="exactly one"):
        save_checkpoint(tmp_path / "x.safetensors", model, label_names=["nsfw", "NSFW"],
                        pretrained_cfg=model.pretrained_cfg)


def test_a_foreign_file_is_not_taken_for_a_checkpoint(tmp_path):
    path = tmp_path / "foreign.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(ValueError, match="checkpoint"):
        load_model(path)


def test_hf_hub_model_from_the_local_hub_cache(tmp_path, monkeypatch, photos):
    """timm's real hub loader, offline: config.json + model.safetensors in a Hugging Face cache layout."""
    model = tiny_model(seed=2, arch="test_vit")
    snapshot = tmp_path / "hub" / "models--local--tiny-nsfw" / "snapshots" / ("0" * 40)
    timm.models.save_for_hf(model, str(snapshot), model_config={"label_names": ["NSFW", "SFW"]},
                            safe_serialization=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    assert json.loads((snapshot / "config.json").read_text())["architecture"] == "test_vit"
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    clf = load_classifier("hf-hub:local/tiny-nsfw", runtime="torch-cpu")
    assert clf.model_id.startswith("hf-hub:local/tiny-nsfw@") and clf.card.nsfw_index == 0
    x = np.stack([clf.preprocess(image) for _, image in photos[:2]])
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).softmax(1)[:, 0].numpy()
    np.testing.assert_allclose(clf.predict(x), expected, atol=1e-5)

    # and through the onnxruntime export
    onnx_clf = load_classifier("hf-hub:local/tiny-nsfw", runtime="onnxruntime")
    np.testing.assert_allclose(onnx_clf.predict(x), expected, atol=1e-4)


def test_a_single_logit_model_scores_its_sigmoid(tmp_path, photos):
    torch.manual_seed(3)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=1).eval()
    path = save_checkpoint(tmp_path / "one-logit.safetensors", model, label_names=["nsfw"],
                           pretrained_cfg=model.pretrained_cfg)
    clfs = [load_classifier(path, runtime=runtime) for runtime in ("torch-cpu", "onnxruntime")]
    x = np.stack([clfs[0].preprocess(image) for _, image in photos[:3]])
    with torch.no_grad():
        expected = torch.sigmoid(model(torch.from_numpy(x)))[:, 0].numpy()
    for clf in clfs:
        np.testing.assert_allclose(clf.predict(x), expected, atol=1e-5)
