"""What the bot does, once: ingest, score, publish, harvest. ``run``, ``serve``, ``backfill``
and ``score`` are these jobs in different orders and schedules.

:class:`Bot` opens what a job needs lazily (the database, the wiki, the
classifier), so ``status`` never touches the wiki and ``run`` fails fast with
the right exit code when one of them is unavailable.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .config import Settings
from .downloads import Downloader
from .pipeline import LeaseJournal, ScoreReport, ScoringLoop, ThumbnailKeeper, build_scoring, worker_name
from .review.safety import BLOCK_CODES
from .site import WikiUnavailable, open_site, stop_reason, user_agent
from .sources import CategoryBackfill, ExplicitTitles, IngestReport, UploadLog

__all__ = ["Bot", "PassReport", "raise_if_blocked"]

log = logging.getLogger(__name__)



def raise_if_blocked(error: BaseException) -> None:
    """Turn pywikibot's "you are blocked" errors into :class:`WikiUnavailable`."""
    from pywikibot.exceptions import APIError

    if isinstance(error, APIError) and error.code in BLOCK_CODES:
        raise WikiUnavailable(f"the bot's account is blocked: {error}") from error


@dataclass
class PassReport:
    """One pass of the bot, summarised in one line."""

    ingest: list[IngestReport] = field(default_factory=list)
    score: ScoreReport | None = None
    review: dict[str, object] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.score.failed if self.score else 0

    def counts(self) -> dict:
        counts = {f"{r.source}.added": r.added for r in self.ingest}
        if self.score:
            counts.update(scored=self.score.scored, flagged=self.score.flagged,
                          errors=self.score.errors, failed=self.score.failed,
                          claimed=self.score.claimed)
        return counts

    def format(self) -> str:
        parts = [r.format() for r in self.ingest]
        if self.score:
            parts.append(self.score.format())
        parts += [f"{name}: {_short(value)}" for name, value in self.review.items()]
        return " | ".join(parts) or "nothing to do"


def _short(report) -> str:
    """A report's own ``format()``, else its non-empty fields."""
    import dataclasses

    fmt = getattr(report, "format", None)
    if callable(fmt):
        return fmt()
    if dataclasses.is_dataclass(report):
        shown = {k: v for k, v in vars(report).items() if v not in (None, 0, [], {}, "", False)}
        return ", ".join(f"{k}={v}" for k, v in shown.items())
    return str(report)


class Bot:
    """The bot's resources, opened on first use; inject ``site``, ``store`` or ``scoring`` in tests.

    :param scoring: a ``(ScoringPipeline, model_id)`` pair; built from the settings when None
    :param stop: set to stop claiming new work (SIGTERM in ``serve``)
    :param journal: where a lock holder notes its leases (``RunLock.journal_path``)
    """

    def __init__(self, settings: Settings, *, site=None, store=None, scoring=None,
                 stop: threading.Event | None = None, journal: str | Path | None = None) -> None:
        self.settings = settings
        self._site = site
        self._store = store
        self._scoring = scoring
        self.stop = stop or threading.Event()
        self.worker = worker_name()
        self.journal = LeaseJournal(journal) if journal else None

    # -- resources ---------------------------------------------------------------
    @cached_property
    def store(self):
        import storage

        if self._store is None:
            self._store = storage.open_store(self.settings.database_url, data_dir=Path(self.settings.data_dir))
        return self._store

    @cached_property
    def site(self):
        return open_site(self.settings, site=self._site)

    @cached_property
    def scoring(self):
        if self._scoring is None:
            self._scoring = build_scoring(self.settings)
        return self._scoring

    @property
    def model_id(self) -> str:
        return self.scoring[1]

    def close(self) -> None:
        if "store" in self.__dict__ and self._store is not None:
            self._store.close()

    # -- checks ------------------------------------------------------------------
    def check_wiki(self) -> None:
        """:raises WikiUnavailable: blocked account or a non-empty stop page"""
        from pywikibot.exceptions import Error as PywikibotError

        try:
            reason = stop_reason(self.site, self.settings)
        except PywikibotError as e:
            raise WikiUnavailable(f"cannot read the wiki: {e}") from e
        if reason:
            raise WikiUnavailable(reason)

    # -- jobs --------------------------------------------------------------------
    def ingest_uploads(self) -> IngestReport:
        return UploadLog(self.site, self.store, self.settings).ingest()

    def ingest_category(self, category: str, *, depth: int, limit: int | None, progress=None) -> IngestReport:
        backfill = CategoryBackfill(self.site, self.store, self.settings, category=category,
                                    model_id=self.model_id, depth=depth, limit=limit)
        return backfill.ingest(progress=progress)

    def ingest_titles(self, titles) -> IngestReport:
        return ExplicitTitles(self.site, self.store, self.settings, titles).ingest()

    def score_pending(self, *, limit: int | None = None, progress: bool = False,
                      on_result=None) -> ScoreReport:
        pipeline, model_id = self.scoring
        downloader = Downloader(self.settings, user_agent=user_agent(self.site),
                                tmp_dir=Path(self.settings.data_dir) / "tmp")
        total = self.store.status(model_id).pending if progress else None
        loop = ScoringLoop(self.store, self.settings, scoring=pipeline, model_id=model_id,
                           downloader=downloader, site=self.site, worker=self.worker, stop=self.stop,
                           progress=progress, on_result=on_result, journal=self.journal,
                           thumbs=ThumbnailKeeper(Path(self.settings.data_dir) / "thumbs",
                                                  max_files=self.settings.keep_flagged_thumbs))
        try:
            return loop.run(limit=limit, total=total)
        finally:
            downloader.close()

    def publish(self):
        """Post flagged versions to the review page (:mod:`bot.review`)."""
        from .review import publish_review

        return self._review(publish_review, model_id=self.model_id)

    def harvest(self):
        """Read patrollers' verdicts back from the review page."""
        from .review import harvest_verdicts

        return self._review(harvest_verdicts)

    def _review(self, function, **kwargs):
        name = function.__name__
        try:
            outcome = function(self.site, self.store, self.settings, **kwargs)
        except Exception as e:
            raise_if_blocked(e)
            raise
        if getattr(outcome, "halted", None):  # stop page or block seen while editing
            raise WikiUnavailable(f"{name}: {outcome.halted}")
        return outcome

    def run_pass(self, *, review: bool = True) -> PassReport:
        """One cron pass: upload log -> scores -> review page -> verdicts, recorded as a run."""
        self.check_wiki()
        report = PassReport()
        run_id = self.store.start_run("run", worker=self.worker)
        error = None
        try:
            report.ingest.append(self.ingest_uploads())
            report.score = self.score_pending()
            if review and not self.stop.is_set():
                for name, job in (("review", self.publish), ("verdicts", self.harvest)):
                    outcome = job()
                    if outcome is not None:
                        report.review[name] = outcome
            return report
        except BaseException as e:
            error = f"{type(e).__name__}: {e}"
            raise
        finally:
            self.store.finish_run(run_id, counts=report.counts(), error=error)
