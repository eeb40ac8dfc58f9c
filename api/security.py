"""Guards at the edge of the app, as plain ASGI middleware: cross-site writes and oversized bodies.

Both answer with problem+json themselves, before the app reads the body, so
no route, parser or handler can turn the refusal into something else.

Cross-site requests. Until logins exist, anyone who can reach the service may
write to it; what must not happen is a page on another site making a planner's
browser write for it (a form POST that adopts a plan needs no preflight, nor do
multipart and text/plain bodies). Every state-changing request (any method but
GET, HEAD, OPTIONS, TRACE) is judged by its ``Origin`` header, else by
``Sec-Fetch-Site``:

* ``Origin`` equal to the request's own ``scheme://host[:port]`` (the ``Host``
  header, default ports ignored) or listed in ``WANGGE_ALLOWED_ORIGINS`` (a
  reverse proxy's public origin) passes; any other, and ``Origin: null`` (a
  sandboxed frame, a file, a redirect across sites), is refused with 403.
* Without ``Origin``: ``Sec-Fetch-Site: same-origin`` or ``none`` (typed by the
  user) passes; ``same-site`` is refused like ``cross-site``: a sibling host on
  the same intranet domain is another application, and a browser behind an
  allowed proxy sends ``Origin``, which is judged first.
* Neither header: not a browser (the CLI, scripts, curl) — it passes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import anyio

from api.errors import problem_response
from geo.errors import CrossSiteRequestError, UploadTooLargeError, WanggeError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})
DEFAULT_PORTS = {"http": 80, "https": 443}
DRAIN_BYTES = 64 * 1_048_576  # how much of a refused body we read and drop so the client can read our answer
DRAIN_SECONDS = 10.0


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None when it is no origin.

    Examples
    --------
    >>> normalise_origin("HTTP://Gis.Example:80")
    'http://gis.example'
    >>> normalise_origin("https://[::1]:8443/")
    'https://[::1]:8443'
    >>> normalise_origin("null") is None
    True
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.query or parts.fragment or parts.path not in ("", "/"):
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def own_origin(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """The origin a request was sent to: its scheme and its ``Host`` header (else the server address)."""
    scheme = str(scope.get("scheme") or "http")
    host = headers.get(b"host", b"").decode("latin-1")
    if not host and scope.get("server"):
        server_host, server_port = scope["server"]
        host = f"[{server_host}]:{server_port}" if ":" in str(server_host) else f"{server_host}:{server_port}"
    return normalise_origin(f"{scheme}://{host}") if host else None


async def _send_problem(scope: Scope, receive: Receive, send: Send, exc: WanggeError, *, close: bool = False) -> None:
    response = problem_response(exc, scope.get("path"))
    if close:
        response.headers["Connection"] = "close"
    await response(scope, receive, send)  # type: ignore[arg-type]


class CrossSiteGuard:
    """Refuse state-changing requests sent from another site with 403 problem+json (rules in the module doc).

    Parameters
    ----------
    app
        The ASGI app to guard.
    allowed_origins
        Extra origins allowed to write (``WANGGE_ALLOWED_ORIGINS``): a reverse proxy's public address.
    """

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o for o in (normalise_origin(a) for a in allowed_origins) if o)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self.refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _send_problem(scope, receive, send, refusal)

    def refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> CrossSiteRequestError | None:
        """The error refusing this request, or None when it may go on."""
        origin = headers.get(b"origin")
        if origin is not None:
            sent = origin.decode("latin-1").strip()
            normal = normalise_origin(sent)
            if normal is not None and (normal == own_origin(scope, headers) or normal in self.allowed):
                return None
            return CrossSiteRequestError(
                f"A {scope['method']} from another site ({sent or 'an empty Origin'}) is refused: until logins exist "
                "only the service's own pages may change data (a reverse proxy's address goes in "
                "WANGGE_ALLOWED_ORIGINS)",
                detail_zh=f"拒绝来自其他站点（{sent or '空 Origin'}）的 {scope['method']} 请求：在启用登录之前，"
                "只有本服务自己的页面可以修改数据（反向代理的地址请配置在 WANGGE_ALLOWED_ORIGINS）",
                origin=sent,
                method=scope["method"],
            )
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site is None:
            return None  # not a browser: the CLI, a script
        site = fetch_site.decode("latin-1").strip().lower()
        if site in SAME_ORIGIN_FETCH:
            return None
        return CrossSiteRequestError(
            f"A {scope['method']} sent from another site (Sec-Fetch-Site: {site}) is refused: until logins exist "
            "only the service's own pages may change data",
            detail_zh=f"拒绝来自其他站点（Sec-Fetch-Site: {site}）的 {scope['method']} 请求：在启用登录之前，"
            "只有本服务自己的页面可以修改数据",
            sec_fetch_site=site,
            method=scope["method"],
        )


class UploadLimit:
    """Refuse request bodies over the limit with 413 problem+json, before they are read into memory or disk.

    A declared ``Content-Length`` over the limit is refused at once. A body
    without one (``Transfer-Encoding: chunked``) is counted as it streams: past
    the limit, the app is told the client has gone (whatever it then does —
    a multipart parser answering 400, a route failing — is dropped) and the 413
    is sent by this middleware, so it is a 413 in every case. Before answering,
    up to :data:`DRAIN_BYTES` of the rest are read and dropped, so that a client
    still sending sees the answer rather than a reset connection.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            if headers.get(b"expect", b"").lower() != b"100-continue":  # else the body was never sent
                await _drain(receive)
            await _send_problem(scope, receive, send, self._error(), close=True)
            return
        seen = 0
        over = False  # the limit was passed: the app is told the client went, and we answer
        rest_unread = False  # the client is still sending
        started = False

        async def counting_receive() -> Message:
            nonlocal seen, over, rest_unread
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    rest_unread = bool(message.get("more_body", False))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # our 413 answers instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
            # The app failed on the cut-off body; the 413 below is the answer.
        if over and not started:
            if rest_unread:
                await _drain(receive)
            await _send_problem(scope, receive, send, self._error(), close=True)

    def _error(self) -> UploadTooLargeError:
        mb = self.max_bytes / 1_048_576
        return UploadTooLargeError(
            f"The upload is larger than the limit of {mb:g} MB (WANGGE_MAX_UPLOAD_MB)",
            detail_zh=f"上传文件超过 {mb:g} MB 的限制（WANGGE_MAX_UPLOAD_MB）",
            limit_mb=mb,
        )


async def _drain(receive: Receive) -> None:
    """Read and drop what is left of a refused body, within :data:`DRAIN_BYTES` and :data:`DRAIN_SECONDS`."""
    drained = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while drained < DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return
