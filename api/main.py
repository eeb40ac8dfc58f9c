"""The FastAPI application factory."""

from __future__ import annotations

import json
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url

from api.deps import ContextDep, RulesDep
from api.errors import PROBLEM_JSON, install_error_handlers, problem_body
from api.jobs import JobRunner
from api.routes import areas, pages, plans
from api.schemas import Health
from api.services import Context
from api.settings import Settings, get_settings
from api.uploads import remove_stale_uploads
from geo.errors import UploadTooLargeError
from geo.rules import load_rules
from maps.assets import STATIC_DIR as MAP_STATIC

API_STATIC = Path(__file__).resolve().parent / "static"


def _version() -> str:
    try:
        return version("wangge")
    except PackageNotFoundError:
        return "0+unknown"


class UploadLimit:
    """Refuse request bodies over the limit with 413, before they are read into memory or disk.

    A declared ``Content-Length`` over the limit is refused at once; a body
    without one is counted as it streams and cut off when it passes the limit.
    """

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        seen = 0
        refused = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge()
            return message  # type: ignore[no-any-return]

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        mb = self.max_bytes / 1_048_576
        exc = UploadTooLargeError(
            f"The upload is larger than the limit of {mb:g} MB (WANGGE_MAX_UPLOAD_MB)",
            detail_zh=f"上传文件超过 {mb:g} MB 的限制（WANGGE_MAX_UPLOAD_MB）",
            limit_mb=mb,
        )
        body = json.dumps(problem_body(exc, scope.get("path")), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    """Build the app: settings, rules and store are read here, once, and kept on ``app.state``.

    Parameters
    ----------
    settings
        Defaults to the ``WANGGE_*`` environment.
    context
        A ready context (tests pass one over a temporary store).
    """
    settings = settings or get_settings()
    rules = load_rules(settings.rules)
    ctx = context or Context.open(store_url=settings.store_url, rules=rules, data_dir=settings.data_dir)
    remove_stale_uploads()  # upload folders left by a process that died mid-import
    app = FastAPI(
        title="wangge 网格",
        version=_version(),
        description="Grid drawing, camera quotas, patrol routes and coverage for grassroots governance. "
        "网格划分、监控点位、巡逻路线与覆盖分析。Errors are application/problem+json (RFC 9457).",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.rules = ctx.rules
    app.state.context = ctx
    app.state.jobs = JobRunner()
    install_error_handlers(app)
    app.mount("/static/vendor", StaticFiles(directory=MAP_STATIC / "vendor"), name="vendor")
    app.mount("/static/swagger", StaticFiles(directory=API_STATIC / "swagger"), name="swagger")

    @app.get("/health", response_model=Health, tags=["service 服务"], summary="Liveness 服务状态")
    def health(c: ContextDep, r: RulesDep) -> dict[str, Any]:
        backend = make_url(settings.store_url).get_backend_name()
        return {
            "status": "ok",
            "version": _version(),
            "store": backend,
            "areas": len(c.store.area_names()),
            "rules": list(r.source),
        }

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(API_STATIC / "swagger" / "favicon-32x32.png", media_type="image/png")

    app.include_router(areas.router)
    app.include_router(plans.router)
    app.include_router(pages.router)
    app.add_middleware(UploadLimit, max_bytes=int(settings.max_upload_mb * 1_048_576))
    logging.getLogger("wangge").setLevel(logging.INFO)
    return app
