"""Bounded work (issue 8, item 10): a bounded job queue with Retry-After, cancellation, and work stopped when
the only client who wanted it has gone."""

import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from api.jobs import JobCancelled, JobRunner, PageRenders
from api.main import create_app
from api.settings import Settings
from geo.errors import TooManyJobsError
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.api.test_security import served
from tests.conftest import DATA


@pytest.fixture()
def api(tmp_path):
    """Monaco on a store of its own; at most 3 jobs overall and 2 per area."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA, max_jobs=3, max_jobs_per_area=2), context=ctx)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, ctx


def _blocker(runner: JobRunner, area: str | None) -> tuple[threading.Event, object]:
    """A job that holds the worker until released, so the jobs behind it stay queued."""
    release = threading.Event()
    job = runner.submit("test-blocker", lambda progress: release.wait(30), area=area)
    return release, job


def _until(predicate, timeout_s: float = 60.0) -> None:
    deadline = time.time() + timeout_s
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_draws_beyond_the_limit_per_area_get_429_with_retry_after(api):
    c, ctx = api
    runner = c.app.state.jobs
    release, _ = _blocker(runner, "monaco")
    r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]})
    assert r.status_code == 202
    queued = r.json()["job"]
    assert queued["status"] == "queued" and queued["area"] == "monaco" and queued["queue_position"] == 1
    r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]})
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/too-many-jobs" and body["title_zh"] == "排队任务过多"
    assert body["context"]["area"] == "monaco" and body["context"]["limit"] == 2
    assert int(r.headers["Retry-After"]) == body["context"]["retry_after"] >= 1
    assert "WANGGE_MAX_JOBS_PER_AREA" in body["detail"] and body["detail_zh"]
    # ?wait=true is queued like any job, so it is refused the same way.
    assert c.post("/areas/monaco/plans?wait=true", json={"communities": ["Larvotto"]}).status_code == 429
    assert c.delete(f"/jobs/{queued['id']}").status_code == 200
    release.set()


def test_draws_beyond_the_overall_limit_get_429(api):
    c, _ = api
    runner = c.app.state.jobs
    release, _ = _blocker(runner, "another-area")
    _blocker(runner, "a-third-area")[0].set()  # queued behind the first: still counts
    r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]})
    assert r.status_code == 202
    r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]})
    assert r.status_code == 429 and "WANGGE_MAX_JOBS" in r.json()["detail"]
    assert r.json()["context"]["limit"] == 3 and "area" not in r.json()["context"]
    assert int(r.headers["Retry-After"]) >= 1
    for job in list(runner._jobs.values()):
        if job.kind == "draw":
            assert c.delete(f"/jobs/{job.id}").status_code == 200
    release.set()


def test_retry_after_counts_the_jobs_ahead():
    runner = JobRunner(max_jobs=10, max_jobs_per_area=1)
    release, _ = _blocker(runner, "x")  # running, nothing finished yet: assumed 60 s
    runner.submit("draw", lambda progress: None, area="y")  # queued behind it
    with pytest.raises(TooManyJobsError) as x_full:
        runner.submit("draw", lambda progress: None, area="x")
    with pytest.raises(TooManyJobsError) as y_full:
        runner.submit("draw", lambda progress: None, area="y")
    x_wait, y_wait = x_full.value.context["retry_after"], y_full.value.context["retry_after"]
    assert 50 <= x_wait <= 60  # x's job is running: one job's time, less what it has done
    assert y_wait >= x_wait + 59  # y's job waits for x's: two jobs' time
    release.set()
    runner.shutdown()


def test_a_cancelled_queued_draw_never_runs(api):
    c, ctx = api
    release, _ = _blocker(c.app.state.jobs, None)
    r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]})
    job_id = r.json()["job"]["id"]
    r = c.delete(f"/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["cancel_requested"]
    release.set()
    _until(lambda: all(j.status != "running" for j in c.app.state.jobs._jobs.values()))
    time.sleep(0.3)
    job = c.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["progress"] == 0
    assert c.app.state.jobs.get(job_id).started is None
    assert ctx.store.plans.list("monaco") == []
    r = c.delete(f"/jobs/{job_id}")  # already finished
    assert r.status_code == 409 and r.json()["type"] == "/problems/conflict"
    assert r.json()["context"] == {"job": job_id, "status": "cancelled"}
    assert c.delete("/jobs/no-such-job").status_code == 404


def test_a_running_draw_stops_between_communities_and_saves_nothing(api):
    c, ctx = api
    r = c.post("/areas/monaco/plans", json={})  # all nine communities
    job_id = r.json()["job"]["id"]
    _until(lambda: c.get(f"/jobs/{job_id}").json()["message"].startswith("drawing"))
    r = c.delete(f"/jobs/{job_id}")
    assert r.status_code == 202 and r.json()["cancel_requested"] and r.json()["status"] == "running"
    _until(lambda: c.get(f"/jobs/{job_id}").json()["status"] != "running")
    job = c.get(f"/jobs/{job_id}").json()
    assert job["status"] == "cancelled" and job["progress"] < 0.5, job
    assert job["message"].startswith("cancelled while drawing")
    assert ctx.store.plans.list("monaco") == []
    assert c.delete(f"/jobs/{job_id}").status_code == 409


def _send(host: str, port: int, request: bytes) -> socket.socket:
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(request)
    return s


def _answer(s: socket.socket) -> bytes:
    got = b""
    while chunk := s.recv(65536):
        got += chunk
    return got


def test_a_waiting_draw_is_cancelled_when_its_client_leaves(api):
    c, ctx = api
    runner = c.app.state.jobs
    body = b"{}"  # all nine communities
    with served(c.app) as (host, port):
        s = _send(
            host,
            port,
            b"POST /areas/monaco/plans?wait=true HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body,
        )
        _until(lambda: any(j.status == "running" for j in runner._jobs.values()))
        s.close()  # the planner closed the tab
        (job,) = runner._jobs.values()
        _until(lambda: job.done.is_set())
    assert job.status == "cancelled" and job.progress < 0.5
    assert ctx.store.plans.list("monaco") == []


def test_map_renders_are_bounded_and_never_started_for_a_client_who_left(api, monkeypatch):
    c, _ = api
    import service.maps as pages

    real_map_config = pages.map_config
    started: list[float] = []

    def slow_map_config(*args, **kwargs):
        started.append(time.time())
        time.sleep(1.5)
        return real_map_config(*args, **kwargs)

    monkeypatch.setattr(pages, "map_config", slow_map_config)
    c.app.state.renders = PageRenders(running=1, waiting=3)
    get = b"GET /areas/monaco/map HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with served(c.app) as (host, port):
        first = _send(host, port, get)
        _until(lambda: len(started) == 1)
        left = [_send(host, port, get) for _ in range(3)]  # wait behind the first...
        time.sleep(0.3)
        refused = _answer(_send(host, port, get))  # ...and a fifth finds no place to wait
        for s in left:  # the planners who waited gave up
            s.close()
        assert _answer(first).startswith(b"HTTP/1.1 200")
        time.sleep(1.0)
    assert len(started) == 1  # none of the abandoned renders started
    head, _, body = refused.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429") and b"retry-after:" in head.lower()
    assert b"/problems/too-many-jobs" in body


class _Leaving:
    """A request whose client leaves after ``after_s`` seconds."""

    def __init__(self, after_s: float) -> None:
        self.gone_at = time.time() + after_s
        self.url = type("U", (), {"path": "/areas/x/grids/map"})()

    async def is_disconnected(self) -> bool:
        return time.time() >= self.gone_at


def test_a_render_stops_at_its_next_step_when_its_client_leaves():
    import anyio

    steps: list[int] = []
    stopped = threading.Event()

    def validate_many(progress):
        try:
            for n in range(100):
                progress(f"validating plan {n}", n / 100)
                steps.append(n)
                time.sleep(0.05)
            return "report"
        except JobCancelled:
            stopped.set()
            raise

    finished, out = anyio.run(PageRenders().render, _Leaving(0.3), validate_many)
    assert (finished, out) == (False, None)
    assert stopped.wait(5) and 3 <= len(steps) < 20


def test_a_waited_draw_cancelled_meanwhile_is_a_409_naming_its_job(api):
    """?wait=true: the request waits for its queued job; a DELETE /jobs/{id} from elsewhere ends the wait with 409."""
    c, ctx = api
    release, _ = _blocker(c.app.state.jobs, None)
    answers: list = []
    waiter = threading.Thread(
        target=lambda: answers.append(c.post("/areas/monaco/plans?wait=true", json={"communities": ["Larvotto"]}))
    )
    waiter.start()
    _until(lambda: any(j.kind == "draw" for j in c.app.state.jobs._jobs.values()))
    job_id = next(j.id for j in c.app.state.jobs._jobs.values() if j.kind == "draw")
    assert c.delete(f"/jobs/{job_id}").status_code == 200
    waiter.join(30)
    release.set()
    (r,) = answers
    assert r.status_code == 409 and r.json()["context"] == {"job": job_id}
    assert job_id in r.json()["detail"] and "grid drawing" in r.json()["detail"] and "网格划分" in r.json()["detail_zh"]
    assert ctx.store.plans.list("monaco") == []
