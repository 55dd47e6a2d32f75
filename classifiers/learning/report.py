"""An evaluation as files: ROC and precision-recall plots (PNG), a score histogram, report.md, results.json.

Plots use :class:`matplotlib.figure.Figure` directly (the Agg canvas, no pyplot
state, no display), so reports can be written from threads, cron and CI.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from .evaluation import Evaluation, ModelEvaluation, format_threshold, summary

__all__ = ["write_report", "write_and_print", "plot_roc", "plot_pr", "plot_histogram", "roc_figure",
           "pr_figure", "histogram_figure", "pr_steps", "histogram_bins"]

MAX_CATEGORY_ROWS = 40
MAX_EXAMPLES = 10


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


#: how the operating points look on every plot: (label, marker)
CHOSEN_MARKER = ("chosen", "o")
IN_FORCE_MARKER = ("in force", "s")


def _points(ev: ModelEvaluation):
    """The operating points a plot marks: ``(label, marker, point)``, chosen first."""
    for (label, marker), op in ((CHOSEN_MARKER, ev.operating), (IN_FORCE_MARKER, ev.in_force)):
        if op is not None:
            yield label, marker, op


def roc_floor(evaluations: Sequence[ModelEvaluation]) -> float:
    """Left end of the log false-positive axis: half of one safe file's share, so a false
    positive rate of 0 (which a log axis cannot show) sits at the edge and one safe file is visible."""
    negatives = max(int((ev.labels == 0).sum()) for ev in evaluations)
    return 0.5 / max(negatives, 1)


def plot_roc(evaluations: Sequence[ModelEvaluation], path: Path) -> Path:
    roc_figure(evaluations).savefig(path)
    return path


def roc_figure(evaluations: Sequence[ModelEvaluation]):
    """ROC with a log false-positive axis: the bot lives below 1 % of safe uploads flagged."""
    fig, ax = _figure()
    floor = roc_floor(evaluations)
    for ev in evaluations:
        line, = ax.plot(np.maximum(ev.roc.fpr, floor), ev.roc.tpr,
                        label=f"{ev.model} (AUC {ev.auc:.3f})")
        for label, marker, op in _points(ev):
            ax.plot([max(op.fpr, floor)], [op.recall], marker, color=line.get_color(),
                    markerfacecolor="none" if marker == IN_FORCE_MARKER[1] else line.get_color(),
                    label=f"{label}: threshold {format_threshold(op.threshold)}")
    grid = np.geomspace(floor, 1, 50)
    ax.plot(grid, grid, ":", color="grey", linewidth=1)
    ax.set_xscale("log")
    ax.set(xlabel="false positive rate (safe files flagged, log)",
           ylabel="true positive rate (NSFW found)", title="ROC", xlim=(floor, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize="x-small")
    return fig


def pr_steps(ev: ModelEvaluation) -> tuple[np.ndarray, np.ndarray]:
    """``(recall, precision)`` to draw as steps: one point per recall, its best precision.

    Thresholds that add only safe files keep the recall and lower the precision; drawn,
    they are vertical whiskers that no threshold worth choosing sits on. The point
    (recall 0, precision 1) scikit-learn appends stays, so the curve starts at the axis.
    """
    recall, precision = ev.pr.recall, ev.pr.precision
    keep: dict[float, float] = {}
    for r, p in zip(recall.tolist(), precision.tolist()):
        keep[r] = max(p, keep.get(r, 0.0))
    rs = np.array(sorted(keep, reverse=True))
    return rs, np.array([keep[r] for r in rs])


def plot_pr(evaluations: Sequence[ModelEvaluation], path: Path, *, target_precision: float) -> Path:
    pr_figure(evaluations, target_precision=target_precision).savefig(path)
    return path


def pr_figure(evaluations: Sequence[ModelEvaluation], *, target_precision: float):
    fig, ax = _figure()
    for ev in evaluations:
        recall, precision = pr_steps(ev)
        # steps as scikit-learn's PrecisionRecallDisplay draws them (recall decreasing)
        line, = ax.plot(recall, precision, drawstyle="steps-post",
                        label=f"{ev.model} (AP {ev.average_precision:.3f})")
        for label, marker, op in _points(ev):
            if op.precision is not None:
                ax.plot([op.recall], [op.precision], marker, color=line.get_color(),
                        markerfacecolor="none" if marker == IN_FORCE_MARKER[1] else line.get_color(),
                        label=f"{label}: threshold {format_threshold(op.threshold)}")
    ax.axhline(target_precision, linestyle="--", color="grey", linewidth=1, label=f"target {target_precision:g}")
    ax.set(xlabel="recall (NSFW found)", ylabel="precision (review page correct)", title="Precision-recall",
           xlim=(0, 1.01), ylim=(0, 1.01))
    ax.legend(loc="lower left", fontsize="x-small")
    return fig


def histogram_bins(scores: np.ndarray) -> np.ndarray:
    """Log-spaced score bins from the lowest score's decade to 1: a model that scores
    everything near 0 (a fine-tune: 1e-6 .. 1e-3) spreads over many bars, not one."""
    positive = scores[scores > 0]
    low = max(float(positive.min()) if positive.size else 1e-6, 1e-9)
    low = 10.0 ** np.floor(np.log10(low))
    return np.geomspace(min(low, 1e-2), 1.0, 41)


def plot_histogram(evaluations: Sequence[ModelEvaluation], path: Path) -> Path:
    histogram_figure(evaluations).savefig(path)
    return path


def histogram_figure(evaluations: Sequence[ModelEvaluation]):
    """Per model, the scores of each class on a log score axis (file counts on a log axis too)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 2.2 * len(evaluations) + 0.8), dpi=100, layout="constrained")
    axes = fig.subplots(len(evaluations), 1, squeeze=False)[:, 0]
    for ax, ev in zip(axes, evaluations):
        bins = histogram_bins(ev.scores)
        scores = np.clip(ev.scores, bins[0], 1)
        ax.hist(scores[ev.labels == 0], bins=bins, alpha=0.6, label="labelled safe")
        ax.hist(scores[ev.labels == 1], bins=bins, alpha=0.6, label="labelled NSFW")
        for label, style, op in ((CHOSEN_MARKER[0], "--", ev.operating),
                                 (IN_FORCE_MARKER[0], ":", ev.in_force)):
            if op is not None:
                ax.axvline(max(op.threshold, bins[0]), color="black", linestyle=style, linewidth=1,
                           label=f"{label}: threshold {format_threshold(op.threshold)}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set(title=ev.model, xlabel="score P(nsfw), log", ylabel="files")
        ax.legend(fontsize="x-small")
    return fig


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _per_day(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def write_report(evaluation: Evaluation, out: str | Path) -> Path:
    """Write plots, ``report.md``, ``results.json`` and ``scores.csv`` into ``out``; returns report.md's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    evs = evaluation.models
    plot_roc(evs, out / "roc.png")
    plot_pr(evs, out / "pr.png", target_precision=evaluation.target_precision)
    plot_histogram(evs, out / "scores.png")
    _write_scores_csv(evaluation, out / "scores.csv")
    (out / "results.json").write_text(json.dumps(_results(evaluation), indent=2, default=_json_default) + "\n")
    path = out / "report.md"
    path.write_text(_markdown(evaluation), encoding="utf-8")
    return path


def write_and_print(evaluation: Evaluation, out: str | Path) -> Path:
    """:func:`write_report`, then the summary and the report's path on stdout (the commands' ending)."""
    path = write_report(evaluation, out)
    print(summary(evaluation))
    print(f"report: {path}")
    return path


def _markdown(evaluation: Evaluation) -> str:
    evs = evaluation.models
    first = evs[0]
    n, positives = first.labels.size, int(first.labels.sum())
    target = evaluation.target_precision
    lines = [f"# Evaluation: {' vs '.join(ev.model for ev in evs)}", ""]
    lines += [f"- Data: {evaluation.source} - {n} files scored, {positives} labelled NSFW, {n - positives} safe"
              + (f"; {len(evaluation.errors)} could not be scored (listed below)" if evaluation.errors else ""),
              f"- Written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"]
    if evaluation.note:
        lines.append(f"- Note: {evaluation.note}")
    lines += [f"- **Warning**: {w}" for w in evaluation.warnings]
    share_source = "given" if evaluation.prevalence_given else "this set's own: usually far above real uploads"
    lines += [f"- Review volume assumes {evaluation.uploads_per_day:,.0f} uploads/day ({evaluation.uploads_source})"
              f" and an NSFW share among uploads of {first.prevalence:.2%} ({share_source})", ""]
    ks = sorted(first.precision_at)
    lines += ["## Summary", "",
              "| model | AUC | average precision | " + " | ".join(f"P@{k}" for k in ks)
              + f" | threshold for precision {target:g} | recall there | FPR there | review entries/day |",
              "|---" * (7 + len(ks)) + "|"]
    for ev in evs:
        op = ev.operating
        lines.append(f"| {ev.model} | {_fmt(ev.auc)} | {_fmt(ev.average_precision)} | "
                     + " | ".join(_fmt(ev.precision_at[k], 2) for k in ks) + " | "
                     + (f"{format_threshold(op.threshold)} | {op.recall:.3f} | {op.fpr:.4f} | {_per_day(op.per_day)} |" if op
                        else f"not reached on this set | - | - | - |"))
    lines += ["", "![ROC](roc.png) ![Precision-recall](pr.png)", "", "![Score histogram](scores.png)", ""]
    lines += ["## Reading this report", "",
              f"- **Threshold for precision {target:g}**: the lowest threshold at which at least {target:.0%} of the "
              "flagged files in this set are NSFW; lowest, so that it finds the most. The bot flags "
              "`score >= threshold` (`--threshold`, `threshold` in bot.toml or on the config page).",
              "- **Review entries/day** = uploads/day x (NSFW share x recall + (1 - NSFW share) x FPR): the false "
              "positive rate on safe uploads dominates, because safe uploads vastly outnumber NSFW ones.",
              "- **P@k**: the share of NSFW among the k highest-scoring files, i.e. how right the top of a review "
              "page of k entries would be.",
              "- A set built from reviewed files holds mostly files the old model flagged: its curves describe "
              "the high-score region well and the rest poorly. See docs/evaluation.md.", ""]
    lines += ["## Operating points", "", "| model | threshold | flagged | precision | recall | FPR | review entries/day |",
              "|---|---|---|---|---|---|---|"]
    for ev in evs:
        for op in ev.operating_points:
            lines.append(f"| {ev.model} | {format_threshold(op.threshold)} | {op.flagged} | {_fmt(op.precision)} | {op.recall:.3f} "
                         f"| {op.fpr:.4f} | {_per_day(op.per_day)} |")
    lines.append("")
    if any(ev.categories for ev in evs):
        lines += ["## By category", "",
                  "Files count once per category they are in; AUC needs both labels in the category. "
                  "Precision and recall at each model's chosen threshold.", "",
                  "| model | category | files | NSFW | AUC | flagged | precision | recall | safe flagged |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for ev in evs:
            for row in ev.categories[:MAX_CATEGORY_ROWS]:
                lines.append(f"| {ev.model} | {row.category} | {row.files} | {row.nsfw} | {_fmt(row.auc)} | "
                             f"{row.flagged} | {_fmt(row.precision, 2)} | {_fmt(row.recall, 2)} | {row.false_positives} |")
            if len(ev.categories) > MAX_CATEGORY_ROWS:
                lines.append(f"| {ev.model} | ... {len(ev.categories) - MAX_CATEGORY_ROWS} more in results.json | "
                             "| | | | | | |")
        lines.append("")
    lines += ["## Hardest files", ""]
    for ev in evs:
        safe = np.flatnonzero(ev.labels == 0)
        nsfw = np.flatnonzero(ev.labels == 1)
        top_safe = safe[np.argsort(-ev.scores[safe], kind="mergesort")][:MAX_EXAMPLES]
        low_nsfw = nsfw[np.argsort(ev.scores[nsfw], kind="mergesort")][:MAX_EXAMPLES]
        lines.append(f"**{ev.model}** - highest-scoring safe files: "
                     + ", ".join(f"`{evaluation.keys[i]}` {ev.scores[i]:.3f}" for i in top_safe))
        lines.append("")
        lines.append(f"**{ev.model}** - lowest-scoring NSFW files: "
                     + ", ".join(f"`{evaluation.keys[i]}` {ev.scores[i]:.3f}" for i in low_nsfw))
        lines.append("")
    if evaluation.errors:
        lines += ["## Files not scored", ""]
        lines += [f"- `{key}`: {message}" for key, message in sorted(evaluation.errors.items())]
        lines.append("")
    lines += ["Files: `roc.png`, `pr.png`, `scores.png`, `results.json` (all figures), "
              "`scores.csv` (every file's scores).", ""]
    return "\n".join(lines)


def _write_scores_csv(evaluation: Evaluation, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fp:
        writer = csv.writer(fp)
        writer.writerow(["key", "label", "categories", *(ev.model for ev in evaluation.models)])
        for i, key in enumerate(evaluation.keys):
            writer.writerow([key, "nsfw" if evaluation.models[0].labels[i] else "sfw",
                             "|".join(evaluation.categories[i]),
                             *(f"{ev.scores[i]:.6f}" for ev in evaluation.models)])


def _results(evaluation: Evaluation) -> dict:
    return {
        "source": evaluation.source, "target_precision": evaluation.target_precision,
        "uploads_per_day": evaluation.uploads_per_day, "uploads_source": evaluation.uploads_source,
        "errors": evaluation.errors, "warnings": evaluation.warnings,
        "models": [{
            "model": ev.model, "files": int(ev.labels.size), "nsfw": int(ev.labels.sum()),
            "auc": ev.auc, "average_precision": ev.average_precision,
            "precision_at": {str(k): v for k, v in ev.precision_at.items()},
            "threshold": ev.threshold, "operating": ev.operating and asdict(ev.operating),
            "in_force": ev.in_force and asdict(ev.in_force),
            "operating_points": [asdict(op) for op in ev.operating_points],
            "categories": [asdict(row) for row in ev.categories],
        } for ev in evaluation.models],
    }


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
