"""Bounded work: background jobs with progress, limits and cancellation, and page renders that stop with their client.

Long work (drawing a county's grids) runs off the request on one worker thread
per app, so jobs run one after another and never fight over the 2 cores. The
queue is bounded overall (``WANGGE_MAX_JOBS``) and per area
(``WANGGE_MAX_JOBS_PER_AREA``), counting queued and running jobs; beyond, a
:class:`~geo.errors.TooManyJobsError` (429) says when to retry. A job can be
cancelled: a queued one never runs, a running one stops at its next progress
report (the use cases report between steps, so a draw stops between two
communities and saves nothing). The job list lives in memory (a restart forgets
finished jobs, never their results: plans are saved in the store as each job
ends).

Work that is only for one client stops when that client goes: a ``?wait=true``
draw is a job cancelled on disconnect (:func:`follow`), and the map pages go
through :class:`PageRenders`, which runs a few at a time, never starts one
whose client has left, and stops a running one at its next progress report.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.errors import log, problem_body
from geo.errors import ConflictError, NotFoundError, TooManyJobsError, WanggeError

Progress = Callable[[str, float | None], None]

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
DISCONNECT_POLL_S = 0.1  # how often a waiting request checks that its client is still there
ASSUMED_JOB_S = 60.0  # a job's duration before any has finished (a few communities' draw)
ASSUMED_RENDER_S = 10.0  # a map page's render before any has finished
MAX_RETRY_AFTER_S = 3600
# Never read by the client (it has gone): the access log's status for a request whose client left first, as nginx's.
CLIENT_CLOSED_REQUEST = 499


class JobCancelled(Exception):
    """Raised by a cancelled job's progress callback: the work unwinds at its next step, saving nothing more.

    Not a :class:`~geo.errors.WanggeError`: a cancellation is no failure and must
    not be caught as one.
    """


def _stops_here(fraction: float | None) -> bool:
    """Whether a progress report is a point to stop at: every report but the last (1.0 means done and saved)."""
    return fraction is None or fraction < 1.0


@dataclass
class Job:
    """A job's state, as ``GET /jobs/{id}`` shows it."""

    id: str
    kind: str
    area: str | None = None
    status: str = "queued"  # queued | running | done | failed | cancelled
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error: dict[str, Any] | None = None
    cancel_requested: bool = False
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    exception: BaseException | None = field(default=None, repr=False)  # kept for ?wait=true, which re-raises it
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    future: Future[None] | None = field(default=None, repr=False)

    def public(self) -> dict[str, Any]:
        """The JSON view."""
        return {
            "id": self.id,
            "kind": self.kind,
            "area": self.area,
            "status": self.status,
            "cancel_requested": self.cancel_requested,
            "progress": round(self.progress, 3),
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "seconds": round((self.finished or time.time()) - self.created, 2),
        }


