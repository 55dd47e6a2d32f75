"""What the bot does, once: ingest, score, publish, harvest. ``run``, ``serve``, ``backfill``
and ``score`` are these jobs in different orders and schedules.

:class:`Bot` opens each of its three resources (the database, the wiki, the
classifier) when a job first needs it, so a job that needs no classifier never
loads one and ``run`` fails fast with the right exit code when one of them is
unavailable.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .config import Settings
from .downloads import Downloader
from .lock import LeaseJournal
from .pipeline import ScoreReport, ScoringModel, VersionScorer, build_scoring, worker_name
from .safety import Halted, check, raise_if_blocked
from .site import WikiUnavailable, open_site, user_agent
from .sources import CategoryBackfill, ExplicitTitles, IngestReport, UploadLog
from .thumbnails import ThumbnailKeeper

__all__ = ["Bot", "PassReport"]

log = logging.getLogger(__name__)


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
        return " | ".join(self.lines()) or "nothing to do"

    def lines(self) -> list[str]:
        """The summary first (scores, then what was ingested), then one line per review job:
        a cron mail shows the outcome at a glance and the details under it."""
        head = ([self.score.format()] if self.score else []) + [r.format() for r in self.ingest]
        return ([" | ".join(head)] if head else []) + [
            f"{name}: {_short(value)}" for name, value in self.review.items()]


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
    """The jobs (ingest, score, publish, harvest) over three resources, each opened on first use.

    Resources, one attribute each; pass one in to use it instead (tests do):

    - :attr:`store`: the database (:class:`storage.Store`), closed by :meth:`close`;
    - :attr:`site`: the wiki (a logged-in pywikibot site);
    - :attr:`scoring`: the classifier (:class:`bot.pipeline.ScoringModel`).

    :param stop: set to stop claiming new work (SIGTERM in ``serve``)
    :param journal: where a lock holder notes its leases (``RunLock.journal_path``)
    """

    def __init__(self, settings: Settings, *, site=None, store=None, scoring: ScoringModel | None = None,
                 stop: threading.Event | None = None, journal: str | Path | None = None) -> None:
        #: as given (defaults < bot.toml < command line); :attr:`settings` adds the on-wiki page
        self.base_settings = settings
        self.settings = settings
        #: the on-wiki configuration resolved for this pass (:meth:`resolve_settings`)
        self.onwiki = None
        self._in_pass = False  # within run_pass the configuration is resolved once, at its start
        self._given_site, self._given_store, self._given_scoring = site, store, scoring
        self.stop = stop or threading.Event()
        self.worker = worker_name()
        self.journal = LeaseJournal(journal) if journal else None

    # -- resources, each opened on first use ----------------------------------------
    @cached_property
    def store(self):
        """The database: :func:`storage.open_store` of ``settings.database_url`` (SQLite in
        ``data_dir`` when None), migrations applied.

        :raises storage.StorageError: the database is down, locked or too old
        """
        import storage

        if self._given_store is not None:
            return self._given_store
        return storage.open_store(self.settings.database_url, data_dir=Path(self.settings.data_dir))

    @cached_property
    def site(self):
        """The wiki: pywikibot's site from ``user-config.py`` (or the one given), logged in, with
        the bot's User-Agent.

        :raises WikiUnavailable: the wiki does not answer or the login fails
        """
        return open_site(self.settings, site=self._given_site)

    @cached_property
    def scoring(self) -> ScoringModel:
        """The classifier: :func:`bot.pipeline.build_scoring` of the settings (or the one given)."""
        return self._given_scoring or build_scoring(self.settings)

    @property
    def model_id(self) -> str:
        """The id the classifier's scores are stored under (``name@hash``)."""
        return self.scoring.model_id

    def close(self) -> None:
        """Close the database if a job opened (or used) it."""
        if "store" in self.__dict__:
            self.store.close()

    # -- checks ------------------------------------------------------------------
    def check_wiki(self) -> None:
        """:raises Halted: blocked account or a non-empty stop page (:mod:`bot.safety`)
        :raises WikiUnavailable: the wiki could not be read"""
        from pywikibot.exceptions import Error as PywikibotError

        try:
            check(self.site, self.settings)
        except PywikibotError as e:
            raise WikiUnavailable(f"cannot read the wiki: {e}") from e

    # -- jobs --------------------------------------------------------------------
    def ingest_uploads(self) -> IngestReport:
        return UploadLog(self.site, self.store, self.settings).ingest()

    def ingest_deletions(self) -> IngestReport:
        """Deletion and suppression logs: deleted files leave the review page, their kept
        thumbnails go, suppressed user names are forgotten (:mod:`bot.logs`)."""
        from .logs import DeletionLog

        keeper = ThumbnailKeeper(Path(self.settings.data_dir) / "thumbs",
                                 max_files=self.settings.keep_flagged_thumbs)
        return DeletionLog(self.site, self.store, self.settings, purge=keeper.remove).ingest()

    def ingest_category(self, category: str, *, depth: int, limit: int | None, progress=None) -> IngestReport:
        backfill = CategoryBackfill(self.site, self.store, self.settings, category=category,
                                    model_id=self.model_id, depth=depth, limit=limit)
        return backfill.ingest(progress=progress)

    def ingest_titles(self, titles) -> IngestReport:
        return ExplicitTitles(self.site, self.store, self.settings, titles).ingest()

    def score_pending(self, *, limit: int | None = None, progress: bool = False,
                      on_result=None, sources=None, titles=None, deadline: float | None = None) -> ScoreReport:
        if not self._in_pass:  # serve's polling, score, backfill: the page's rule applies too
            self.resolve_settings()
        downloader = Downloader(self.settings, user_agent=user_agent(self.site),
                                tmp_dir=Path(self.settings.data_dir) / "tmp")
        total = self.store.status(self.model_id).pending if progress else None
        scorer = VersionScorer(self.store, self.settings, scoring=self.scoring,
                               downloader=downloader, site=self.site, worker=self.worker, stop=self.stop,
                               progress=progress, on_result=on_result, journal=self.journal,
                               sources=sources, titles=titles, deadline=deadline,
                               thumbs=ThumbnailKeeper(Path(self.settings.data_dir) / "thumbs",
                                                      max_files=self.settings.keep_flagged_thumbs))
        try:
            return scorer.run(limit=limit, total=total)
        finally:
            downloader.close()

    def resolve_settings(self) -> Settings:
        """One configuration for a pass: defaults < bot.toml < the trusted on-wiki page <
        command line (:mod:`bot.review.onwiki_config`). The same values then drive scoring
        (threshold and voting rule, hence ``flagged`` and the kept thumbnails, and what each
        stored score records), the listing and harvesting, until the next call."""
        import copy

        from classifiers.voting import VotingPolicy

        from .review.onwiki_config import effective_settings

        base = self.__dict__.get("_base_scoring")
        if base is None:  # built from the settings as given, before the page changes them
            self.settings = self.base_settings
            base = self.__dict__["_base_scoring"] = self.scoring
        self.settings, self.onwiki = effective_settings(self.site, self.store, self.base_settings)
        for line in self.onwiki.problems + self.onwiki.overridden:
            log.warning("config: %s", line)
        keys = ("threshold", "vote_rule", "quorum", "vote_k")
        if all(getattr(self.settings, k) == getattr(self.base_settings, k) for k in keys):
            self.__dict__["scoring"] = base
        elif hasattr(base.pipeline, "voting"):
            # the loaded model stays; a copy of its pipeline votes with the page's rule
            # (the given pipeline may be shared: it is never changed)
            pipeline = copy.copy(base.pipeline)
            pipeline.voting = VotingPolicy(threshold=self.settings.threshold,
                                           rule=self.settings.vote_rule,
                                           quorum=self.settings.quorum, k=self.settings.vote_k)
            self.__dict__["scoring"] = ScoringModel(pipeline, base.model_id)
        return self.settings

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
        if not self._in_pass:
            self.resolve_settings()
        try:
            # within a pass the configuration is the one resolved at its start
            outcome = function(self.site, self.store, self.settings, config=self.onwiki,
                               **kwargs)
        except Exception as e:
            raise_if_blocked(e, self.site)
            raise
        if getattr(outcome, "halted", None):  # stop page or block seen while editing
            raise Halted(f"{name}: {outcome.halted}")
        return outcome

    def run_pass(self, *, review: bool = True) -> PassReport:
        """One cron pass: upload log -> scores -> review page -> verdicts, recorded as a run."""
        import time

        publish_by = time.monotonic() + self.settings.publish_within_seconds
        self.check_wiki()
        self.resolve_settings()
        report = PassReport()
        run_id = self.store.start_run("run", worker=self.worker)
        log.info("run %d started by %s (data in %s)", run_id, self.worker, self.settings.data_dir)
        error = None
        try:
            self._in_pass = True
            report.ingest.append(self.ingest_uploads())
            report.ingest.append(self.ingest_deletions())
            # new uploads only, and only until the review page is due: backfill work
            # (categories, titles) is for backfill workers and never holds the page back
            report.score = self.score_pending(sources=(UploadLog.name,), deadline=publish_by)
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
            self._in_pass = False
            self.store.finish_run(run_id, counts=report.counts(), error=error)
