"""The bot side: judged files from a real SQLite store to a labelled folder, a report and a comparison."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import storage
from bot.cli import main as bot_main
from bot.config import Settings
from bot.learning import export_labelled, observed_uploads_per_day
from classifiers.learning.labelled import read_labelled_folder
from storage import FileVersionIn, ScoreIn, VerdictIn

from .synthetic import striped_image

OLD = "oldmodel@0123456789ab"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def bot_data(tmp_path):
    """48 uploads over 47 hours from the upload log; 40 judged by patrollers (thumbnails kept), 2 judged
    without a kept thumbnail, 1 judged only by an untrusted user, 5 never judged."""
    data_dir = tmp_path / "data"
    rng = np.random.default_rng(5)
    with storage.open_store(data_dir=data_dir) as store:
        versions = [FileVersionIn(page_id=100 + i, title=f"File:Upload {i}.png", sha1=f"{i:040x}",
                                  mime="image/png", media_type="BITMAP", uploaded_at=NOW - timedelta(hours=i),
                                  thumb_url=f"https://upload.example/thumb/{i}.png", source="uploadlog",
                                  categories=("Stripes", "Even" if i % 2 == 0 else "Odd"))
                    for i in range(48)]
        ids = store.add_file_versions(versions)
        thumbs = data_dir / "thumbs"
        thumbs.mkdir(parents=True)
        for i, vid in enumerate(ids):
            nsfw = i % 3 == 0
            # the old model is right about most files, but ranks a few safe ones high
            score = float(np.clip((0.75 if nsfw else 0.25) + rng.normal(0, 0.2), 0, 1))
            if i in (1, 2, 4):
                score = 0.9  # safe files the old model flags
            store.record_score(vid, OLD, ScoreIn(flagged=score >= 0.8, score=score, media_type="still",
                                                 frames=((0, None, score),)))
            if i < 43:
                store.record_verdict(VerdictIn(version_id=vid, reviewer="Patroller", verdict="nsfw" if nsfw else "sfw",
                                               revid=1000 + i, timestamp=NOW, trusted=i != 42))
            if i < 40:
                striped_image(rng, horizontal=nsfw).save(thumbs / f"{vid}-{versions[i].sha1[:12]}.png")
    return Settings(data_dir=data_dir, runtime="torch-cpu", model=OLD)


def test_export_labelled(bot_data, tmp_path):
    with storage.open_store(data_dir=bot_data.data_dir) as store:
        result = export_labelled(store, thumbs=bot_data.data_dir / "thumbs", out=tmp_path / "set")
    assert (result.exported, result.nsfw) == (40, 14)
    assert sorted(result.missing) == ["File:Upload 40.png", "File:Upload 41.png"]  # 42 is untrusted
    items = read_labelled_folder(tmp_path / "set")
    assert len(items) == 40 and sum(i.label for i in items) == 14
    first = next(i for i in items if i.extra["title"] == "File:Upload 0.png")
    assert first.label == 1 and first.categories == ("Even", "Stripes")
    assert set(first.extra["scores"]) == {OLD}
    assert first.path.stat().st_nlink == 2  # a hard link to the kept thumbnail, not a copy


def test_observed_upload_rate(bot_data):
    with storage.open_store(data_dir=bot_data.data_dir) as store:
        rate, how = observed_uploads_per_day(store, days=7)
    assert rate == pytest.approx(47 / 47 * 24)  # 48 uploads an hour apart
    assert "48 upload-log entries" in how


def test_evaluate_stored_scores_via_the_cli(bot_data, tmp_path, capsys):
    out = tmp_path / "report"
    # 0.73: the bot's threshold, on no reference list (0.2, 0.5 and 0.8 are listed anyway)
    assert bot_main(["--data-dir", str(bot_data.data_dir), "--model", OLD, "--threshold", "0.73", "evaluate",
                     "--out", str(out), "--target-precision", "0.8"]) == 0
    results = json.loads((out / "results.json").read_text())
    (model,) = results["models"]
    assert model["model"] == OLD and model["files"] == 42 and results["errors"] == {}  # stored scores: no thumbnails needed
    assert results["uploads_per_day"] == pytest.approx(24.0) and "measured" in results["uploads_source"]
    assert 0.73 in [p["threshold"] for p in model["operating_points"]]  # the bot's threshold
    assert model["in_force"]["threshold"] == 0.73                       # marked as the one in force
    assert "report:" in capsys.readouterr().out


def test_compare_stored_model_with_a_new_checkpoint(bot_data, trained, tmp_path):
    result, _ = trained
    out = tmp_path / "report"
    assert bot_main(["--data-dir", str(bot_data.data_dir), "--runtime", "torch-cpu", "evaluate",
                     "--compare", OLD, str(result.checkpoint), "--out", str(out), "--uploads-per-day", "5000"]) == 0
    results = json.loads((out / "results.json").read_text())
    old, new = results["models"]
    # issue 15: a fine-tune has its own name (was "test_resnet@<hash>", the base model's name)
    assert old["model"] == OLD and new["model"].startswith("test_resnet-ft-")
    assert not new["model"].startswith("test_resnet@") and new["model"].count("@") == 1
    # same files for both: the two judged files without a thumbnail have no score from the new model
    assert old["files"] == new["files"] == 40
    assert set(results["errors"]) == {"File:Upload 40.png", "File:Upload 41.png"}
    assert new["auc"] > old["auc"] and results["uploads_per_day"] == 5000
    assert (out / "roc.png").stat().st_size > 10_000


def test_export_command(bot_data, tmp_path, capsys):
    assert bot_main(["--data-dir", str(bot_data.data_dir), "export-labelled", str(tmp_path / "set"),
                     "--untrusted", "--copy"]) == 0
    assert "exported 40 files (14 nsfw, 26 sfw)" in capsys.readouterr().out
    assert (tmp_path / "set" / "manifest.jsonl").read_text().count("\n") == 40


def test_train_command_fine_tunes_on_judged_files(bot_data, trained, tmp_path, capsys):
    result, _ = trained
    out = tmp_path / "training"
    assert bot_main(["--data-dir", str(bot_data.data_dir), "--model", str(result.checkpoint), "train",
                     "--out", str(out), "--epochs", "1", "--workers", "0", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "training on 40 judged files (14 nsfw)" in printed
    assert f"evaluate --compare {result.checkpoint} {out / 'best.safetensors'}" in printed
    assert (out / "best.safetensors").is_file() and (out / "data" / "manifest.jsonl").is_file()


def test_export_untrusted_flag_decides_on_an_untrusted_verdict_with_a_thumbnail(bot_data, tmp_path, capsys):
    """Upload 42 is judged (nsfw) only by an untrusted user; here it has a kept thumbnail,
    so the flag alone decides whether it is exported."""
    with storage.open_store(data_dir=bot_data.data_dir) as store:
        (untrusted,) = [v for v in store.labelled_versions(trusted_only=False) if v.title == "File:Upload 42.png"]
    sha1 = f"{42:040x}"  # as the fixture stored it
    thumb = bot_data.data_dir / "thumbs" / f"{untrusted.version_id}-{sha1[:12]}.png"  # kept as the bot keeps them
    striped_image(np.random.default_rng(42), horizontal=True).save(thumb)

    def export(*flags: str) -> list[dict]:
        out = tmp_path / ("set" + "".join(flags))
        assert bot_main(["--data-dir", str(bot_data.data_dir), "export-labelled", str(out), *flags]) == 0
        return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]

    without = export()
    assert "exported 40 files (14 nsfw, 26 sfw)" in capsys.readouterr().out
    assert "File:Upload 42.png" not in {r["title"] for r in without}
    with_flag = export("--untrusted")
    assert "exported 41 files (15 nsfw, 26 sfw)" in capsys.readouterr().out
    (row,) = [r for r in with_flag if r["title"] == "File:Upload 42.png"]
    assert row["label"] == "nsfw" and row["version_id"] == untrusted.version_id


def test_train_command_passes_every_training_option_on(bot_data, trained, tmp_path, capsys):
    """``bot train --epochs/--lr/--balance/--patience`` reach the run: its ``state.pt`` holds the
    config it trained with, and the optimizer's schedule shows the learning rate and epoch count
    (CosineAnnealingLR: ``base_lrs``, ``T_max``). Values differ from every default."""
    import torch

    result, _ = trained
    out = tmp_path / "options"
    assert bot_main(["--data-dir", str(bot_data.data_dir), "--model", str(result.checkpoint), "train",
                     "--out", str(out), "--epochs", "2", "--lr", "3e-4", "--balance", "loss",
                     "--patience", "7", "--workers", "0", "--no-progress"]) == 0
    state = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
    config = state["config"]
    assert (config["epochs"], config["lr"], config["balance"], config["patience"]) == (2, 3e-4, "loss", 7)
    assert state["epoch"] == 2 and [h["epoch"] for h in state["history"]] == [1, 2]
    assert state["scheduler"]["base_lrs"] == pytest.approx([3e-4] * len(state["scheduler"]["base_lrs"]))
    assert state["scheduler"]["T_max"] == 2