class JobRunner:
    """Runs jobs on one worker thread, bounded overall and per area, and remembers the last ``keep`` of them.

    Parameters
    ----------
    max_jobs
        Most jobs queued or running at once.
    max_jobs_per_area
        Most jobs queued or running at once for one study area.
    keep
        Finished jobs remembered (the oldest are forgotten first).
    """

    def __init__(self, *, max_jobs: int = 8, max_jobs_per_area: int = 2, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wangge-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep
        self.max_jobs = max_jobs
        self.max_jobs_per_area = max_jobs_per_area
        self._durations: dict[str, deque[float]] = {}

    def submit(self, kind: str, fn: Callable[[Progress], Any], *, area: str | None = None) -> Job:
        """Queue ``fn(progress)``; return the job at once.

        Raises
        ------
        TooManyJobsError
            The queue is full overall or for ``area``; ``retry_after`` (seconds) in its context.
        """
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, area=area)
        with self._lock:
            self._refuse_when_full(kind, area)
            self._jobs[job.id] = job
            self._forget_old()

        def progress(message: str, fraction: float | None) -> None:
            if job.cancel_requested and _stops_here(fraction):
                raise JobCancelled(job.id)
            job.message = message
            if fraction is not None:
                job.progress = fraction

        def run() -> None:
            with self._lock:
                if job.status != "queued":  # cancelled while it waited
                    return
                job.status = "running"
                job.started = time.time()
            try:
                job.result = fn(progress)
                job.status = "done"
                job.progress = 1.0
                self._durations.setdefault(kind, deque(maxlen=20)).append(time.time() - job.started)
            except JobCancelled:
                job.status = "cancelled"
                job.message = f"cancelled while {job.message}" if job.message else "cancelled"
            except WanggeError as exc:
                job.exception = exc
                job.error = problem_body(exc)
                job.status = "failed"
            except Exception as exc:  # an internal error: log it, answer without internals
                log.exception("job %s (%s) failed", job.id, job.kind)
                job.exception = exc
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
                job.done.set()

        job.future = self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job:
        """A job by id."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f"No job {job_id!r} (finished jobs are forgotten on restart)",
                detail_zh=f"没有任务 {job_id!r}（服务重启后已完成的任务不再保留）",
                job=job_id,
            )
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one never runs; a running one stops at its next progress report.

        Raises
        ------
        NotFoundError
            No such job.
        ConflictError
            The job has already finished (done, failed or cancelled).
        """
        job = self.get(job_id)
        with self._lock:
            if job.status in FINISHED:
                raise ConflictError(
                    f"Job {job.id} has already finished ({job.status}): there is nothing to cancel",
                    detail_zh=f"任务 {job.id} 已结束（{job.status}），无法取消",
                    job=job.id,
                    status=job.status,
                )
            job.cancel_requested = True
            if job.status == "queued":
                job.status = "cancelled"
                job.message = "cancelled before it ran"
                job.finished = time.time()
                job.done.set()
                if job.future is not None:
                    job.future.cancel()  # frees its place in the executor's queue too
        return job

    def describe(self, job: Job) -> dict[str, Any]:
        """The JSON view of a job, with its place in the queue while it waits."""
        view = job.public()
        if job.status == "queued":
            with self._lock:
                view["queue_position"] = sum(
                    1 for j in self._jobs.values() if j.status in ACTIVE and j.created < job.created
                )
        return view

    def shutdown(self) -> None:
        """Stop taking jobs: cancel the queued ones and ask the running one to stop at its next step."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.status in ACTIVE]
        for job in active:
            try:
                self.cancel(job.id)
            except ConflictError:  # it finished meanwhile
                pass
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- inside the lock --------------------------------------------------------------------------------------

    def _refuse_when_full(self, kind: str, area: str | None) -> None:
        active = sorted((j for j in self._jobs.values() if j.status in ACTIVE), key=lambda j: j.created)
        mine = [j for j in active if area is not None and j.area == area]
        if len(mine) >= self.max_jobs_per_area:
            wait = self._seconds_until_done(active, mine[0], kind)
            raise TooManyJobsError(
                f"Study area {area!r} already has {len(mine)} jobs queued or running (the limit per area, "
                f"WANGGE_MAX_JOBS_PER_AREA, is {self.max_jobs_per_area}); retry in about {wait} s, "
                "or cancel one with DELETE /jobs/{id}",
                detail_zh=f"研究区 {area!r} 已有 {len(mine)} 个任务在排队或运行（每个研究区上限 "
                f"{self.max_jobs_per_area}），请约 {wait} 秒后重试，或取消其中一个任务",
                area=area,
                limit=self.max_jobs_per_area,
                active=len(mine),
                jobs=[j.id for j in mine],
                retry_after=wait,
            )
        if len(active) >= self.max_jobs:
            wait = self._seconds_until_done(active, active[0], kind)
            raise TooManyJobsError(
                f"The job queue is full: {len(active)} jobs are queued or running (the limit, WANGGE_MAX_JOBS, "
                f"is {self.max_jobs}); retry in about {wait} s",
                detail_zh=f"任务队列已满：{len(active)} 个任务在排队或运行（上限 {self.max_jobs}），"
                f"请约 {wait} 秒后重试",
                limit=self.max_jobs,
                active=len(active),
                retry_after=wait,
            )

    def _seconds_until_done(self, active: list[Job], target: Job, kind: str) -> int:
        """Estimate when ``target`` ends, freeing a place: jobs run one at a time, in order, each as long as usual."""
        recent = self._durations.get(kind)
        typical = statistics.median(recent) if recent else ASSUMED_JOB_S
        now = time.time()
        total = 0.0
        for job in active:
            elapsed = now - job.started if job.started is not None else 0.0
            total += max(typical - elapsed, 1.0)
            if job is target:
                break
        return int(min(max(math.ceil(total), 1), MAX_RETRY_AFTER_S))

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.status in FINISHED), key=lambda j: j.created)
        for old in finished[: max(len(self._jobs) - self._keep, 0)]:
            self._jobs.pop(old.id, None)


async def follow(runner: JobRunner, job: Job, request: Request) -> bool:
    """Wait for a job on behalf of a request; cancel it if the client goes first.

    Returns
    -------
    bool
        True when the job finished, False when the client went away (the job is then cancelled).
    """
    while not job.done.is_set():
        if await request.is_disconnected():
            try:
                runner.cancel(job.id)
            except ConflictError:  # it finished in between: nothing to stop
                pass
            log.info("client left: job %s (%s) cancelled", job.id, job.kind)
            return False
        await anyio.sleep(DISCONNECT_POLL_S)
    return True


async def job_answer(runner: JobRunner, job: Job, request: Request, *, wait: bool, what: tuple[str, str]) -> Any:
    """The answer to a request that queued ``job``: 202 with its Location, or with ``wait`` its result (200).

    With ``wait`` the job runs only for this request: it is cancelled if the client goes (499, nothing sent), a job
    cancelled meanwhile through DELETE /jobs/{id} is a 409 naming ``what`` (English, Chinese), and a failed job
    raises its own error (mapped to its problem like any other).
    """
    if not wait:
        return JSONResponse(
            {"job": runner.describe(job), "status_url": f"/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/jobs/{job.id}"},
        )
    if not await follow(runner, job, request):
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    if job.status == "done":
        return JSONResponse(job.result, status_code=200, headers={"X-Wangge-Job": job.id})
    if job.status == "cancelled":
        raise ConflictError(
            f"Job {job.id} ({what[0]}) was cancelled before it finished",
            detail_zh=f"{what[1]}任务 {job.id} 在完成前被取消",
            job=job.id,
        )
    raise job.exception or RuntimeError(f"job {job.id} failed without an exception")


class PageRenders:
    """Heavy per-request renders (map pages, reports, exports): a few at a time, dropped when their client goes.

    At most ``running`` renders run at once and ``waiting`` more wait for a
    place; beyond, a :class:`~geo.errors.TooManyJobsError` (429). A render whose
    client leaves while it waits never starts; one whose client leaves while it
    runs stops at its next progress report (a thread cannot be killed: a render
    without progress reports runs to its end, holding its place, so the bound
    still holds).
    """

    def __init__(self, *, running: int = 2, waiting: int = 8) -> None:
        self.running = running
        self.waiting = waiting
        self._lock = threading.Lock()
        self._now_running = 0
        self._now_waiting = 0
        self._durations: deque[float] = deque(maxlen=20)
        self.started = 0  # renders started so far (tests and logs read it)

    async def render(self, request: Request, work: Callable[[Progress], Any]) -> tuple[bool, Any]:
        """Run ``work(progress)`` in a thread for ``request``.

        Returns
        -------
        (bool, Any)
            ``(True, result)``, or ``(False, None)`` when the client went away first.

        Raises
        ------
        TooManyJobsError
            Too many renders running and waiting; ``retry_after`` in its context.
        """
        with self._lock:
            if self._now_waiting >= self.waiting:
                raise self._full()
            self._now_waiting += 1
        try:
            while True:
                with self._lock:
                    if self._now_running < self.running:
                        self._now_running += 1
                        self.started += 1
                        break
                if await request.is_disconnected():
                    log.info("client left before its render of %s started: not started", request.url.path)
                    return False, None
                await anyio.sleep(DISCONNECT_POLL_S)
        finally:
            with self._lock:
                self._now_waiting -= 1
        return await self._run(request, work)

    async def _run(self, request: Request, work: Callable[[Progress], Any]) -> tuple[bool, Any]:
        gone = threading.Event()
        outcome: dict[str, Any] = {}

        def progress(message: str, fraction: float | None) -> None:
            if gone.is_set() and _stops_here(fraction):
                raise JobCancelled(request.url.path)

        def run() -> None:
            t0 = time.perf_counter()
            try:
                outcome["result"] = work(progress)
                self._durations.append(time.perf_counter() - t0)
            except JobCancelled:
                log.info("client left: render of %s stopped", request.url.path)
            except BaseException as exc:  # handed to the request, which answers with it
                outcome["error"] = exc
            finally:
                with self._lock:  # the place is freed when the thread ends, not when the request does
                    self._now_running -= 1

        async def watch(scope: anyio.CancelScope) -> None:
            while not await request.is_disconnected():
                await anyio.sleep(DISCONNECT_POLL_S)
            gone.set()
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch, tg.cancel_scope)
            await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
            tg.cancel_scope.cancel()
        if gone.is_set():
            return False, None
        if "error" in outcome:
            raise outcome["error"]
        return True, outcome.get("result")

    def _full(self) -> TooManyJobsError:
        typical = statistics.median(self._durations) if self._durations else ASSUMED_RENDER_S
        wait = int(min(max(math.ceil(typical * (self._now_waiting + 1) / self.running), 1), MAX_RETRY_AFTER_S))
        return TooManyJobsError(
            f"Too many pages and reports are being prepared ({self._now_running} running, {self._now_waiting} "
            f"waiting); retry in about {wait} s",
            detail_zh=f"正在生成的页面和报告过多（{self._now_running} 个运行、{self._now_waiting} 个等待），"
            f"请约 {wait} 秒后重试",
            running=self._now_running,
            waiting=self._now_waiting,
            retry_after=wait,
        )
