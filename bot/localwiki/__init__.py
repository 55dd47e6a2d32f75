"""A throwaway MediaWiki on loopback, built from Debian's ``mediawiki`` package.

It serves the demo (``python -m bot demo``) and the integration tests: a real
wiki, real accounts, real uploads and real edit conflicts, in about 1.5 s and
one directory. Everything happens in that directory; ``/usr/share/mediawiki``
is only read (``MW_CONFIG_FILE`` points PHP at our own LocalSettings.php).

Other people (uploaders, patrollers, vandals) act through :class:`WikiUser`, a
plain ``requests`` session: pywikibot keeps one cookie jar per process, so the
bot is the only pywikibot user in a process.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

__all__ = ["LocalWiki", "WikiUser", "LocalWikiError", "MEDIAWIKI_DIR", "free_port"]

MEDIAWIKI_DIR = Path("/usr/share/mediawiki")

# Accounts every local wiki has (all with PASSWORD): the bot, the admin, and USERS by name -> groups
ADMIN = "Admin"
BOT = "NsfwBot"
BOT_APP = "nsfwbot"
BOT_SECRET = "nsfwbotsecretnsfwbotsecret012345"  # exactly 32 characters, as createBotPassword wants
PASSWORD = "local-wiki-password-1"
USERS: dict[str, tuple[str, ...]] = {
    "Alice": (),                 # uploads files
    "Mallory": (),               # an untrusted editor of the review page
    "Patty": ("patroller",),     # a trusted reviewer
    "Sam": ("sysop",),           # an administrator
    "Auto": ("autopatrolled",),  # a trusted uploader (Commons' autopatrolled), not a reviewer
    "Ivy": ("interface-admin",), # may edit other users' JSON pages (the bot's config)
}

#: PHP of the wiki: LocalSettings.php additions, and the built-in server's router
SETTINGS_PHP = Path(__file__).with_name("settings.php")
ROUTER_PHP = Path(__file__).with_name("router.php")


class LocalWikiError(RuntimeError):
    """The local wiki cannot be installed or started (MediaWiki or PHP missing, port busy...)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it; someone may take it before we do)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WikiUser:
    """Somebody other than the bot, acting on the wiki through a plain requests session."""

    wiki: LocalWiki
    name: str
    session: requests.Session

    def api(self, method: str = "GET", **params) -> dict:
        params.setdefault("format", "json")
        params.setdefault("formatversion", "2")
        files = params.pop("files", None)
        if method == "GET":
            r = self.session.get(self.wiki.api_url, params=params, timeout=60)
        else:
            r = self.session.post(self.wiki.api_url, data=params, files=files, timeout=120)
        r.raise_for_status()
        data = r.json()
        if "error" in data:
            raise RuntimeError(f"{self.name}: API error {data['error'].get('code')}: "
                               f"{data['error'].get('info')}")
        return data

    def token(self, kind: str = "csrf") -> str:
        return self.api(action="query", meta="tokens", type=kind)["query"]["tokens"][f"{kind}token"]

    def upload(self, path: str | os.PathLike, filename: str | None = None, *,
               text: str = "", comment: str = "test upload") -> dict:
        """Upload (or re-upload, which makes a new version) a file; returns the API's ``upload`` answer."""
        path = Path(path)
        filename = filename or path.name
        with open(path, "rb") as f:
            data = self.api("POST", action="upload", filename=filename, text=text,
                            comment=comment, ignorewarnings="1", token=self.token(),
                            files={"file": (filename, f)})
        result = data["upload"]
        if result.get("result") != "Success":
            raise RuntimeError(f"upload of {filename} failed: {result}")
        return result

    def edit(self, title: str, text: str, *, summary: str = "test edit",
             basetimestamp: str | None = None, **extra) -> dict:
        params = dict(action="edit", title=title, text=text, summary=summary,
                      token=self.token(), **extra)
        if basetimestamp:
            params["basetimestamp"] = basetimestamp
        return self.api("POST", **params)["edit"]

    def page_text(self, title: str) -> str | None:
        page = self.api(action="query", prop="revisions", titles=title,
                        rvprop="content|ids|timestamp", rvslots="main")["query"]["pages"][0]
        if page.get("missing"):
            return None
        return page["revisions"][0]["slots"]["main"]["content"]

    def delete(self, title: str, *, reason: str = "test") -> dict:
        return self.api("POST", action="delete", title=title, reason=reason, token=self.token())


