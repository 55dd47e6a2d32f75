"""``serve``: nothing starts after SIGTERM, every job is a run, a stop page pauses, a block ends (issue 13)."""
from __future__ import annotations

import threading

import pytest

import storage
from bot.jobs import PassReport
from bot.safety import Halted, StopPageSet
from bot.scheduler import BotScheduler


class FakeBot:
    """The jobs and checks of :class:`bot.jobs.Bot`, scripted; the store is real.

    A fake for injected faults only: a stop page, a block or a SIGTERM at a chosen moment of
    the schedule. The real Bot under ``serve`` runs against the real wiki in
    tests/bot/test_cli_wiki.py (scoring on schedule, SIGTERM, ``--simulate``)."""

    worker = "test:1"

    def __init__(self, store) -> None:
        self.store = store
        self.stop = threading.Event()
        self.checks: list[Exception | None] = []  # what check_wiki does next (None: all fine)
        self.calls: list[str] = []

    def check_wiki(self) -> None:
        outcome = self.checks.pop(0) if self.checks else None
        if outcome is not None:
            raise outcome

    def ingest_uploads(self):
        from bot.sources import IngestReport

        self.calls.append("poll")
        return IngestReport("uploadlog")

    def score_pending(self, **kwargs):
        from bot.pipeline import ScoreReport

        return ScoreReport()

    def publish(self):
        self.calls.append("publish")

    def harvest(self):
        self.calls.append("harvest")


@pytest.fixture
def bot(settings):
    with storage.open_store(None, data_dir=settings.data_dir) as store:
        yield FakeBot(store)


class WatchedLock:
    """The scheduler's lock, telling the test when a job waits for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting = threading.Semaphore(0)

    def __enter__(self):
        self.waiting.release()
        self.lock.acquire()

    def __exit__(self, *exc):
        self.lock.release()


def test_a_publish_queued_behind_the_job_in_flight_never_starts_after_sigterm(settings, bot):
    scheduler = BotScheduler(settings, bot=bot)
    scheduler.busy = WatchedLock()
    in_flight, finish = threading.Event(), threading.Event()

    def slow_poll():
        in_flight.set()
        finish.wait(30)
        return PassReport()

    poll = threading.Thread(target=scheduler._guarded("poll", slow_poll))
    poll.start()
    assert in_flight.wait(30)
    publish = threading.Thread(target=scheduler._guarded("publish", scheduler.publish))
    publish.start()
    assert scheduler.busy.waiting.acquire(timeout=30) and scheduler.busy.waiting.acquire(timeout=30)
    scheduler.shutdown()  # SIGTERM while poll runs and publish waits for the lock
    finish.set()
    poll.join(30)
    publish.join(30)
    assert "publish" not in bot.calls
    assert [r.kind for r in bot.store.runs()] == ["serve-poll"]  # the queued job did not even start a run


def test_every_job_records_a_run(settings, bot):
    scheduler = BotScheduler(settings, bot=bot)
    for name in ("poll", "publish", "harvest"):
        scheduler._guarded(name, getattr(scheduler, name))()
    runs = bot.store.runs()
    assert sorted(r.kind for r in runs) == ["serve-harvest", "serve-poll", "serve-publish"]
    assert all(r.finished_at is not None and r.error is None for r in runs)


def test_a_stop_page_pauses_serve_and_the_next_job_looks_again(settings, bot):
    scheduler = BotScheduler(settings, bot=bot)
    bot.checks = [StopPageSet("the stop page [[User:X/Stop]] is not empty (last edited by Sam)")]
    scheduler._guarded("poll", scheduler.poll)()
    assert bot.calls == [] and not bot.stop.is_set() and scheduler.exit_code == 0
    assert bot.store.runs()[0].error.startswith("paused: the stop page")
    scheduler._guarded("poll", scheduler.poll)()  # blanked again: work resumes
    assert bot.calls == ["poll"]


def test_a_block_ends_serve_with_exit_5(settings, bot):
    scheduler = BotScheduler(settings, bot=bot)
    blocked = Halted("the account NsfwBot is blocked")
    bot.checks = [blocked, blocked]  # the job's check, then the one that tells a block from a stop page
    scheduler._guarded("publish", scheduler.publish)()
    assert bot.stop.is_set() and scheduler.exit_code == 5 and bot.calls == []
    assert bot.store.runs()[0].error.startswith("stopped: the account NsfwBot is blocked")
