"""``python -m bot status``: what an operator wants to know, in one read transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .records import RunRecord
from .schema import Cursor, File, FileVersion, Run, Score, ScoreTask, Verdict

__all__ = ["StatusReport", "build_status", "run_record", "recent_runs", "cursor_values"]


@dataclass(frozen=True)
class StatusReport:
    database: str
    model_id: str | None
    files: int
    versions: int
    pending: int          # not scored by model_id and not given up (includes leased and backing off)
    leased: int           # held by a worker right now
    backing_off: int      # waiting after a transient failure
    given_up: int         # too many transient failures: needs a human
    scored: int           # score rows of model_id (verdicts and final errors)
    flagged: int
    errors: dict[str, int]            # final scoring errors by kind
    failures: dict[str, int]          # last transient failure by kind (pending or given up)
    verdicts: dict[tuple[str, bool], int]  # (verdict, trusted) -> count
    cursors: dict[str, tuple[dict, datetime]]
    runs: list[RunRecord]
    models: dict[str, int] = field(default_factory=dict)  # scores per model id
    skipped: dict[str, int] = field(default_factory=dict)  # settled unscored, by reason (audio, deleted)
    waiting: int = 0      # pending, put back without a failure (a video waiting for its transcodes)
    #: pending versions by the source that found them (``uploadlog``, ``category:...``, ``explicit``)
    pending_by_source: dict[str, int] = field(default_factory=dict)

    @property
    def last_run_throughput(self) -> float | None:
        """Versions scored per second by the latest finished run that scored any."""
        for run in self.runs:
            scored = run.counts.get("scored")
            if run.seconds and scored:
                return scored / run.seconds
        return None

    def format(self) -> str:
        lines = [f"database   {self.database}",
                 f"model      {self.model_id or '(nothing scored yet)'}",
                 f"files      {self.files} ({self.versions} versions)",
                 f"pending    {self.pending} (leased {self.leased}, backing off "
                 f"{self.backing_off}, waiting {self.waiting}); given up {self.given_up}",
                 f"scored     {self.scored}, flagged {self.flagged}"]
        if self.pending_by_source:
            lines.insert(4, "  by source  " + _pairs(self.pending_by_source))
        if self.errors:
            lines.append("errors     " + _pairs(self.errors))
        if self.failures:
            lines.append("failures   " + _pairs(self.failures))
        if self.skipped:
            lines.append("skipped    " + _pairs(self.skipped))
        if len(self.models) > 1:
            lines.append("models     " + _pairs(self.models))
        if self.verdicts:
            lines.append("verdicts   " + ", ".join(
                f"{verdict} ({'trusted' if trusted else 'untrusted'}) {n}"
                for (verdict, trusted), n in sorted(self.verdicts.items())))
        else:
            lines.append("verdicts   none")
        lines.append("cursors" + ("" if self.cursors else "    none"))
        for name, (value, updated) in self.cursors.items():
            shown = str(value if len(str(value)) <= 100 else {k: value[k] for k in list(value)[:4]})
            lines.append(f"  {name}: {shown[:160]} (updated {updated:%Y-%m-%d %H:%M:%S} UTC)")
        lines.append("last runs" + ("" if self.runs else "  none"))
        for run in self.runs:
            took = _unfinished(run.worker) if run.finished_at is None else f"{run.seconds:.1f} s"
            counts = _pairs(run.counts) if run.counts else ""
            error = f" ERROR: {run.error.splitlines()[0][:120]}" if run.error else ""
            lines.append(f"  #{run.id} {run.kind} by {run.worker} at "
                         f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC, {took} {counts}{error}".rstrip())
        rate = self.last_run_throughput
        lines.append("throughput " + ("n/a" if rate is None else f"{rate:.2f} versions/s "
                                       "(last run that scored)"))
        return "\n".join(lines)


def _unfinished(worker: str | None) -> str:
    """``running``, or ``CRASHED`` when the run's process (``host:pid``) is gone from this host;
    a run of another host cannot be checked from here."""
    import os
    import socket

    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return "running (another host)" if host else "running"
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return "CRASHED (its process is gone; the run lock and leases are free)"
    except PermissionError:  # alive, another user's
        pass
    return "running"


def _pairs(mapping: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(mapping.items(), key=lambda kv: str(kv[0])))


def run_record(run: Run) -> RunRecord:
    return RunRecord(id=run.id, kind=run.kind, worker=run.worker, started_at=run.started_at,
                     finished_at=run.finished_at, counts=dict(run.counts or {}), error=run.error)


def recent_runs(session: Session, limit: int, kind: str | None = None) -> list[RunRecord]:
    query = select(Run).order_by(Run.started_at.desc(), Run.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(Run.kind == kind)
    return [run_record(r) for r in session.scalars(query)]


def cursor_values(session: Session) -> dict[str, tuple[dict, datetime]]:
    return {row.name: (row.value, row.updated_at) for row in session.execute(
        select(Cursor.name, Cursor.value, Cursor.updated_at).order_by(Cursor.name))}


def build_status(session: Session, *, model_id: str | None, runs: int, url: str,
                 now: datetime) -> StatusReport:
    if model_id is None:
        model_id = session.scalar(select(Score.model_id).order_by(Score.scored_at.desc(),
                                                                  Score.id.desc()).limit(1))
    files = session.scalar(select(func.count()).select_from(File)) or 0
    versions = session.scalar(select(func.count()).select_from(FileVersion)) or 0
    models = dict(tuple(row) for row in session.execute(
        select(Score.model_id, func.count()).group_by(Score.model_id)))
    scored = flagged = leased = backing_off = given_up = waiting = 0
    errors: dict[str, int] = {}
    skipped: dict[str, int] = {}
    failures: dict[str, int] = {}
    if model_id is not None:
        scored = models.get(model_id, 0)
        flagged = session.scalar(select(func.count()).select_from(Score).where(
            Score.model_id == model_id, Score.flagged.is_(True))) or 0
        errors = dict(tuple(row) for row in session.execute(
            select(Score.error_kind, func.count()).where(Score.model_id == model_id,
                                                         Score.error_kind.is_not(None))
            .group_by(Score.error_kind)))
        open_tasks = select(ScoreTask).where(ScoreTask.model_id == model_id,
                                             ScoreTask.state != "done").subquery()
        for state, worker, attempts, later, kind, stage in session.execute(select(
                open_tasks.c.state, open_tasks.c.worker.is_not(None), open_tasks.c.attempts > 0,
                open_tasks.c.available_at > now, open_tasks.c.last_kind, open_tasks.c.last_stage)):
            if state == "skipped":
                skipped[kind or "?"] = skipped.get(kind or "?", 0) + 1
                continue
            if stage == "wait" and state == "pending" and not worker:
                waiting += 1
                continue
            if state == "given_up":
                given_up += 1
            elif later and worker:
                leased += 1
            elif later and attempts:
                backing_off += 1
            if kind:
                failures[kind] = failures.get(kind, 0) + 1
    pending = max(0, versions - scored - given_up - sum(skipped.values()))
    unscored = [] if model_id is None else [
        ~select(Score.id).where(Score.version_id == FileVersion.id, Score.model_id == model_id).exists(),
        ~select(ScoreTask.id).where(ScoreTask.version_id == FileVersion.id, ScoreTask.model_id == model_id,
                                    ScoreTask.state.in_(("given_up", "skipped"))).exists()]
    pending_by_source = {source or "unknown": n for source, n in session.execute(
        select(FileVersion.source, func.count()).where(*unscored).group_by(FileVersion.source))}
    verdicts = {(v, bool(t)): n for v, t, n in session.execute(
        select(Verdict.verdict, Verdict.trusted, func.count())
        .group_by(Verdict.verdict, Verdict.trusted))}
    return StatusReport(database=url, model_id=model_id, files=files, versions=versions,
                        pending=pending, leased=leased, backing_off=backing_off,
                        given_up=given_up, scored=scored, flagged=flagged, errors=errors,
                        failures=failures, verdicts=verdicts, cursors=cursor_values(session),
                        runs=recent_runs(session, runs), models=models, skipped=skipped,
                        waiting=waiting, pending_by_source=pending_by_source)
