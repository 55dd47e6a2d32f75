"""A wiki that is not there is exit 5 after a bounded number of tries, in plain words (issue 13)."""
from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.localwiki import free_port
from bot.site import MAX_WIKI_RETRIES

from .conftest import bot_command


def pywikibot_dir(tmp_path, api_url: str, *extra: str):
    directory = tmp_path / "pywikibot"
    directory.mkdir()
    (directory / "user-config.py").write_text("\n".join([
        f"family_files['elsewhere'] = {api_url!r}", "family = 'elsewhere'", "mylang = 'elsewhere'",
        "usernames['elsewhere']['elsewhere'] = 'NsfwBot'", *extra]) + "\n")
    return directory


def run_bot(bot_env, directory, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(bot_command("run", "--data-dir", str(tmp_path / "data")),
                          env={**bot_env, "PYWIKIBOT_DIR": str(directory)}, capture_output=True, text=True,
                          timeout=300)


def test_an_unreachable_wiki_is_exit_5_after_a_bounded_number_of_tries(bot_env, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/w/api.php"  # nobody listens there
    # the operator's user-config asks for pywikibot's 15 tries; the bot keeps it to a few
    directory = pywikibot_dir(tmp_path, url, "max_retries = 15", "retry_wait = 1", "retry_max = 1")
    done = run_bot(bot_env, directory, tmp_path)
    assert done.returncode == 5, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("before retrying") == MAX_WIKI_RETRIES
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith(f"wiki unavailable: {url} did not answer after {MAX_WIKI_RETRIES + 1} tries"), last
    assert not (tmp_path / "data").exists()


class HtmlPage(BaseHTTPRequestHandler):
    """A web server's welcome page where the API should be."""

    def log_message(self, *args):
        pass

    def _page(self):
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _page


@pytest.fixture
def html_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/w/api.php"
    server.shutdown()


def test_an_html_page_where_the_api_should_be_is_named_plainly(bot_env, tmp_path, html_server):
    done = run_bot(bot_env, pywikibot_dir(tmp_path, html_server), tmp_path)
    assert done.returncode == 5, done.stderr
    assert "AutoFamily" not in done.stderr and "Traceback" not in done.stderr
    assert f"{html_server} did not answer as a MediaWiki API" in done.stderr


def test_a_missing_user_config_says_so(bot_env, tmp_path):
    empty = tmp_path / "no-config-here"
    empty.mkdir()
    done = run_bot(bot_env, empty, tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"no pywikibot user-config.py in {empty}" in done.stderr
    assert "wikipedia" not in done.stderr and "Traceback" not in done.stderr
