"""The bot's own house rules, beside tests/test_architecture.py's project-wide ones."""
from __future__ import annotations

from tests.test_architecture import ROOT, import_graph


def test_only_the_demo_command_reaches_the_local_wiki():
    """The local wiki is the demo's and the tests' MediaWiki: no runtime module imports it."""
    graph = import_graph()
    users = {module for module, imported in graph.items()
             if not module.startswith("bot.localwiki") and any(m.startswith("bot.localwiki") for m in imported)}
    assert users == {"bot.cli"}  # lazily, in the ``demo`` command


def test_the_site_knows_nothing_of_the_review_page():
    assert not {m for m in import_graph()["bot.site"] if m.startswith("bot.review")}


def test_commands_are_imported_not_looked_up_by_name():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "bot").rglob("*.py") if "import_module" in p.read_text()]
    assert not offenders
