"""Background jobs: long work (drawing a county's grids) runs off the request, with progress to poll.

One worker thread per app, so jobs run one after another and never fight
over the 2 cores; the job list lives in memory (a restart forgets finished
jobs, never their results: plans are saved in the store as each job ends).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.errors import log, problem_body
from geo.errors import NotFoundError, WanggeError


@dataclass
class Job:
    """A job's state, as ``GET /jobs/{id}`` shows it."""

    id: str
    kind: str
    status: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def public(self) -> dict[str, Any]:
        """The JSON view."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "seconds": round((self.finished or time.time()) - self.created, 2),
        }


class JobRunner:
    """Runs jobs on one worker thread and remembers the last ``keep`` of them."""

    def __init__(self, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wangge-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, kind: str, fn: Callable[[Callable[[str, float | None], None]], Any]) -> Job:
        """Queue ``fn(progress)``; return the job at once."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            if len(self._jobs) > self._keep:
                for old in sorted(self._jobs.values(), key=lambda j: j.created)[: len(self._jobs) - self._keep]:
                    self._jobs.pop(old.id, None)

        def progress(message: str, fraction: float | None) -> None:
            job.message = message
            if fraction is not None:
                job.progress = fraction

        def run() -> None:
            job.status = "running"
            try:
                job.result = fn(progress)
                job.status = "done"
                job.progress = 1.0
            except WanggeError as exc:
                job.error = problem_body(exc)
                job.status = "failed"
            except Exception:  # an internal error: log it, answer without internals
                log.exception("job %s (%s) failed", job.id, job.kind)
                job.error = {
                    "type": "about:blank",
                    "title": "Internal error",
                    "title_zh": "内部错误",
                    "status": 500,
                    "detail": "The job could not complete.",
                }
                job.status = "failed"
            finally:
                job.finished = time.time()

        self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job:
        """A job by id."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"No job {job_id!r} (finished jobs are forgotten on restart)",
                detail_zh=f"没有任务 {job_id!r}",
                job=job_id,
            )
        return job

    def shutdown(self) -> None:
        """Stop taking jobs (waits for the running one)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
