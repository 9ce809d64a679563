"""The one writer: every change to the analytics database runs as a queued job on one thread.

DESIGN.md "One writer": imports, snapshots and forwarded CLI commands are queued and run one
at a time on the workspace's own connection, so two writers never interleave
(reliability-plan.md T34) and a lock conflict never reaches a user as a 500.
"""

from __future__ import annotations

import datetime as dt
import itertools
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from funnelboard.errors import FunnelboardError

#: jobs kept in memory for status queries (the import ledger keeps finished imports for good)
KEEP_JOBS = 500


@dataclass
class Job:
    id: int
    kind: str
    description: str
    owner: int | None
    status: str = "queued"  # queued, running, done, failed
    queued_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    result: Any = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def to_dict(self) -> dict[str, Any]:
        result = self.result
        if hasattr(result, "to_dict"):
            result = result.to_dict()
        return {"id": self.id, "kind": self.kind, "description": self.description,
                "status": self.status, "queued_at": self.queued_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "result": result, "error": self.error}


class JobQueue:
    """A FIFO of jobs run by one worker thread; ``after`` runs after each successful job
    (the server uses it to forget cached results)."""

    def __init__(self, after: Callable[[Job], None] | None = None) -> None:
        self._queue: queue.Queue[tuple[Job, Callable[[], Any]] | None] = queue.Queue()
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._after = after
        self._thread = threading.Thread(target=self._work, name="funnelboard-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, kind: str, description: str, work: Callable[[], Any],
               owner: int | None = None) -> Job:
        with self._lock:
            job = Job(next(self._ids), kind, description, owner)
            self._jobs[job.id] = job
            if len(self._jobs) > KEEP_JOBS:
                for old in sorted(self._jobs)[: len(self._jobs) - KEEP_JOBS]:
                    if self._jobs[old].status in ("done", "failed"):
                        del self._jobs[old]
        self._queue.put((job, work))
        return job

    def run(self, kind: str, description: str, work: Callable[[], Any],
            owner: int | None = None, timeout: float | None = None) -> Job:
        """Submit and wait for the job to finish (for CLI commands forwarded to the server)."""
        job = self.submit(kind, description, work, owner)
        job.finished.wait(timeout)
        return job

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: -j.id)

    def wait_idle(self, timeout: float = 60) -> None:
        """Block until every queued job has run (tests and shutdown)."""
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
        while self._queue.unfinished_tasks and dt.datetime.now(dt.UTC) < deadline:
            threading.Event().wait(0.02)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            job, work = item
            job.status = "running"
            try:
                job.result = work()
                job.status = "done"
            except FunnelboardError as exc:
                job.status, job.error = "failed", exc.message
            except Exception as exc:  # a job must never kill the writer thread
                job.status = "failed"
                job.error = ("The job failed unexpectedly; the database is unchanged. Details "
                             f"are in the server log ({type(exc).__name__}).")
                traceback.print_exc()
            job.finished_at = dt.datetime.now(dt.UTC)
            if job.status == "done" and self._after is not None:
                try:
                    self._after(job)
                except Exception:
                    traceback.print_exc()
            job.finished.set()
            self._queue.task_done()
