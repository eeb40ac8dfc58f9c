"""HTML pages: the landing page, each area's map, and the offline API docs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from api.deps import ContextDep, RendersDep, SettingsDep
from api.jobs import CLIENT_CLOSED_REQUEST, Progress
from service import maps

router = APIRouter(tags=["pages 页面"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def landing(ctx: ContextDep) -> str:
    return maps.landing_page(ctx)


@router.get("/areas/{name}/map", response_class=HTMLResponse, summary="The area's map 研究区地图")
async def area_map_page(
    name: str, ctx: ContextDep, settings: SettingsDep, request: Request, renders: RendersDep
) -> Any:
    def build(progress: Progress) -> str:
        return maps.area_map_page(ctx, name, tile_url=settings.tile_url, tile_attribution=settings.tile_attribution)

    # Bounded like every per-request render, and never started for a client who has gone (folium has no steps
    # to stop between: a render that has started runs to its end, holding its place).
    finished, page = await renders.render(request, build)
    return page if finished else Response(status_code=CLIENT_CLOSED_REQUEST)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title="wangge API 文档",
        swagger_js_url="/static/swagger/swagger-ui-bundle.js",
        swagger_css_url="/static/swagger/swagger-ui.css",
        swagger_favicon_url="/static/swagger/favicon-32x32.png",
        # No validator badge: it would call validator.swagger.io from an intranet.
        swagger_ui_parameters={"validatorUrl": None},
    )
