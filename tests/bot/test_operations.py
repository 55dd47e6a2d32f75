"""Operator-facing conventions of ``python -m bot`` that need no wiki (issue 13)."""
from __future__ import annotations

import subprocess

import pytest

from .conftest import bot_command


def run_bot(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(bot_command(*args), env=env, capture_output=True, text=True, timeout=120)


def test_status_never_creates_a_database(bot_env, tmp_path):
    missing = tmp_path / "typo" / "data"
    done = run_bot(bot_env, "status", "--data-dir", str(missing))
    assert done.returncode == 4
    assert "no database at" in done.stderr and str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()


def test_status_reads_an_existing_database(bot_env, tmp_path):
    import storage

    storage.open_store(None, data_dir=tmp_path).close()
    done = run_bot(bot_env, "status", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr


def test_pywikibots_help_option_prints_the_help(bot_env):
    for argv in (("-help",), ("run", "-help")):
        done = run_bot(bot_env, *argv)
        assert done.returncode == 0, done.stderr
        assert "usage: python -m bot" in done.stdout


@pytest.mark.wiki
def test_backfill_of_a_missing_category_is_a_usage_error(wiki, bot_env, tmp_path):
    done = run_bot(bot_env, "backfill", "--category", "No such category here", "--data-dir", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert "Category:No such category here" in done.stderr and "does not exist" in done.stderr


def test_requeue_puts_given_up_files_back(bot_env, tmp_path):
    import storage
    from storage.records import FileVersionIn

    with storage.open_store(None, data_dir=tmp_path) as store:
        store.add_file_versions([FileVersionIn(page_id=i, title=f"File:{i}.jpg", sha1=f"{i:040x}")
                                 for i in (1, 2)])
        for kind, version in zip(("http-503", "not-found"), store.claim("m@0", worker="w", limit=2)):
            store.record_failure(version.version_id, "m@0", stage="download", kind=kind, message="x",
                                 max_attempts=1, backoff_seconds=0)
        assert store.status("m@0").given_up == 2
    done = run_bot(bot_env, "requeue", "--kind", "http-503", "--model-id", "m@0", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "1 given-up files (http-503) of m@0 back in the queue" in done.stdout
    with storage.open_store(None, data_dir=tmp_path) as store:
        assert store.status("m@0").given_up == 1
        assert [v.title for v in store.claim("m@0", worker="w2", limit=5)] == ["File:1.jpg"]
    done = run_bot(bot_env, "requeue", "--data-dir", str(tmp_path / "typo"))
    assert done.returncode == 4 and "no database at" in done.stderr
    assert not (tmp_path / "typo").exists()


def test_every_exit_line_is_short_and_starts_with_the_utc_time():
    import re

    from bot.exit_codes import SUMMARY_WIDTH, summary_line

    line = summary_line("database unavailable: " + "x" * 1000 + "\nsecond line")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ database unavailable: x+\.\.\.$", line)
    assert len(line) <= len("2026-11-29T17:40:00Z ") + SUMMARY_WIDTH


def test_a_held_lock_is_exit_3_with_one_timestamped_line(bot_env, tmp_path):
    import re

    from bot.lock import RunLock

    with RunLock(tmp_path):
        done = run_bot(bot_env, "run", "--data-dir", str(tmp_path))
    assert done.returncode == 3, done.stderr
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ another run holds .*: nothing done$", done.stderr.strip())


@pytest.mark.wiki
def test_pywikibots_log_option_captures_the_bots_own_lines(wiki, bot_env, pywikibot_dir, tmp_path):
    name = f"nsfwbot-{tmp_path.name}.log"
    done = run_bot(bot_env, "run", "--no-review", f"-log:{name}", "--data-dir", str(tmp_path / "data"),
                   "--lookback-hours", "1")
    assert done.returncode == 0, done.stderr
    log = (pywikibot_dir / "logs" / name).read_text()
    assert "run 1 started by" in log  # a line of bot.jobs, next to pywikibot's own
    assert "Logging error" not in done.stderr
