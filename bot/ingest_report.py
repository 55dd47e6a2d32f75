"""What one ingest pass saw (upload log, category walk, titles, deletion log): one line for the operator."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IngestReport"]


@dataclass
class IngestReport:
    """What one ingest pass saw."""

    source: str
    entries: int = 0        # log entries / category members read
    added: int = 0          # file versions handed to storage as pending
    duplicates: int = 0     # log entries already seen (overlap window)
    hidden: int = 0         # suppressed log entries (HiddenKeyError)
    missing: int = 0        # files deleted since (nothing to score)
    already_scored: int = 0  # versions the current model has scored (backfill)
    categories: int = 0     # categories walked (backfill)
    done: bool = True       # False when a limit stopped the pass early
    extra: dict = field(default_factory=dict)

    def format(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items()
                 if k not in ("source", "extra", "done") and v]
        return f"{self.source}: " + (", ".join(parts) or "nothing new") + ("" if self.done else " (limit reached)")
