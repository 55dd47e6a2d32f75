"""``python -m bot serve``: the cron pass as APScheduler jobs in one long-lived process.

Three jobs share one :class:`~bot.jobs.Bot` (one site, one database pool, one
loaded model): polling (upload log + scoring), publishing the review page and
harvesting verdicts. They never overlap (one lock; pywikibot is not meant to
be driven from several threads at once). SIGTERM (or SIGINT) stops claiming
new work, lets the job in flight finish and store its results, and exits: a
job that was waiting for the lock then starts nothing (a queued publish never
edits after SIGTERM). Every job is recorded as a run (``serve-poll``...).

A set stop page pauses the service: each job looks at it again and does
nothing until a human blanks it (a continuous Toolforge job must not
crash-loop). A block ends the service with exit 5.
"""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone

from .config import Settings
from .jobs import Bot, PassReport
from .lock import RunLock
from .safety import Halted, StopPageSet
from .site import WikiUnavailable
from .sources import UploadLog

__all__ = ["BotScheduler", "serve"]

log = logging.getLogger(__name__)


class BotScheduler:
    """The bot's jobs on an APScheduler ``BlockingScheduler``.

    :param bot: injected by tests; built from ``settings`` otherwise
    """

    def __init__(self, settings: Settings, *, bot: Bot | None = None) -> None:
        from apscheduler.schedulers.blocking import BlockingScheduler

        self.settings = settings
        self.bot = bot or Bot(settings)
        self.scheduler = BlockingScheduler(timezone=timezone.utc)
        self.busy = threading.Lock()
        self.exit_code = 0
        now = datetime.now(timezone.utc)
        for name, job, seconds in (
                ("poll", self.poll, settings.poll_interval_seconds),
                ("publish", self.publish, settings.publish_interval_seconds),
                ("harvest", self.harvest, settings.harvest_interval_seconds)):
            # coalesce + one instance: a job that overran runs once, not once per missed slot
            self.scheduler.add_job(self._guarded(name, job), "interval", seconds=seconds, id=name,
                                   next_run_time=now, coalesce=True, max_instances=1,
                                   misfire_grace_time=seconds)

    def _guarded(self, name: str, job):
        def run() -> None:
            if self.bot.stop.is_set():
                return
            with self.busy:
                if self.bot.stop.is_set():  # SIGTERM arrived while this job waited for the one in flight
                    return
                run_id = self.bot.store.start_run(f"serve-{name}", worker=self.bot.worker)
                counts, error = {}, None
                try:
                    self.bot.check_wiki()
                    outcome = job()
                    if outcome is not None:
                        counts = outcome.counts() if hasattr(outcome, "counts") else {}
                        log.info("%s: %s", name, getattr(outcome, "format", lambda: outcome)())
                except StopPageSet as e:
                    error = f"paused: {e}"
                    log.warning("%s: paused, %s; looked at again before the next job", name, e)
                except Halted as e:
                    if not self._still_blocked():  # a stop page seen while editing: pause, not end
                        error = f"paused: {e}"
                        log.warning("%s: paused, %s; looked at again before the next job", name, e)
                    else:
                        error = f"stopped: {e}"
                        self._end(name, error)
                except WikiUnavailable as e:
                    error = f"wiki unavailable: {e}"
                    self._end(name, error)
                except Exception as e:  # one failed pass must not end the service; the next one retries
                    error = f"{type(e).__name__}: {e}"
                    log.exception("%s failed", name)
                finally:
                    self.bot.store.finish_run(run_id, counts=counts, error=error)
        run.__name__ = name
        return run

    def _still_blocked(self) -> bool:
        try:
            self.bot.check_wiki()
        except StopPageSet:
            return False
        except WikiUnavailable:  # blocked, or the wiki is gone: either ends the service
            return True
        return False

    def _end(self, name: str, error: str) -> None:
        log.error("%s: %s; stopping", name, error)
        self.exit_code = 5
        self.shutdown()

    def poll(self):
        report = PassReport(ingest=[self.bot.ingest_uploads()])
        report.score = self.bot.score_pending(sources=(UploadLog.name,))
        return report

    def publish(self):
        return self.bot.publish()

    def harvest(self):
        return self.bot.harvest()

    def shutdown(self, *_signal) -> None:
        """Stop claiming, finish the job in flight, stop the scheduler (safe from a signal handler)."""
        self.bot.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def start(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.shutdown)
        self.scheduler.start()  # returns after shutdown()
        with self.busy:  # the job in flight has stored its results
            pass
        return self.exit_code


def serve(settings: Settings) -> int:
    with RunLock(settings.data_dir) as lock:
        scheduler = BotScheduler(settings, bot=Bot(settings, journal=lock.journal_path))
        try:
            return scheduler.start()
        finally:
            scheduler.bot.close()
