"""``python -m bot`` as cron runs it: subprocesses against the local wiki, exit codes, lock, SIGKILL."""
from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

import storage
from bot.lock import RunLock

from .conftest import bot_command, photo

pytestmark = pytest.mark.wiki

MODEL = "opennsfw_resnet50_1by2"


def upload_distinct_photos(wiki, directory, count: int) -> list[str]:
    """``count`` different real photo crops uploaded by Alice; returns their titles."""
    alice = wiki.user("Alice")
    sources = [photo(n) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    titles = []
    for i in range(count):
        image = sources[i % len(sources)]
        w, h = image.size
        crop = image.crop((i * 7, i * 5, w - i * 3, h - i * 4)).resize((320, 240))
        path = directory / f"crop{i}.jpg"
        crop.save(path, quality=85)
        alice.upload(path, f"Crop {i}.jpg")
        titles.append(f"File:Crop {i}.jpg")
    return titles


def run_bot(env, *args, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run(bot_command(*args), env=env, capture_output=True, text=True, timeout=timeout)


#: ``python -m bot`` with one injected fault: after the first score is committed the bot says so on
#: stdout and every later score waits forever, so the test kills it at a known point (no polling).
KILL_POINT = "kill point: one score committed"
_STOP_AFTER_FIRST_SCORE = f"""
import runpy, sys, threading
from storage.store import Store
committed, never = [], threading.Event()
original = Store.record_scores
def record_scores(self, batch, **kw):
    if committed:
        never.wait()
    out = original(self, batch, **kw)
    committed.append(out)
    print({KILL_POINT!r}, flush=True)
    never.wait()
    return out
Store.record_scores = record_scores
sys.argv = ["bot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


def test_sigkill_mid_run_then_rerun_scores_everything_once(wiki, bot_env, tmp_path):
    titles = upload_distinct_photos(wiki, tmp_path, 12)
    data = tmp_path / "data"
    args = ("run", "--data-dir", str(data), "--batch-size", "2", "--download-concurrency", "1",
            "--lookback-hours", "1", "--no-review")
    proc = subprocess.Popen([sys.executable, "-c", _STOP_AFTER_FIRST_SCORE, *args], env=bot_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        for line in proc.stdout:  # a blocking read; EOF if the bot ends first
            output.append(line)
            if line.strip() == KILL_POINT:
                break
        assert proc.poll() is None, "the run ended before it could be killed:\n" + "".join(output)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with storage.open_store(None, data_dir=data) as store:
            before = store.status()
            cursor_before = store.get_cursor("uploadlog")
        assert before.scored == 1 and before.versions == len(titles)

        again = run_bot(bot_env, *args)
        assert again.returncode == 0, again.stdout + again.stderr
        match = re.search(r"scored (\d+) \(", again.stdout)
        assert match, again.stdout
        with storage.open_store(None, data_dir=data) as store:
            after = store.status()
            cursor_after = store.get_cursor("uploadlog")
        # Every upload scored, none twice: the second run scored exactly what was missing.
        assert after.versions == len(titles)
        assert after.scored == len(titles) and after.pending == 0
        assert int(match.group(1)) == len(titles) - 1
        assert (cursor_after["timestamp"], cursor_after["logid"]) >= (cursor_before["timestamp"],
                                                                      cursor_before["logid"])
        assert not (data / "run.lock.leases").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_lock_prevents_overlapping_runs(wiki, bot_env, tmp_path):
    data = tmp_path / "data"
    with RunLock(data):
        done = run_bot(bot_env, "run", "--data-dir", str(data))
    assert done.returncode == 3, done.stderr
    assert "another run holds" in done.stderr
    assert not (data / "bot.sqlite3").exists()  # it did nothing at all


def test_simulate_writes_nothing_to_the_wiki(wiki, bot_env, tmp_path):
    upload_distinct_photos(wiki, tmp_path, 2)
    data = tmp_path / "data"
    config = tmp_path / "bot.toml"
    config.write_text("max_edits_per_minute = 600.0\n")  # the test need not wait between edits
    # Threshold 0 flags everything, so the review page would be written.
    done = run_bot(bot_env, "run", "--simulate", "--threshold", "0", "--data-dir", str(data),
                   "--lookback-hours", "1", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    admin = wiki.user("Sam")
    changes = admin.api(action="query", list="recentchanges", rcuser="NsfwBot", rclimit=50)
    assert changes["query"]["recentchanges"] == []
    with storage.open_store(None, data_dir=data) as store:
        assert store.status().flagged == 2
    # Thumbnails of flagged files are kept for evaluation and training.
    assert len(list((data / "thumbs").iterdir())) == 2
    # The review page was rendered, but to a local file instead of the wiki.
    assert list((data / "simulate").glob("*.wiki")), done.stdout


def test_run_exits_1_when_files_failed_and_0_when_none(wiki, bot_env, tmp_path):
    """Exit 1: done, but some files failed (docs: bot/exit_codes.py). The failure is real:
    a size cap smaller than the thumbnails the wiki serves makes every download fail."""
    upload_distinct_photos(wiki, tmp_path, 2)
    common = ("run", "--lookback-hours", "1", "--no-review")
    capped = tmp_path / "capped.toml"
    capped.write_text("max_image_bytes = 1000\n")
    failing = run_bot(bot_env, *common, "--data-dir", str(tmp_path / "a"), "--config", str(capped))
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert re.search(r"scored 0 \(.*\b2 failed", failing.stdout), failing.stdout

    clean = run_bot(bot_env, *common, "--data-dir", str(tmp_path / "b"))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"scored 2 \(.*\b0 failed", clean.stdout), clean.stdout


def revisions(user, title: str) -> list[int]:
    answer = user.api(action="query", prop="revisions", titles=title, rvprop="ids", rvlimit="max")
    (page,) = answer["query"]["pages"]  # formatversion=2
    return [r["revid"] for r in page.get("revisions", [])]


def test_pywikibots_own_simulate_is_a_dry_run(wiki, bot_env, tmp_path):
    """``-simulate`` (pywikibot's global option, one dash) means what our ``--simulate`` means."""
    upload_distinct_photos(wiki, tmp_path, 2)
    patty = wiki.user("Patty")
    review = "User:CommonsNsfwBot/Review"
    patty.edit(review, "Reviewers, start here. ~~~~")
    before = revisions(patty, review)
    assert len(before) == 1
    data = tmp_path / "data"
    config = tmp_path / "bot.toml"
    config.write_text("max_edits_per_minute = 600.0\n")
    # Threshold 0 flags everything, so a real run would edit the review page.
    done = run_bot(bot_env, "-simulate", "run", "--threshold", "0", "--data-dir", str(data),
                   "--lookback-hours", "1", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert revisions(patty, review) == before  # the page's history is untouched
    changes = patty.api(action="query", list="recentchanges", rcuser="NsfwBot", rclimit=50)
    assert changes["query"]["recentchanges"] == []
    with storage.open_store(None, data_dir=data) as store:
        assert store.status().flagged == 2  # it did score and flag: there was something to write
    # the bot knew it was simulating: the page went to the local file instead
    assert list((data / "simulate").glob("*.wiki")), done.stdout


def test_stop_page_and_exit_codes(wiki, bot_env, tmp_path):
    data = tmp_path / "data"
    patty = wiki.user("Patty")
    patty.edit("User:CommonsNsfwBot/Stop", "Stop please: too many false alarms. ~~~~")
    try:
        stopped = run_bot(bot_env, "run", "--data-dir", str(data))
    finally:
        patty.edit("User:CommonsNsfwBot/Stop", "")
    assert stopped.returncode == 5, stopped.stdout + stopped.stderr
    assert "stop page" in stopped.stderr

    usage = run_bot(bot_env, "backfill", "--data-dir", str(data))  # --category missing
    assert usage.returncode == 2
    bad_config = run_bot(bot_env, "status", "--config", str(tmp_path / "missing.toml"))
    assert bad_config.returncode == 2
    no_database = run_bot(bot_env, "status", "--database-url",
                          "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert no_database.returncode == 4, no_database.stderr
    # a stopped run wrote nothing, and status never creates a database (issue 13): exit 4 until
    # `db upgrade` (or a run) has made one
    assert run_bot(bot_env, "status", "--data-dir", str(data)).returncode == 4
    assert run_bot(bot_env, "db", "upgrade", "--data-dir", str(data)).returncode == 0
    status = run_bot(bot_env, "status", "--data-dir", str(data))
    assert status.returncode == 0 and "pending" in status.stdout


def test_serve_scores_on_schedule_and_stops_on_sigterm(wiki, bot_env, tmp_path):
    upload_distinct_photos(wiki, tmp_path, 2)
    data = tmp_path / "data"
    config = tmp_path / "bot.toml"
    config.write_text("poll_interval_seconds = 1\npublish_interval_seconds = 3600\n"
                      "harvest_interval_seconds = 3600\nlookback_hours = 1.0\n")
    proc = subprocess.Popen(bot_command("serve", "--config", str(config), "--data-dir", str(data)),
                            env=bot_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # the scheduler logs each task's outcome ("poll: ... | scored N (...)"): a blocking read
        output, scored = [], 0
        for line in proc.stdout:  # EOF if serve ends on its own
            output.append(line)
            scored += sum(int(n) for n in re.findall(r"scored (\d+) \(", line))
            if scored >= 2:
                break
        assert scored == 2 and proc.poll() is None, "".join(output)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, "".join(output) + rest
        with storage.open_store(None, data_dir=data) as store:
            assert store.status().scored == 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with RunLock(data):  # released on exit
        pass


def test_serve_simulate_publishes_to_a_file_never_to_the_wiki(wiki, bot_env, tmp_path):
    """`serve --simulate` runs the same publish as `run`: on its schedule, the review page is
    rendered to data/simulate/, and the bot's account makes no edit at all."""
    upload_distinct_photos(wiki, tmp_path, 2)
    data = tmp_path / "data"
    config = tmp_path / "bot.toml"
    config.write_text("poll_interval_seconds = 1\npublish_interval_seconds = 1\n"
                      "harvest_interval_seconds = 3600\nlookback_hours = 1.0\n"
                      "max_edits_per_minute = 600.0\n")
    proc = subprocess.Popen(bot_command("serve", "--simulate", "--threshold", "0", "--config", str(config),
                                        "--data-dir", str(data)),
                            env=bot_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, scored = [], 0
        for line in proc.stdout:  # a blocking read of the scheduler's log: the first publish
            output.append(line)   # outcome (or failure) after both files were scored
            if scored >= 2 and re.search(r"\bpublish\b", line):
                break
            scored += sum(int(n) for n in re.findall(r"scored (\d+) \(", line))
        assert proc.poll() is None, "".join(output)
        assert re.search(r"publish: review page .*: \+2 listed .* simulated to ", output[-1]), "".join(output)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, "".join(output) + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    changes = wiki.user("Sam").api(action="query", list="recentchanges", rcuser="NsfwBot", rclimit=50)
    assert changes["query"]["recentchanges"] == []
    entries = {p.name: p.read_text().count("{{NSFW review entry") for p in (data / "simulate").glob("*.wiki")}
    assert sorted(entries.values())[-1:] == [2] and sum(entries.values()) == 2, entries


def test_blocked_account_stops_the_bot(wiki, bot_env, tmp_path):
    sam = wiki.user("Sam")
    sam.api("POST", action="block", user="NsfwBot", expiry="1 hour", reason="test", token=sam.token())
    try:
        done = run_bot(bot_env, "run", "--data-dir", str(tmp_path / "data"))
    finally:  # leave the shared wiki usable for whoever comes next
        sam.api("POST", action="unblock", user="NsfwBot", token=sam.token())
    assert done.returncode == 5, done.stdout + done.stderr
    assert "blocked" in done.stderr
