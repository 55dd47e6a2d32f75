"""Fixtures shared by every test folder: the throwaway MediaWiki and pywikibot's config.

pywikibot reads its configuration once, at import, from ``PYWIKIBOT_DIR``. So
the port of the session's wiki is chosen and the config written *here*, at
conftest import, before any test module can import pywikibot; the wiki itself
starts only when a test asks for it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from bot.localwiki import MEDIAWIKI_DIR, LocalWiki, free_port

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="nsfwbot-tests-"))
_WIKI = LocalWiki(_SESSION_DIR / "wiki", port=free_port())
PYWIKIBOT_DIR = _WIKI.write_pywikibot_config(_SESSION_DIR / "pywikibot")
os.environ["PYWIKIBOT_DIR"] = str(PYWIKIBOT_DIR)
os.environ.setdefault("NSFWBOT_DATA_DIR", str(_SESSION_DIR / "data"))
os.environ.pop("NSFWBOT_CONFIG", None)


@pytest.fixture(scope="session")
def local_wiki() -> LocalWiki:
    """The session's wiki, installed and started on first use, stopped at the end.

    A missing MediaWiki is a failure, not a skip: CI must run these tests.
    """
    if not (MEDIAWIKI_DIR / "maintenance" / "install.php").exists():
        pytest.fail("Debian's mediawiki package is missing: run scripts/setup", pytrace=False)
    wiki = LocalWiki.create(_WIKI.dir, port=_WIKI.port)
    wiki.snapshot()
    yield wiki
    wiki.stop()


@pytest.fixture
def wiki(local_wiki: LocalWiki) -> LocalWiki:
    """The session's wiki, reset to its freshly installed state (accounts kept) for this test."""
    local_wiki.reset()
    return local_wiki


@pytest.fixture(scope="session")
def pywikibot_dir() -> Path:
    """The PYWIKIBOT_DIR every test process (and bot subprocess) uses."""
    return PYWIKIBOT_DIR


def pytest_sessionfinish(session, exitstatus):
    """The session's wiki, pywikibot config and data go with the session (fixtures are torn down by now)."""
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
