"""Reports an operator can act on: digits, operating points on the plots, log axes, caveats (issue 15)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from classifiers.learning.evaluation import build_evaluation, format_threshold, summary
from classifiers.learning.report import (histogram_figure, pr_figure, roc_figure, write_report)
from classifiers.learning.train import fine_tune_name

BASE, TUNED = "opennsfw_resnet50_1by2@0123456789ab", "opennsfw_resnet50_1by2-ft-x@abcdef012345"


def _evaluation(n_pos=60, n_neg=400, **extra):
    """A base model scoring across [0, 1] and a fine-tune whose scores all sit below 1e-3."""
    rng = np.random.default_rng(0)
    labels = [1] * n_pos + [0] * n_neg
    base = np.r_[rng.beta(5, 2, n_pos), rng.beta(1.2, 6, n_neg)]
    tuned = np.r_[10 ** rng.uniform(-5.5, -3, n_pos), 10 ** rng.uniform(-7, -4.5, n_neg)]
    return build_evaluation(source="synthetic", keys=[f"f{i}" for i in range(len(labels))],
                            labels=labels, scores_by_model={BASE: base, TUNED: tuned},
                            extra_thresholds=[0.8], in_force=0.8, target_precision=0.9, **extra)


def test_thresholds_keep_their_significant_digits(tmp_path):
    assert format_threshold(6.6e-06) == "6.6e-06" and format_threshold(0.6318) == "0.6318"
    assert format_threshold(0.00661) == "0.00661" and format_threshold(0.6) == "0.6000"
    ev = _evaluation()
    tuned = ev.models[1].threshold
    assert tuned < 1e-4
    shown = format_threshold(tuned)
    assert shown != "0.0000" and float(shown) == pytest.approx(tuned, rel=5e-3)
    report = write_report(ev, tmp_path).read_text()
    assert f"| {shown} |" in report and f"threshold {shown} " in summary(ev)


def test_roc_has_a_log_fpr_axis_and_marks_both_operating_points():
    ev = _evaluation()
    ax = roc_figure(ev.models).axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] == pytest.approx(0.5 / 400)
    base = ev.models[0]
    marks = {line.get_label(): (line.get_marker(), line.get_xdata()[0], line.get_ydata()[0])
             for line in ax.lines if line.get_marker() in ("o", "s")}
    chosen = marks[f"chosen: threshold {format_threshold(base.threshold)}"]
    assert chosen == ("o", pytest.approx(max(base.operating.fpr, 0.5 / 400)),
                      pytest.approx(base.operating.recall))
    assert marks["in force: threshold 0.8000"][0] == "s"


def test_pr_is_drawn_as_steps_without_whiskers_and_marks_the_operating_points():
    ev = _evaluation()
    ax = pr_figure(ev.models, target_precision=0.9).axes[0]
    curves = [line for line in ax.lines if line.get_label().startswith(BASE + " ")]
    (curve,) = curves
    recall = np.asarray(curve.get_xdata())
    assert curve.get_drawstyle() == "steps-post"
    # one point per recall: thresholds that add only safe files no longer draw vertical spikes
    assert len(np.unique(recall)) == len(recall) and np.all(np.diff(recall) < 0)
    labels = [line.get_label() for line in ax.lines]
    assert f"chosen: threshold {format_threshold(ev.models[0].threshold)}" in labels
    assert "in force: threshold 0.8000" in labels


def test_histograms_spread_a_low_scoring_model_on_a_log_axis():
    ev = _evaluation()
    fig = histogram_figure(ev.models)
    tuned_ax = fig.axes[1]
    assert tuned_ax.get_xscale() == "log" and tuned_ax.get_yscale() == "log"
    bars = [p for p in tuned_ax.patches if p.get_height() > 0]
    assert len(bars) >= 10              # the linear 0..1 bins put every file in one bar
    assert tuned_ax.get_xlim()[0] <= ev.models[1].scores.min()


def test_small_sets_and_training_files_are_warned_about(tmp_path):
    small = _evaluation(n_pos=4, n_neg=3)
    assert any("small evaluation set: 4 NSFW and 3 safe" in w for w in small.warnings)
    assert "warning: small evaluation set" in summary(small)
    assert "**Warning**: small evaluation set" in write_report(small, tmp_path / "a").read_text()
    assert not _evaluation().warnings

    sha1s = [f"{i:040x}" for i in range(460)]
    ev = _evaluation(sha1s=sha1s, training_sha1s={TUNED: sha1s[:25] + ["f" * 40], BASE: []})
    (overlap,) = ev.warnings
    assert overlap.startswith(f"{TUNED} was trained on 25 of these 460 files")


def test_a_fine_tune_gets_its_own_name():
    when = time.strptime("2026-11-29 17:30:05", "%Y-%m-%d %H:%M:%S")
    assert fine_tune_name("opennsfw_resnet50_1by2", when) == \
        "opennsfw_resnet50_1by2-ft-20261129-173005"
    assert fine_tune_name("hf-hub:org/model", when) == "org_model-ft-20261129-173005"
    assert fine_tune_name("/tmp/run/best.safetensors", when) == "best-ft-20261129-173005"
