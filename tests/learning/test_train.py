"""Fine-tuning a tiny timm model on synthetic labels (stripe orientation stands for "nsfw")."""
from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifiers.learning import metrics
from classifiers.learning.labelled import LabelledItem, read_labelled_folder
from classifiers.learning.data import JpegRoundTrip, class_balance, split_items, train_transform
from classifiers.learning.train import BEST_NAME, TrainConfig, build_model, train
from classifiers.learning.training_state import STATE_NAME

from .conftest import TINY


def test_reaches_high_validation_auc(trained):
    result, out = trained
    assert result.best_auc > 0.95
    assert [h["epoch"] for h in result.history] == list(range(1, result.epochs_run + 1))
    assert result.history[result.best_epoch - 1]["val_auc"] == result.best_auc
    assert (out / BEST_NAME).is_file() and (out / STATE_NAME).is_file() and (out / "history.json").is_file()


def test_checkpoint_loads_and_scores_unseen_files(trained, holdout_folder):
    from classifiers import load_classifier

    result, _ = trained
    clf = load_classifier(str(result.checkpoint), runtime="torch-cpu")
    assert clf.label_names == ("sfw", "nsfw")
    assert clf.card.preprocess.input_size == (3, 64, 64)
    # issue 15: a fine-tune has its own name (was "test_resnet@<hash>", the base model's name)
    assert clf.model_id.startswith("test_resnet-ft-") and clf.model_id.count("@") == 1
    items = read_labelled_folder(holdout_folder)
    scores = clf.score_images([Image.open(i.path) for i in items])
    assert scores.dtype == np.float32 and ((0 <= scores) & (scores <= 1)).all()
    assert metrics.roc_auc([i.label for i in items], scores) > 0.9


def test_resume_continues_the_epoch_count(trained, labelled_folder, tmp_path):
    import torch

    result, out = trained
    for name in (STATE_NAME, BEST_NAME):
        shutil.copy(out / name, tmp_path / name)
    before = torch.load(tmp_path / STATE_NAME, weights_only=True)
    more = train(read_labelled_folder(labelled_folder),
                 config=TrainConfig(epochs=result.epochs_run + 1, **{**TINY, "lr": 1.0}),  # lr: from the state
                 out=tmp_path, resume=tmp_path / STATE_NAME, progress=False)
    after = torch.load(tmp_path / STATE_NAME, weights_only=True)
    assert [h["epoch"] for h in more.history] == list(range(1, result.epochs_run + 2))
    assert more.history[:-1] == result.history
    assert after["epoch"] == before["epoch"] + 1
    assert after["val_keys"] == before["val_keys"] and after["train_keys"] == before["train_keys"]
    assert after["config"]["lr"] == before["config"]["lr"] == TINY["lr"]
    # the optimizer went on from its saved step count instead of starting over
    step = lambda s: next(iter(s["optimizer"]["state"].values()))["step"].item()  # noqa: E731
    assert step(after) > step(before)
    assert more.history[-1]["val_auc"] > 0.9


def test_split_is_stratified_and_reproducible(labelled_folder):
    items = read_labelled_folder(labelled_folder)
    train_part, val_part = split_items(items, val_fraction=0.25, seed=3)
    assert Counter(i.label for i in val_part) == {0: 20, 1: 20}
    assert not {i.key for i in train_part} & {i.key for i in val_part}
    assert split_items(items, val_fraction=0.25, seed=3)[1] == val_part
    with pytest.raises(ValueError, match="at least 2 nsfw"):
        split_items([i for i in items if i.label == 0] + [next(i for i in items if i.label == 1)],
                    val_fraction=0.2, seed=0)


def test_sampler_balances_an_imbalanced_set():
    items = [LabelledItem(path=Path(f"/x/{n}"), label=int(n < 20), key=str(n)) for n in range(200)]
    sampler, weight = class_balance(items, balance="sampler", targets=(0, 1))
    drawn = Counter(items[i].label for i in sampler)
    assert weight is None and len(list(sampler)) == 200
    assert 0.4 < drawn[1] / 200 < 0.6  # 10% of the files, about half of the draws
    sampler, weight = class_balance(items, balance="loss", targets=(1, 0))  # NSFW at output 0
    assert sampler is None
    assert weight.tolist() == pytest.approx([200 / 40, 200 / 360])


