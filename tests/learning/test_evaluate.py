"""``python -m classifiers evaluate``: figures, plots and the report, on synthetic labels."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from classifiers.learning import metrics
from classifiers.cli import main
from classifiers.learning.evaluation import build_evaluation, evaluate_scores
from classifiers.learning.report import write_report


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory):
    """The same architecture with random weights: an "old model" that knows nothing."""
    import timm
    import torch

    from classifiers.models import save_checkpoint

    torch.manual_seed(1)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=2)
    cfg = {**model.pretrained_cfg, "input_size": (3, 64, 64)}
    return save_checkpoint(tmp_path_factory.mktemp("old") / "old.safetensors", model,
                           label_names=["sfw", "nsfw"], pretrained_cfg=cfg)


def _png_ok(path):
    assert path.stat().st_size > 10_000  # axes, curves and legend, not an empty canvas
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width >= 400 and im.height >= 300
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 20


def test_compare_two_models_on_the_same_files(trained, untrained_checkpoint, holdout_folder, tmp_path, capsys):
    result, _ = trained
    out = tmp_path / "report"
    status = main(["evaluate", str(holdout_folder), "--compare", str(untrained_checkpoint), str(result.checkpoint),
                   "--out", str(out), "--runtime", "torch-cpu", "--no-progress", "--uploads-per-day", "10000",
                   "--prevalence", "0.01", "--threshold", "0.73"])  # on no reference list (0.8 is)
    assert status == 0
    report = (out / "report.md").read_text()
    for name in ("roc.png", "pr.png", "scores.png"):
        _png_ok(out / name)
        assert f"({name})" in report
    results = json.loads((out / "results.json").read_text())
    old, new = results["models"]
    assert old["model"] != new["model"] and old["model"] in report and new["model"] in report
    assert old["files"] == new["files"] == 80 and old["nsfw"] == 40
    # the trained model ranks the stripes; the random one (seed 1) ranks far worse (AUC 0.70 here)
    assert new["auc"] > 0.9
    assert old["auc"] < new["auc"] - 0.2

    # every figure of the report follows from the per-file scores it wrote
    with open(out / "scores.csv") as fp:
        rows = list(csv.DictReader(fp))
    labels = np.array([r["label"] == "nsfw" for r in rows])
    scores = np.array([float(r[new["model"]]) for r in rows])
    assert new["auc"] == pytest.approx(metrics.roc_auc(labels, scores), abs=1e-6)
    assert new["average_precision"] == pytest.approx(metrics.average_precision(labels, scores), abs=1e-6)
    # the trained model reaches the default target precision (0.9) at some threshold (0.48 here)
    assert new["threshold"] is not None
    op = new["operating"]
    assert labels[scores >= new["threshold"]].mean() >= 0.9
    assert op["per_day"] == pytest.approx(10000 * (0.01 * op["recall"] + 0.99 * op["fpr"]))
    assert f"{new['threshold']:.4f}" in report
    for evaluated in (old, new):  # --threshold: listed, and marked as the one in force
        assert 0.73 in [p["threshold"] for p in evaluated["operating_points"]]
        assert evaluated["in_force"]["threshold"] == 0.73
    # the manifest's categories give a breakdown
    assert {c["category"] for c in new["categories"]} == {"Stripes", "Even", "Odd"}
    assert "## By category" in report and "| Even |" in report
    assert "AUC" in capsys.readouterr().out


def test_compare_leaves_out_of_both_models_a_file_one_of_them_failed(
        trained, untrained_checkpoint, holdout_folder, tmp_path, monkeypatch):
    """A file only one model could not score (an inference error, out of memory on the bigger
    model) leaves both models' figures: the comparison stays on exactly the same files."""
    from classifiers.learning import evaluate as evaluate_module

    result, _ = trained
    real, calls = evaluate_module.score_files, []

    def first_model_fails_one_file(classifier, paths, **kwargs):
        scores, errors = real(classifier, paths, **kwargs)
        calls.append(classifier.model_id)
        if len(calls) == 1:  # the first model of --compare: its failures must not be forgotten
            scores = scores.copy()
            scores[0] = np.nan
            errors = {**errors, 0: "inference-error: out of memory"}
        return scores, errors

    monkeypatch.setattr(evaluate_module, "score_files", first_model_fails_one_file)
    out = tmp_path / "report"
    assert main(["evaluate", str(holdout_folder), "--compare", str(untrained_checkpoint),
                 str(result.checkpoint), "--out", str(out), "--runtime", "torch-cpu",
                 "--no-progress"]) == 0
    assert len(calls) == 2
    old, new = json.loads((out / "results.json").read_text())["models"]
    assert old["files"] == new["files"] == 79
    with open(out / "scores.csv") as fp:
        rows = list(csv.DictReader(fp))
    assert len(rows) == 79
    assert all(np.isfinite(float(r[old["model"]])) and np.isfinite(float(r[new["model"]])) for r in rows)


def test_unreadable_files_are_listed_not_fatal(trained, holdout_folder, tmp_path):
    import shutil

    result, _ = trained
    folder = tmp_path / "set"
    shutil.copytree(holdout_folder, folder)
    (folder / "nsfw" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (folder / "sfw" / "notes.txt").write_text("not an image")
    out = tmp_path / "report"
    assert main(["evaluate", str(folder), "--model", str(result.checkpoint), "--out", str(out),
                 "--runtime", "torch-cpu", "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results["errors"]) == {"nsfw/broken.png", "sfw/notes.txt"}
    assert results["models"][0]["files"] == 80
    assert "## Files not scored" in (out / "report.md").read_text()


def test_bad_input_is_a_usage_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_evaluate_scores_fixed_example(tmp_path):
    labels = [1, 1, 0, 1, 0, 0, 0, 0]
    scores = [0.95, 0.9, 0.85, 0.6, 0.3, 0.1, 0.05, 0.01]
    categories = [("Art",), ("Art", "Beach"), ("Art",), ("Beach",), ("Beach",), (), (), ()]
    ev = evaluate_scores("m", labels, scores, categories=categories, target_precision=0.75,
                         uploads_per_day=1000, ks=(1, 4, 100))
    assert ev.threshold == 0.6 and ev.operating.recall == 1.0 and ev.operating.fpr == 0.2
    assert ev.operating.per_day == pytest.approx(1000 * (3 / 8 * 1.0 + 5 / 8 * 0.2))
    assert ev.precision_at == {1: 1.0, 4: 0.75}
    art = next(r for r in ev.categories if r.category == "Art")
    assert (art.files, art.nsfw, art.flagged, art.false_positives) == (3, 2, 3, 1)
    assert art.auc == 1.0
    evaluation = build_evaluation(source="fixed", keys=[f"f{i}" for i in range(8)], labels=labels,
                                  scores_by_model={"m": scores}, categories=categories, target_precision=0.75)
    assert evaluation.uploads_per_day == 20_000 and "default" in evaluation.uploads_source
    report = write_report(evaluation, tmp_path).read_text()
    assert "| m | 0.933 | 0.917 | 0.38 | 0.6000 |" in report and "0.6000" in report and "`f2` 0.850" in report