class LocalWiki:
    """A MediaWiki installed in ``directory`` and served on ``127.0.0.1:port``.

    :param directory: everything lives here (LocalSettings.php, data/, images/)
    :param port: TCP port on loopback; a free one when None
    """

    bot_name = BOT
    bot_app = BOT_APP
    bot_secret = BOT_SECRET
    password = PASSWORD

    def __init__(self, directory: str | os.PathLike, *, port: int | None = None) -> None:
        self.dir = Path(directory).resolve()
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base_url}/api.php"
        self.index_url = f"{self.base_url}/index.php"
        self._server: subprocess.Popen | None = None

    # -- lifecycle -----------------------------------------------------------
    @classmethod
    def create(cls, directory: str | os.PathLike, *, port: int | None = None) -> LocalWiki:
        """Install (unless already installed), start, and wait for the API to answer."""
        wiki = cls(directory, port=port)
        if not (wiki.dir / "LocalSettings.php").exists():
            wiki.install()
        wiki.start()
        return wiki

    @property
    def settings_file(self) -> Path:
        return self.dir / "LocalSettings.php"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "MW_CONFIG_FILE": str(self.settings_file)}

    def _php(self, *args: str) -> str:
        try:
            done = subprocess.run(["php", *args], cwd=MEDIAWIKI_DIR, env=self._env(),
                                  capture_output=True, text=True, timeout=120)
        except FileNotFoundError as e:
            raise LocalWikiError("php is not installed: run scripts/setup") from e
        if done.returncode:
            raise LocalWikiError(f"php {' '.join(args[:1])} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def install(self) -> None:
        if not (MEDIAWIKI_DIR / "maintenance" / "install.php").exists():
            raise LocalWikiError("Debian's mediawiki package is not installed: run scripts/setup")
        for sub in ("data", "images", "tmp", "cache"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._php("maintenance/install.php", "--dbtype", "sqlite",
                  "--dbpath", str(self.dir / "data"), "--dbname", "testwiki",
                  "--server", self.base_url, "--scriptpath", "", "--confpath", str(self.dir),
                  "--lang", "en", "--skins", "Vector", "--pass", PASSWORD, "TestWiki", ADMIN)
        # settings.php without its "<?php" line: LocalSettings.php is PHP already
        additions = SETTINGS_PHP.read_text().split("\n", 1)[1]
        with open(self.settings_file, "a") as f:
            f.write("\n" + additions)
        shutil.copyfile(ROUTER_PHP, self.dir / "router.php")
        self._php("maintenance/createAndPromote.php", "--bot", BOT, PASSWORD)
        self._php("maintenance/createBotPassword.php", "--appid", BOT_APP, "--grants",
                  "basic,highvolume,editpage,createeditmovepage,uploadfile,uploadeditmovefile,patrol",
                  BOT, BOT_SECRET)
        for name, groups in USERS.items():
            args = ["maintenance/createAndPromote.php"]
            if "sysop" in groups:
                args.append("--sysop")
            custom = [g for g in groups if g != "sysop"]
            if custom:
                args += ["--custom-groups", ",".join(custom)]
            self._php(*args, name, PASSWORD)
        (self.dir / "installed.json").write_text(json.dumps({"users": list(USERS)}))

    def start(self) -> None:
        if self._server and self._server.poll() is None:
            return
        # The server URL is baked into LocalSettings.php: keep it in step with our port.
        text = self.settings_file.read_text()
        text = re.sub(r'\$wgServer = "[^"]*";', f'$wgServer = "{self.base_url}";', text)
        self.settings_file.write_text(text)
        env = self._env()
        env.pop("PHP_CLI_SERVER_WORKERS", None)  # one worker: deterministic, and stop is clean
        with open(self.dir / "server.log", "ab") as log:  # the child keeps its own handle
            self._server = subprocess.Popen(
                ["php", "-d", "upload_max_filesize=100M", "-d", "post_max_size=110M",
                 "-d", "memory_limit=512M", "-S", f"127.0.0.1:{self.port}", "-t", str(MEDIAWIKI_DIR),
                 str(self.dir / "router.php")],
                cwd=MEDIAWIKI_DIR, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise LocalWikiError(f"php server exited; see {self.dir / 'server.log'}")
            try:
                r = requests.get(self.api_url, params={"action": "query", "meta": "siteinfo",
                                                       "format": "json"}, timeout=5)
                if r.ok and "query" in r.json():
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        raise LocalWikiError(f"wiki on port {self.port} did not answer within 30 s")

    def stop(self) -> None:
        if self._server and self._server.poll() is None:
            try:
                os.killpg(self._server.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._server.pid, signal.SIGKILL)
                self._server.wait()
        self._server = None

    def __enter__(self) -> LocalWiki:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- state for tests -----------------------------------------------------
    _restored = ("testwiki.sqlite", "testwiki_jobqueue.sqlite")

    def snapshot(self) -> None:
        """Remember the database as it is now (taken once, after accounts exist)."""
        snap = self.dir / "snapshot"
        shutil.rmtree(snap, ignore_errors=True)
        snap.mkdir()
        for name in self._restored:
            shutil.copy2(self.dir / "data" / name, snap / name)

    def reset(self) -> None:
        """Back to the snapshot: pages, uploads and logs gone; accounts and sessions kept.

        Only the main database is restored: sessions live in the object cache
        (data/wikicache.sqlite), so logged-in clients stay logged in.
        """
        for name in self._restored:
            shutil.copy2(self.dir / "snapshot" / name, self.dir / "data" / name)
        for sub in ("images", "cache"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
            (self.dir / sub).mkdir()

    def run_jobs(self) -> None:
        """Run queued jobs (category counts, link tables): the built-in server runs none itself."""
        self._php("maintenance/runJobs.php", "--quiet")

    # -- people --------------------------------------------------------------
    def user(self, name: str) -> WikiUser:
        """A logged-in requests session for one of :data:`USERS` (or ``Admin``)."""
        session = requests.Session()
        session.headers["User-Agent"] = "commons-nsfw-bot-tests/0.1 (local test wiki) requests"
        user = WikiUser(self, name, session)
        token = user.token("login")
        data = user.api("POST", action="clientlogin", username=name, password=PASSWORD,
                        loginreturnurl=self.base_url, logintoken=token)
        if data["clientlogin"]["status"] != "PASS":
            raise RuntimeError(f"login of {name} failed: {data['clientlogin']}")
        return user

    def anonymous(self) -> WikiUser:
        """Somebody not logged in: edits are recorded under the IP address (127.0.0.1)."""
        session = requests.Session()
        session.headers["User-Agent"] = "commons-nsfw-bot-tests/0.1 (local test wiki) requests"
        return WikiUser(self, "127.0.0.1", session)

    def write_pywikibot_config(self, directory: str | os.PathLike, *, fast: bool = True) -> Path:
        """Write a pywikibot ``user-config.py`` + ``user-password.py`` for the bot account.

        No family file is needed: ``family_files`` points at this wiki's api.php.
        ``fast`` removes pywikibot's write throttle for tests.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"family_files['localwiki'] = {self.api_url!r}",
            "family = 'localwiki'",
            "mylang = 'localwiki'",
            f"usernames['localwiki']['localwiki'] = {BOT!r}",
            "password_file = 'user-password.py'",
            "write_maxlag = 5",
        ]
        if fast:
            lines += ["put_throttle = 0", "minthrottle = 0", "maxthrottle = 1",
                      "max_retries = 1", "retry_wait = 1", "retry_max = 2"]
        (directory / "user-config.py").write_text("\n".join(lines) + "\n")
        password_file = directory / "user-password.py"
        password_file.write_text(f"({BOT!r}, BotPassword({BOT_APP!r}, {BOT_SECRET!r}))\n")
        password_file.chmod(0o600)
        return directory
