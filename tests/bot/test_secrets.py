"""No password reaches any log, terminal line or file the bot writes (issue 13).

The database URL carries a password on the command line, the way operators
paste it from ``replica.my.cnf``; the bot runs against the local wiki with
pywikibot's ``-log``. Then everything it wrote is searched for the password:
stdout, stderr, the data directory and pywikibot's directory (``logs/``).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.dbs import postgres_server  # noqa: F401 - fixture

from .conftest import bot_command, save_photo

pytestmark = [pytest.mark.wiki, pytest.mark.postgres]

PASSWORD = "Pw-9f3k2-never-logged"  # the local servers trust loopback, so any password connects


def with_password(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(username=parsed.username or "postgres", password=PASSWORD).render_as_string(
        hide_password=False)


def files_containing(root: Path, needle: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            found.append(str(path))
    return found


def test_the_database_password_is_written_nowhere(wiki, bot_env, pywikibot_dir, postgres_server,  # noqa: F811
                                                  tmp_path):
    wiki.user("Alice").upload(save_photo(tmp_path, "coffee"), "Secret test.jpg")
    url = with_password(postgres_server.create_database())
    data = tmp_path / "data"
    runs = [
        # a normal pass, pywikibot's -log on: its command log and log header copy the command line
        ("run", "-log", "--no-review", "--lookback-hours", "1", "--data-dir", str(data),
         "--database-url", url),
        # the same URL given with '=' and to a server that is down: the error names the URL
        ("run", "--no-review", "--data-dir", str(data),
         f"--database-url={make_url(url).set(port=1).render_as_string(hide_password=False)}"),
    ]
    outputs = []
    for args in runs:
        done = subprocess.run(bot_command(*args), env=bot_env, capture_output=True, text=True, timeout=240)
        outputs.append(done)
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert outputs[1].returncode == 4, outputs[1].stderr
    assert (Path(pywikibot_dir) / "logs" / "commands.log").exists()  # the log we search was written
    for done in outputs:
        assert PASSWORD not in done.stdout and PASSWORD not in done.stderr
    assert "***" in (Path(pywikibot_dir) / "logs" / "commands.log").read_text()
    assert files_containing(data, PASSWORD) == []
    assert files_containing(Path(pywikibot_dir), PASSWORD) == []
