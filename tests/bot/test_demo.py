"""``python -m bot demo``: the README's main command, end to end in a subprocess."""
from __future__ import annotations

import subprocess

import pytest

import storage

from .conftest import bot_command

pytestmark = [pytest.mark.wiki, pytest.mark.slow]


def test_demo_runs_end_to_end(bot_env, tmp_path, local_wiki):
    done = subprocess.run(bot_command("demo", "--directory", str(tmp_path / "demo")), env=bot_env,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "review page   http://127.0.0.1:" in done.stdout
    assert "WARNING: demo threshold" in done.stdout
    with storage.open_store(None, data_dir=tmp_path / "demo" / "data") as store:
        status = store.status()
    # 6 photos, a GIF, a video, and the first version of the photo overwritten before the
    # run: every version in the upload log is scored (issue 12; it was 8, newest versions only)
    assert status.scored == 9 and status.pending == 0
    assert status.flagged >= 1  # the low demo threshold lists something
    assert list((tmp_path / "demo" / "data" / "thumbs").iterdir())
