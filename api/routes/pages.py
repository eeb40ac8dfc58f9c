"""HTML pages: the landing page, each area's map, and the offline API docs."""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from api import services
from api.deps import ContextDep, RendersDep, SettingsDep
from api.jobs import CLIENT_CLOSED_REQUEST, Progress
from geo.osm_area import OSM_ATTRIBUTION
from maps.assets import render_page
from maps.render import MapSources, area_map

router = APIRouter(tags=["pages 页面"])


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def landing(ctx: ContextDep) -> str:
    items = services.list_areas(ctx)["areas"]
    rows = (
        "".join(
            f"<tr><td><a href='/areas/{escape(a['name'])}/map'><b>{escape(a['title'] or a['name'])}</b></a>"
            f"<br><small>{escape(a['name'])}</small></td><td>{a['communities']}</td><td>{a['buildings']:,}</td>"
            f"<td>{(a['households'] or 0):,}{'（估算）' if a['households_estimated'] else ''}</td><td>{escape(a['crs'])}</td>"
            f"<td><a href='/areas/{escape(a['name'])}/map'>地图</a> · <a href='/areas/{escape(a['name'])}'>JSON</a></td></tr>"
            for a in items
        )
        or "<tr><td colspan=6>还没有研究区。运行 <code>make demo</code> 或 <code>wangge import-osm</code> 导入。</td></tr>"
    )
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>网格 wangge · 研究区</title>
<style>body{{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:960px;
color:#222;padding:0 1rem}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.5rem;
text-align:left}}th{{background:#f4f1ea}}small{{color:#666}}footer{{margin-top:2rem;font-size:.85rem;color:#666}}</style>
</head><body><h1>网格 wangge</h1><p>网格划分、监控点位、巡逻路线与覆盖分析。选择一个研究区查看地图。</p>
<table><thead><tr><th>研究区</th><th>社区/行政村</th><th>建筑</th><th>户数</th><th>计算坐标系</th><th></th></tr></thead>
<tbody>{rows}</tbody></table>
<p><a href="/docs">API 文档（离线）</a> · <a href="/areas">研究区 JSON</a> · <a href="/health">服务状态</a></p>
<footer>户数为根据建筑轮廓估算的数值，除非由用户提供。地图数据 {OSM_ATTRIBUTION}。</footer></body></html>"""


@router.get("/areas/{name}/map", response_class=HTMLResponse, summary="The area's map 研究区地图")
async def area_map_page(
    name: str, ctx: ContextDep, settings: SettingsDep, request: Request, renders: RendersDep
) -> Any:
    def build(progress: Progress) -> str:
        area = ctx.store.load_area(name, skip=("buildings", "roads"))
        m = area_map(
            area,
            sources=MapSources(
                buildings_url=f"/areas/{name}/layers/buildings", roads_url=f"/areas/{name}/layers/roads"
            ),
            tile_url=settings.tile_url,
            tile_attribution=settings.tile_attribution,
            landing_url="/",
        )
        return render_page(m, "/static/vendor")

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
