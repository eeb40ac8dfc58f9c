"""Cross-site writes refused (issue 8, item 2) and oversized chunked uploads answered 413 (item 11).

A page on another site can make a planner's browser send a form POST, a
multipart or a text/plain body without a preflight; until logins exist every
state-changing request from another site is refused, whatever its body.
"""

import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geo.io import read_code_lists_in
from geo.rules import DEFAULT_RULES
from service.context import Context
from service.imports import load_package
from store.areas import Store
from tests.conftest import DATA

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Monaco behind a 1 MB upload limit."""
    url = f"sqlite:///{tmp_path_factory.mktemp('security') / 's.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES, code_list=read_code_lists_in(DATA / "admin_codes"))
    load_package(ctx, DATA / "monaco.gpkg")
    app = create_app(Settings(store_url=url, data_dir=DATA, max_upload_mb=1), context=ctx)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, ctx


def _adopted(ctx) -> list[str]:
    return [p.plan_id for p in ctx.store.plans.list("monaco") if p.adopted]


def _is_cross_site_refusal(r) -> bool:
    body = r.json()
    return (
        r.status_code == 403
        and r.headers["content-type"] == "application/problem+json"
        and body["type"] == "/problems/cross-site-request"
        and body["title_zh"] == "拒绝跨站请求"
        and body["detail_zh"]
    )


def test_a_form_post_from_another_site_cannot_adopt_a_plan(site):
    c, ctx = site
    for seed in (1, 2):  # two plans of one community, the second adopted
        r = c.post("/areas/monaco/plans?wait=true", json={"communities": ["Larvotto"], "seed": seed})
        assert r.status_code == 200, r.text
    first, second = sorted(p.plan_id for p in ctx.store.plans.list("monaco"))
    assert _adopted(ctx) == [second]
    # What a hostile page's auto-submitted <form method=post> sends: an Origin and a urlencoded body.
    r = c.post(
        f"/areas/monaco/plans/{first}/adopt",
        data={"x": "1"},
        headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    )
    assert _is_cross_site_refusal(r), r.text
    assert r.json()["context"] == {"origin": EVIL, "method": "POST"}
    assert _adopted(ctx) == [second]
    # The same request from the service's own page goes through.
    r = c.post(f"/areas/monaco/plans/{first}/adopt", headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and _adopted(ctx) == [first]


@pytest.mark.parametrize(
    "kind",
    ["form", "multipart", "text/plain", "json"],
)
def test_every_body_from_another_site_is_refused_and_nothing_is_queued(site, kind):
    c, ctx = site
    jobs_before = len(c.app.state.jobs._jobs)
    layers_before = ctx.store.summary("monaco").layers
    headers = {"Origin": EVIL}
    if kind == "form":
        r = c.post("/areas/monaco/plans", data={"communities": "Larvotto"}, headers=headers)
    elif kind == "multipart":
        files = {"files": ("cams.csv", b"name,lon,lat\nx,7.42,43.73\n")}
        r = c.post("/areas/monaco/imports", data={"layer": "cameras"}, files=files, headers=headers)
    elif kind == "text/plain":  # a form with enctype=text/plain can carry JSON-looking text
        r = c.post(
            "/areas/monaco/plans",
            content=b'{"communities": ["Larvotto"]}',
            headers={**headers, "Content-Type": "text/plain"},
        )
    else:
        r = c.post("/areas/monaco/plans", json={"communities": ["Larvotto"]}, headers=headers)
    assert _is_cross_site_refusal(r), r.text
    assert len(c.app.state.jobs._jobs) == jobs_before
    assert ctx.store.summary("monaco").layers == layers_before


def test_delete_patch_and_put_are_guarded_too(site):
    c, _ = site
    for method in ("DELETE", "PUT", "PATCH"):
        r = c.request(method, "/jobs/nonexistent", headers={"Origin": EVIL})
        assert _is_cross_site_refusal(r), (method, r.text)


@pytest.mark.parametrize(
    ("headers", "passes"),
    [
        ({}, True),  # the CLI, scripts, curl: no browser headers at all
        ({"Origin": "http://testserver"}, True),
        ({"Origin": "http://testserver:80"}, True),  # the default port is the same origin
        ({"Origin": "HTTP://TestServer"}, True),
        ({"Origin": "https://testserver"}, False),  # another scheme is another origin
        ({"Origin": "http://testserver:8080"}, False),
        ({"Origin": "http://testserver.evil.example"}, False),
        ({"Origin": "null"}, False),  # sandboxed frames, files, redirects across sites
        ({"Origin": ""}, False),
        ({"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"}, True),  # Origin decides when present
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),  # typed or bookmarked by the user
        ({"Sec-Fetch-Site": "same-site"}, False),  # a sibling host is another application
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "something-new"}, False),
    ],
)
def test_which_requests_may_write(site, headers, passes):
    c, _ = site
    r = c.post("/areas/monaco/plans/no-such-plan/adopt", headers=headers)
    if passes:
        assert r.status_code == 404, r.text  # it reached the route
    else:
        assert _is_cross_site_refusal(r), r.text


def test_the_host_header_names_the_own_origin(site):
    c, _ = site
    r = c.post(
        "/areas/monaco/plans/no-such-plan/adopt",
        headers={"Host": "wangge.county.gov.cn:8000", "Origin": "http://wangge.county.gov.cn:8000"},
    )
    assert r.status_code == 404
    r = c.post(
        "/areas/monaco/plans/no-such-plan/adopt",
        headers={"Host": "wangge.county.gov.cn:8000", "Origin": "http://testserver"},
    )
    assert _is_cross_site_refusal(r)


def test_reads_from_another_site_are_not_refused(site):
    c, _ = site
    r = c.get("/areas/monaco", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200


def test_a_reverse_proxy_origin_is_allowed_by_setting(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    settings = Settings(
        store_url=url, data_dir=DATA, allowed_origins="https://gis.county.gov.cn/, http://10.0.0.5:8080"
    )
    with TestClient(create_app(settings)) as c:
        for origin in ("https://gis.county.gov.cn", "http://10.0.0.5:8080", "https://GIS.county.gov.cn:443"):
            r = c.post("/areas/none/plans/none/adopt", headers={"Origin": origin})
            assert r.status_code == 404, (origin, r.text)
        r = c.post("/areas/none/plans/none/adopt", headers={"Origin": "https://gis.county.gov.cn:8443"})
        assert _is_cross_site_refusal(r)


# --- Oversized chunked uploads (item 11): 413, never 400 ----------------------------------------------------------


def _chunks(total: int, size: int = 64 * 1024):
    line = b"x,7.42,43.73\n"
    yield b'--B\r\nContent-Disposition: form-data; name="layer"\r\n\r\ncameras\r\n'
    yield b'--B\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n\r\nname,lon,lat\n'
    sent = 0
    while sent < total:
        yield line * (size // len(line))
        sent += size
    yield b"\r\n--B--\r\n"


def test_an_oversized_chunked_upload_is_413(site):
    c, ctx = site
    before = ctx.store.summary("monaco").layers
    # A generator body has no length: httpx sends it with Transfer-Encoding: chunked.
    r = c.post(
        "/areas/monaco/imports",
        content=_chunks(3 * 1_048_576),
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/upload-too-large" and "WANGGE_MAX_UPLOAD_MB" in r.json()["detail"]
    assert ctx.store.summary("monaco").layers == before
    # The same for a JSON body that never declares its length.
    r = c.post(
        "/areas/monaco/plans", content=(b" " * 65536 for _ in range(40)), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["type"] == "/problems/upload-too-large"


@contextmanager
def served(app):
    """The app on a real uvicorn server on a free loopback port, in a thread; yields (host, port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_an_oversized_chunked_upload_over_a_real_socket_is_answered_413(site):
    c, _ = site
    with served(c.app) as (host, port), socket.create_connection((host, port), timeout=20) as s:
        s.sendall(
            b"POST /areas/monaco/imports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=B\r\n\r\n"
        )
        for chunk in _chunks(2 * 1_048_576):  # the whole body is sent: the server reads and drops the rest
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            got = s.recv(65536)
            if not got:
                break
            answer += got
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"application/problem+json" in head.lower()
    assert json.loads(body)["type"] == "/problems/upload-too-large"
