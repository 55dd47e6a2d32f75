"""The review page: the bot's only output on the wiki, and where patrollers answer.

``publish_review`` puts flagged, unjudged files on the page (human edits kept);
``harvest_verdicts`` reads patrollers' verdicts back into storage. See
docs/patrollers.md for the page as people see it.
"""
from __future__ import annotations

from .harvester import HarvestReport, harvest_verdicts
from .publisher import PublishReport, publish_review

__all__ = ["publish_review", "harvest_verdicts", "PublishReport", "HarvestReport"]
