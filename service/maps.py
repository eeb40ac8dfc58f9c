"""What the pages need: the landing page, an area's map, the grid maps, the edit page, and a map to carry around.

Each function gathers the data (from the area's cache where it can) and calls
:mod:`maps`; the routes only return the HTML.
"""

from __future__ import annotations

import json
import time
from html import escape
from pathlib import Path

from geo.osm_area import OSM_ATTRIBUTION
from maps.assets import copy_vendor, render_page
from maps.grids import grid_map
from maps.network import network_layers
from maps.render import MapSources, area_map
from service.areas import list_areas
from service.context import Context, Progress, study_area
from service.plans import validate_grids

VENDOR_URL = "/static/vendor"
EDIT_TEMPLATE = Path(__file__).resolve().parents[1] / "maps" / "templates" / "edit.html"


def _served_sources(name: str) -> MapSources:
    return MapSources(buildings_url=f"/areas/{name}/layers/buildings", roads_url=f"/areas/{name}/layers/roads")


def area_map_page(ctx: Context, name: str, *, tile_url: str | None = None, tile_attribution: str = "") -> str:
    """The area's map page: small layers inline; buildings, roads and the networks fetched for the visible box."""
    area = study_area(ctx, ctx.area(name))
    m = area_map(
        area,
        sources=_served_sources(name),
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        landing_url="/",
        extra_layers=list(network_layers(name)),
    )
    return render_page(m, VENDOR_URL)


def grid_map_page(
    ctx: Context,
    name: str,
    plan_ids: list[str] | None = None,
    *,
    tile_url: str | None = None,
    tile_attribution: str = "",
    progress: Progress | None = None,
) -> str:
    """The grid map of the adopted plans (or those named): grids, their report rows, and their blocks."""
    area = study_area(ctx, ctx.area(name))
    report = validate_grids(ctx, name, plan_ids=plan_ids, progress=progress)
    ids = [c["plan_id"] for c in report["communities"]]
    grids = {pid: ctx.store.plans.grids(name, pid) for pid in ids}
    blocks = {pid: ctx.store.plans.blocks(name, pid) for pid in ids}
    m = grid_map(
        area,
        report=report,
        grids=grids,
        blocks=blocks,
        sources=_served_sources(name),
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        landing_url="/",
    )
    return render_page(m, VENDOR_URL)


def write_area_map(
    ctx: Context, name: str, out: str | Path, *, tile_url: str | None = None, tile_attribution: str = ""
) -> tuple[Path, Path, float]:
    """Write a self-contained map: the page, its data inline, its assets in ``FILE_files/`` beside it.

    Returns the page, the assets folder and the seconds it took.
    """
    t0 = time.perf_counter()
    page = Path(out)
    study = study_area(ctx, ctx.area(name))
    m = area_map(
        study,
        sources=MapSources(buildings=study.layer("buildings"), roads=study.layer("roads")),
        tile_url=tile_url,
        tile_attribution=tile_attribution,
    )
    page.parent.mkdir(parents=True, exist_ok=True)
    assets = page.parent / f"{page.stem}_files"
    assets.mkdir(exist_ok=True)
    copy_vendor(assets)
    page.write_text(render_page(m, f"{assets.name}/vendor"), encoding="utf-8")
    return page, assets, time.perf_counter() - t0


def edit_page(ctx: Context, name: str, plan_id: str) -> str:
    """The page a planner redraws a plan on: its title, and the band its grids are held to."""
    plan = ctx.store.plans.get(name, plan_id)
    area_class = None
    if not plan.info.get("band"):  # an imported plan: the band of its community's class now
        coms = study_area(ctx, ctx.area(name)).layer("communities")
        row = coms[coms["fid"] == plan.community_fid]
        area_class = str(row["area_class"].iloc[0]) if len(row) else (plan.area_class or "urban")
    band = plan.band(ctx.rules, area_class)
    template = EDIT_TEMPLATE.read_text(encoding="utf-8")
    title = f"{plan.community_name or ''}（{plan.community_code}）"
    return (
        template.replace("{{TITLE}}", escape(title))
        .replace("{{AREA}}", escape(name))
        .replace("{{PLAN}}", escape(plan_id))
        .replace("{{AREA_JSON}}", json.dumps(name))
        .replace("{{PLAN_JSON}}", json.dumps(plan_id))
        .replace("{{BAND_JSON}}", json.dumps([int(v) if v.is_integer() else v for v in (band.low, band.high)]))
        .replace("{{ATTRIBUTION_JSON}}", json.dumps(OSM_ATTRIBUTION, ensure_ascii=False))
    )


def landing_page(ctx: Context) -> str:
    """The landing page: the areas and their maps."""
    items = list_areas(ctx)["areas"]
    rows = (
        "".join(
            f"<tr><td><a href='/areas/{escape(a['name'])}/map'><b>{escape(a['title'] or a['name'])}</b></a>"
            f"<br><small>{escape(a['name'])}</small></td><td>{a['communities']}</td><td>{a['buildings']:,}</td>"
            f"<td>{(a['households'] or 0):,}{'（估算）' if a['households_estimated'] else ''}</td>"
            f"<td>{escape(a['crs'])}</td>"
            f"<td><a href='/areas/{escape(a['name'])}/map'>地图</a> · "
            f"<a href='/areas/{escape(a['name'])}'>JSON</a></td></tr>"
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
