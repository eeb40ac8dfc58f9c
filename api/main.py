"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import make_url

from api.deps import ContextDep, RulesDep
from api.errors import document_problems, install_error_handlers
from api.jobs import JobRunner, PageRenders
from api.routes import areas, cameras, maps, networks, pages, patrol, plans, response
from api.schemas import Health
from api.security import CrossSiteGuard, UploadLimit
from api.settings import Settings, get_settings
from api.uploads import remove_stale_uploads
from maps.assets import STATIC_DIR as MAP_STATIC
from service.context import Context

API_STATIC = Path(__file__).resolve().parent / "static"


def _version() -> str:
    try:
        return version("wangge")
    except PackageNotFoundError:
        return "0+unknown"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # On the way down, queued jobs never start and the running one stops at its next step, saving nothing
    # half-done; waited for in a thread, so the loop can finish answering.
    await anyio.to_thread.run_sync(app.state.jobs.shutdown)


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    """Build the app: settings, rules and store are read here, once, and kept on ``app.state``.

    Parameters
    ----------
    settings
        Defaults to the ``WANGGE_*`` environment.
    context
        A ready context (tests pass one over a temporary store): its store, rules, code lists and cache are
        used, with the import limits of ``settings``.
    """
    settings = settings or get_settings()
    if context is None:
        ctx = Context.open(settings)
    else:
        ctx = replace(
            context, max_import_features=settings.max_import_features, max_expanded_mb=settings.max_expanded_mb
        )
    remove_stale_uploads()  # upload folders left by a process that died mid-import
    app = FastAPI(
        title="wangge 网格",
        version=_version(),
        description="Grid drawing, camera quotas, patrol routes and coverage for grassroots governance. "
        "网格划分、监控点位、巡逻路线与覆盖分析。Errors are application/problem+json (RFC 9457).",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.rules = ctx.rules
    app.state.context = ctx
    app.state.jobs = JobRunner(max_jobs=settings.max_jobs, max_jobs_per_area=settings.max_jobs_per_area)
    app.state.renders = PageRenders()
    install_error_handlers(app)
    app.mount("/static/vendor", StaticFiles(directory=MAP_STATIC / "vendor"), name="vendor")
    app.mount("/static/shell", StaticFiles(directory=MAP_STATIC / "shell"), name="shell")
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
    app.include_router(networks.router)
    app.include_router(response.router)
    app.include_router(cameras.router)
    app.include_router(patrol.router)
    app.include_router(maps.router)
    app.include_router(pages.router)
    document_problems(app)
    # Pages, JSON and GeoJSON compress 5-10 times (tiles come compressed already and pass untouched).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    # The last added runs first: a cross-site write is refused before its size is even looked at.
    app.add_middleware(UploadLimit, max_bytes=int(settings.max_upload_mb * 1_048_576))
    app.add_middleware(CrossSiteGuard, allowed_origins=settings.allowed_origin_list)
    logging.getLogger("wangge").setLevel(logging.INFO)
    return app