def test_opennsfw_trains_on_its_own_caffe_preprocessing():
    model, labels = build_model(TrainConfig(model="opennsfw_resnet50_1by2", pretrained=False))
    assert labels == ("sfw", "nsfw")
    transform = train_transform(model, augment=False)
    assert any(isinstance(t, JpegRoundTrip) and t.quality == 75 for t in transform.transforms)
    x = transform(Image.new("RGB", (300, 260), (128, 128, 128)))
    assert x.shape == (3, 224, 224)
    # 0..255 values minus Caffe's channel means (RGB order: 123, 117, 104), not ImageNet's 0..1 normalisation
    np.testing.assert_allclose(x.mean((1, 2)).numpy(), [5, 11, 24], atol=1.5)


def test_standard_models_use_timm_normalisation():
    model, _ = build_model(TrainConfig(**{**TINY, "input_size": 96}))
    transform = train_transform(model)
    assert not any(isinstance(t, JpegRoundTrip) for t in transform.transforms)
    x = transform(Image.new("RGB", (200, 150), (124, 116, 104)))  # ~ the ImageNet mean
    assert x.shape == (3, 96, 96) and float(x.abs().max()) < 1.0


def test_cli_fine_tunes_a_checkpoint(trained, holdout_folder, tmp_path, capsys):
    """``python -m classifiers train`` from an earlier checkpoint: its head and label names are kept."""
    from classifiers import load_classifier
    from classifiers.cli import main

    result, _ = trained
    out = tmp_path / "again"
    assert main(["train", str(holdout_folder), "--model", str(result.checkpoint), "--out", str(out),
                 "--epochs", "1", "--workers", "0", "--lr", "1e-4", "--no-progress"]) == 0
    assert f"--model {out / BEST_NAME}" in capsys.readouterr().out
    clf = load_classifier(str(out / BEST_NAME), runtime="torch-cpu")
    assert clf.label_names == ("sfw", "nsfw") and clf.card.preprocess.input_size == (3, 64, 64)
    assert clf.model_id != load_classifier(str(result.checkpoint), runtime="torch-cpu").model_id
    # the head is the checkpoint's, moved a little by one epoch at lr 1e-4 (0.3 % here), not a
    # fresh one (16 % away: a new head from the same seed, without the checkpoint's 3 epochs)
    import torch

    from classifiers.models import load_checkpoint

    before, after = (load_checkpoint(p)[0].get_classifier().weight.detach()
                     for p in (result.checkpoint, out / BEST_NAME))
    assert float(torch.linalg.norm(after - before) / torch.linalg.norm(before)) < 0.02
    # its own name, from its starting point (the weights hash alone would differ even under the
    # base's or the architecture's name): "<base>-ft-<UTC date>-<time>", as fine_tune_name says
    assert re.fullmatch(rf"{re.escape(Path(result.checkpoint).stem)}-ft-\d{{8}}-\d{{6}}", clf.card.name), \
        clf.card.name


def test_cli_reports_bad_input(tmp_path, capsys):
    from classifiers.cli import main

    (tmp_path / "sfw").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "sfw" / "a.png")
    assert main(["train", str(tmp_path), "--model", "test_resnet", "--no-pretrained", "--out",
                 str(tmp_path / "out"), "--workers", "0"]) == 2
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_fine_tuning_open_nsfw_keeps_its_head_and_preprocessing(labelled_folder, tmp_path):
    """The default model as a starting point: real weights, its sfw/nsfw head, Caffe preprocessing kept.

    (64 px instead of 224 to keep the test short; the labels are the synthetic stripes.)
    """
    from classifiers import load_classifier

    items = read_labelled_folder(labelled_folder)
    few = [i for i in items if i.label == 0][:6] + [i for i in items if i.label == 1][:6]
    result = train(few, out=tmp_path, progress=False,
                   config=TrainConfig(model="opennsfw_resnet50_1by2", input_size=64, epochs=1, batch_size=8,
                                      workers=0, val_fraction=0.34))
    tuned = load_classifier(str(result.checkpoint), runtime="torch-cpu")
    base = load_classifier("opennsfw_resnet50_1by2", runtime="torch-cpu")
    assert tuned.label_names == base.label_names == ("sfw", "nsfw")
    # issue 15: its own name, not the base's (was "opennsfw_resnet50_1by2@<hash>")
    assert tuned.model_id.startswith("opennsfw_resnet50_1by2-ft-") and tuned.model_id != base.model_id
    assert tuned.model_id.split("@")[0] != base.model_id.split("@")[0]
    assert tuned.card.preprocess.input_size == (3, 64, 64)
    for key in ("crop_mode", "interpolation", "mean", "std", "jpeg_quality", "crop_pct"):
        assert getattr(tuned.card.preprocess, key) == getattr(base.card.preprocess, key)
    assert tuned.card.preprocess.jpeg_quality == 75 and tuned.card.preprocess.crop_mode == "squash"
