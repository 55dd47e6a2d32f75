"""``python -m bot review publish|harvest``: one step of the review loop by hand.

``bot.cli`` joins :data:`COMMANDS` here to its own.
"""
from __future__ import annotations

import sys

from bot.commandline import Command, arg
from bot.config import Settings
from bot.exit_codes import EXIT_OK, EXIT_WIKI

__all__ = ["COMMANDS", "review"]


def review(*, settings: Settings, action: str, model_id: str | None = None) -> int:
    """Publish flagged files to the review page, or harvest the verdicts given there."""
    import storage

    from bot.site import open_site

    from . import harvest_verdicts, publish_review

    site = open_site(settings)
    with storage.open_store(settings.database_url, data_dir=settings.data_dir) as store:
        if action == "publish":
            report = publish_review(site, store, settings, model_id=model_id)
        else:
            report = harvest_verdicts(site, store, settings)
    print(report.format())
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    if getattr(report, "halted", None):
        print(f"stopped: {report.halted}", file=sys.stderr)
        return EXIT_WIKI
    return EXIT_OK


COMMANDS = [
    Command("review", review, "publish flagged files to the review page, or harvest verdicts",
            wiki=True, arguments=(
                arg("action", choices=["publish", "harvest"]),
                arg("--model-id", default=None,
                    help="list this model's scores (default: the model that scored last)"))),
]
