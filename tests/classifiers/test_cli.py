"""``python -m classifiers score``: JSON Lines when piped, a table on a terminal, exit status per failures."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from classifiers import cli
from classifiers.commandline import Command, arg, run_commands

from .conftest import photo_path


@pytest.fixture
def folder(tmp_path):
    shutil.copy(photo_path("astronaut.png"), tmp_path / "astronaut.png")
    (tmp_path / "nested").mkdir()
    shutil.copy(photo_path("grace_hopper.jpg"), tmp_path / "nested" / "grace.jpg")
    return tmp_path


def score(args, cache) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "classifiers", "score", "--runtime", "onnxruntime", *args],
                          capture_output=True, text=True, env={**os.environ, "NSFWBOT_CACHE_DIR": str(cache)})


def test_json_lines_for_a_folder(folder, onnx_classifier, classifier_cache):
    done = score([str(folder)], classifier_cache)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(line["path"] for line in lines) == sorted([str(folder / "astronaut.png"),
                                                               str(folder / "nested" / "grace.jpg")])
    for line in lines:
        assert line["label"] == "sfw" and line["flagged"] is False and 0 <= line["score"] < 0.8
        assert line["model_id"] == onnx_classifier.model_id and line["runtime"] == "onnxruntime"
        assert line["media_type"] == "still" and line["frames"] == 1 and line["error"] is None
    assert "2 files, 0 flagged, 0 failed" in done.stderr


def test_a_bad_file_fails_alone_and_sets_the_exit_status(folder, classifier_cache):
    (folder / "broken.jpg").write_bytes(photo_path("grace_hopper.jpg").read_bytes()[:300])
    done = score([str(folder), str(folder / "missing.png"), "--threshold", "0"], classifier_cache)
    assert done.returncode == 1
    lines = {os.path.basename(line["path"]): line for line in map(json.loads, done.stdout.splitlines())}
    assert sorted(lines) == ["astronaut.png", "broken.jpg", "grace.jpg", "missing.png"]
    assert lines["broken.jpg"]["error"] and lines["broken.jpg"]["score"] is None
    assert lines["missing.png"]["error"].startswith("io-error")
    assert lines["astronaut.png"]["label"] == "nsfw"  # threshold 0 flags everything scored


def test_table_on_request(folder, onnx_classifier, capsys):
    assert cli.main(["score", str(folder / "astronaut.png"), "--format", "table", "--runtime", "onnxruntime"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["score", "label", "media", "frames", "path"]
    assert out[1].split()[1:4] == ["sfw", "still", "1"] and out[1].endswith("astronaut.png")


def _needs_a_missing_module(**_) -> int:
    import classifiers.no_such_module  # noqa: F401 - stands for a command whose dependencies are not installed

    return 0


def test_a_missing_command_module_does_not_break_score(folder, monkeypatch, capsys):
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, Command("nothing", _needs_a_missing_module, "broken")])
    assert cli.main(["score", str(folder / "astronaut.png"), "--format", "jsonl", "--runtime", "onnxruntime"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "sfw"
    assert cli.main(["nothing"]) == 2
    assert "python -m classifiers nothing: unavailable" in capsys.readouterr().err


def test_help_returns_0_and_a_usage_error_returns_2(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("score", "evaluate", "train"))
    for command in ("score", "evaluate", "train"):
        assert cli.main([command, "--help"]) == 0
        assert f"usage: python -m classifiers {command}" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["score"]) == 2  # PATH is required
    assert cli.main(["score", "x.jpg", "--rule", "no-such-rule"]) == 2
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_functions_get_keyword_only_arguments_named_after_the_options(capsys):
    seen = {}

    def record(*, paths, the_limit, verbose) -> int:
        seen.update(paths=paths, the_limit=the_limit, verbose=verbose)
        return 3

    commands = [Command("record", record, "records its arguments", arguments=(
        arg("paths", nargs="+"), arg("--the-limit", type=int, default=5), arg("--verbose", action="store_true")))]
    assert run_commands(commands, ["record", "a", "b", "--verbose"], prog="test") == 3
    assert seen == {"paths": ["a", "b"], "the_limit": 5, "verbose": True}


def test_choosing_score_imports_neither_torch_nor_timm():
    code = ("import sys; from classifiers import cli; cli.main(['score', '--help']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'timm', 'torchvision', 'matplotlib')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
