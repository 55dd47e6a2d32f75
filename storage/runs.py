"""Runs and status: what each command run did, and what an operator asks of the store."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from .records import RunRecord
from .schema import Run
from .status import StatusReport, build_status, recent_runs
from .types import utcnow
from .values import MESSAGE_MAX

__all__ = ["RunsMixin"]


class RunsMixin:
    """Command runs and the status report. Mixed into :class:`storage.Store`, which
    provides ``_run`` (one transaction, retried whole on a deadlock) and ``url``."""

    url: str
    _run: Callable[..., Any]

    def start_run(self, kind: str, *, worker: str) -> int:
        """Note that a command (``kind``: "score", "ingest", ...) started. :returns: the run id"""
        def work(session: Session) -> int:
            run = Run(kind=kind, worker=worker, started_at=utcnow(), counts={})
            session.add(run)
            session.flush()
            return run.id

        return self._run(work)

    def finish_run(self, run_id: int, *, counts: dict, error: str | None = None) -> None:
        counts = json.loads(json.dumps(counts))
        self._run(lambda s: s.execute(update(Run).where(Run.id == run_id).values(
            finished_at=utcnow(), counts=counts,
            error=None if error is None else error[:MESSAGE_MAX])))

    def runs(self, *, limit: int = 10, kind: str | None = None) -> list[RunRecord]:
        return self._run(lambda s: recent_runs(s, limit, kind), write=False)

    def status(self, model_id: str | None = None, *, runs: int = 5) -> StatusReport:
        """What an operator asks: queue, results, errors, verdicts, cursors, recent runs.

        :param model_id: the model to count for; None: the one that scored last
        """
        return self._run(lambda s: build_status(s, model_id=model_id, runs=runs,
                                                url=self.url, now=utcnow()), write=False)
