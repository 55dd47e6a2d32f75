"""Settings are checked when they load, before the wiki or the database is touched (issue 13)."""
from __future__ import annotations

import subprocess

import pytest

from bot.config import load_settings
from bot.settings_validation import SettingsError

from .conftest import bot_command

BAD_VALUES = [
    # (TOML line, key, what the message says is allowed)
    ('threshold = "0.8"', "threshold", "a number from 0 to 1"),
    ("threshold = -0.5", "threshold", "a number from 0 to 1"),
    ("batch_size = 0", "batch_size", "a whole number from 1"),
    ("download_concurrency = -1", "download_concurrency", "a whole number from 1"),
    ('runtime = "tpu"', "runtime", "one of auto, torch-cuda, torch-cpu, onnxruntime"),
    ("batch_size = true", "batch_size", "a whole number from 1"),
    ('vote_rule = "most"', "vote_rule", "one of majority, any-k"),
    ("max_files_per_run = 0", "max_files_per_run", "a whole number from 1"),
    ('trusted_groups = "sysop"', "trusted_groups", "a list of texts"),
    ("max_edits_per_minute = 0", "max_edits_per_minute", "a number above 0"),
]


@pytest.mark.parametrize("line, key, allowed", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_a_bad_value_in_the_file_names_file_key_value_and_what_is_allowed(tmp_path, line, key, allowed):
    config = tmp_path / "bot.toml"
    config.write_text(f"{line}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    value = line.split("=", 1)[1].strip().strip('"')
    assert message.startswith(f"{config}: {key} = ")
    assert value in message and f"allowed: {allowed}" in message


def test_good_values_load_and_ints_become_floats(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text('threshold = 1\nruntime = "onnxruntime"\nbatch_size = 4\nmax_files_per_run = 20\n'
                      'trusted_groups = ["sysop"]\n')
    settings = load_settings(config)
    assert settings.threshold == 1.0 and isinstance(settings.threshold, float)
    assert settings.batch_size == 4 and settings.trusted_groups == ("sysop",)


def test_unknown_keys_and_broken_toml_name_the_file(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("treshold = 0.9\n")
    with pytest.raises(SettingsError, match=rf"^{config}: unknown setting\(s\): treshold"):
        load_settings(config)
    config.write_text("threshold = \n")
    with pytest.raises(SettingsError, match=rf"^{config}: not valid TOML"):
        load_settings(config)
    with pytest.raises(SettingsError, match="cannot read the settings file"):
        load_settings(tmp_path / "missing.toml")


def test_command_line_values_are_checked_too():
    with pytest.raises(SettingsError, match=r"^command line: batch_size = 0 \(whole number\): allowed"):
        load_settings(None, batch_size=0)


@pytest.mark.parametrize("line", ['threshold = "0.8"', "batch_size = 0", 'runtime = "tpu"'])
def test_run_with_a_bad_value_is_exit_2_before_any_wiki_or_database_work(bot_env, tmp_path, line):
    config = tmp_path / "bot.toml"
    data = tmp_path / "data"
    config.write_text(f'{line}\ndata_dir = "{data}"\n')
    # no user-config.py: reaching pywikibot would end differently (exit 5), and no database may appear
    env = {**bot_env, "PYWIKIBOT_DIR": str(tmp_path / "no-pywikibot")}
    done = subprocess.run(bot_command("run", "--config", str(config), "-simulate"), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "configuration error: " in lines[0] and str(config) in lines[0] and line.split()[0] in lines[0]
    assert not data.exists()


def test_a_bad_command_line_value_is_exit_2_with_one_line(bot_env, tmp_path):
    env = {**bot_env, "PYWIKIBOT_DIR": str(tmp_path / "no-pywikibot")}
    done = subprocess.run(bot_command("run", "--download-concurrency", "-1", "--data-dir", str(tmp_path / "d")),
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "command line: download_concurrency = -1" in done.stderr
    assert not (tmp_path / "d").exists()
