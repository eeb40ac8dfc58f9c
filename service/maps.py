"""What the pages need: the landing page, the map shell of an area (area map, grid map, one plan's map), the edit
page, and a map to carry around.

Every map is the same shell (:mod:`maps.shell`) with the layers of :mod:`maps.layers` listed for its page and
present in the area; big layers come as vector tiles and small ones as GeoJSON (:mod:`service.tiles`), so a page
holds no data and opens as fast for a county as for a village. The exported map carries its tiles pre-cut as
script files beside it.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from geo.io.mvt import encode_density, encode_tile, fit_zoom, tiles_covering
from geo.osm_area import OSM_ATTRIBUTION
from maps.assets import copy_vendor
from maps.layers import Layer, PlanRef, layers_for
from maps.shell import SHELL_DIR, render_shell
from service.context import Context, Progress, say, study_area
from service.records import AreaRecord, PlanRecord
from service.tiles import (
    MAX_TILE_ZOOM,
    adopted_plans,
    area_record,
    layer_available,
    layer_frame,
    map_zoom,
    one_plan,
    tile_source,
    tile_version,
    to_geojson,
)

VENDOR_URL = "/static/vendor"
SHELL_URL = "/static/shell"
EDIT_TEMPLATE = Path(__file__).resolve().parents[1] / "maps" / "templates" / "edit.html"
STATE_ZH = {"draft": "草稿", "reviewed": "已审核", "published": "已发布", "superseded": "已取代"}
PAGE_ZH = {"area": "区域地图", "grids": "网格地图", "plan": "方案地图"}


def _q(value: str) -> str:
    return quote(str(value), safe="")


def _area_words(ctx: Context, name: str) -> tuple[str, str, dict[str, Any]]:
    """The area's title, a line of its figures, and its facts for the page: from its record alone (a page opens
    without reading the area's features; the tiles read them)."""
    record = area_record(ctx, ctx.area(name))
    item = record.item()
    est = "（估算）" if item["households_estimated"] else ""
    sub = (
        f"{item['communities']} 个社区/行政村 · {item['buildings']:,} 栋建筑 · 户数 {(item['households'] or 0):,}{est}"
    )
    if record.meta.get("codes_illustrative"):
        sub += " · 代码为示意性分配"
    if record.meta.get("synthetic"):
        sub += " · 合成数据（SYNTHETIC）"
    b = record.bbox or [-180.0, -85.0, 180.0, 85.0]
    facts = {
        "name": name,
        "title": item["title"] or name,
        "bounds": [[b[1], b[0]], [b[3], b[2]]],
        "attribution": str(record.meta.get("attribution") or OSM_ATTRIBUTION),
    }
    return item["title"] or name, sub, facts


def _plan_links(name: str, plan_id: str) -> list[dict[str, str]]:
    base = f"/areas/{_q(name)}/plans/{_q(plan_id)}"
    return [
        {"label": "方案地图", "href": f"{base}/map"},
        {"label": "调整网格", "href": f"{base}/edit"},
        {"label": "版本历史", "href": f"{base}/edit#history"},
    ]


def _plan_entries(name: str, plans: list[PlanRecord]) -> list[dict[str, Any]]:
    """Each plan of the area for the navigation: adopted ones first within each community."""
    ordered = sorted(plans, key=lambda p: (p.community_code, not p.adopted, p.plan_id))
    return [
        {
            "community": f"{p.community_name or p.community_code}（{p.plan_id}）",
            "state": f"{STATE_ZH.get(p.state, p.state)} · 第 {p.version} 版{' · 采用' if p.adopted else ''}",
            "links": _plan_links(name, p.plan_id),
        }
        for p in ordered
    ]


def _grid_summary(frame: Any) -> tuple[str, str | None]:
    """A line of the grids' figures, and a warning when some are out of band with no reason."""
    if not len(frame):
        return "", None
    n = len(frame)
    in_band = int(frame["in_band"].astype(bool).sum())
    unexplained = int(((~frame["in_band"].astype(bool)) & (frame["reason_zh"] == "未说明原因（待处理）")).sum())
    line = f"{n} 个网格 · {in_band / n:.0%} 在户数区间内 · 超出区间 {n - in_band} 个（均有原因）"
    if unexplained:
        line = f"{n} 个网格 · {in_band / n:.0%} 在户数区间内 · 超出区间 {n - in_band} 个"
        return line, f"{unexplained} 个网格超出区间且无原因，需调整"
    return line, None


def map_config(
    ctx: Context,
    name: str,
    page: str,
    *,
    plan_id: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "",
) -> tuple[str, dict[str, Any]]:
    """The window title and the shell's configuration of a page (``area``, ``grids`` or ``plan``).

    Raises
    ------
    NotFoundError
        Unknown area, or plan.
    """
    entry = ctx.area(name)
    title, subtitle, facts = _area_words(ctx, name)
    plans: tuple[PlanRef, ...] = one_plan(ctx, name, plan_id) if plan_id else adopted_plans(ctx, name)
    all_plans = ctx.store.plans.list(name)
    layers = []
    for layer in layers_for(page):
        if layer_available(ctx, entry, layer, plans, on=layer.on(page)):
            layers.append({**layer.as_json(), "on": layer.on(page), "order": layer.order})
    layers = _grouped(layers, first=_layer("grids").group if page in ("grids", "plan") else None)
    base = f"/areas/{_q(name)}"
    scope = f"{base}/plans/{_q(plan_id)}" if plan_id else base
    area_version = tile_version(entry, None)
    plans_version = tile_version(entry, plans)
    tabs = [{"label": "区域地图", "href": f"{base}/map", "current": page == "area"}]
    if all_plans:
        tabs.append({"label": "网格地图", "href": f"{base}/grids/map", "current": page == "grids"})
    nav: dict[str, Any] = {
        "crumbs": [{"label": "研究区列表", "href": "/"}, {"label": title, "href": f"{base}/map"}],
        "title": title,
        "subtitle": subtitle,
        "tabs": tabs,
        "plans": _plan_entries(name, all_plans),
        "plansTitle": f"网格方案（{len(all_plans)} 个）",
        "plansOpen": False,  # one click away: open, it would cover a third of the map
    }
    if page == "grids" and not plans:
        nav["warning"] = "尚无网格方案：用 wangge grids draw 或 API（POST /areas/{name}/plans）划分网格后在此查看。"
    if plans and page in ("grids", "plan"):
        nav["summary"], warning = _grid_summary(layer_frame(ctx, entry, _layer("grids"), plans))
        if warning:
            nav["warning"] = warning
    if plan_id:
        record = next((p for p in all_plans if p.plan_id == plan_id), None)
        ref = plans[0]
        nav["title"] = f"{ref.community_name or ref.community_code} · 方案 {plan_id}"
        nav["crumbs"].append({"label": "方案", "href": None})
        state = record.state if record else ""
        nav["subtitle"] = (
            f"{STATE_ZH.get(state, state)} · 第 {ref.version} 版{' · 采用' if record and record.adopted else ''}"
        )
        grids_frame = layer_frame(ctx, entry, _layer("grids"), plans)
        if len(grids_frame):  # the plan's own ground, not the whole area
            b = grids_frame.total_bounds
            facts = {**facts, "bounds": [[float(b[1]), float(b[0])], [float(b[3]), float(b[2])]]}
        tabs.append({"label": "方案地图", "href": f"{scope}/map", "current": True})
        tabs += [{**link, "current": False} for link in _plan_links(name, plan_id)[1:]]
        nav["plans"] = []
    config = {
        "page": page,
        "planPage": bool(plan_id),
        "area": facts,
        "layers": layers,
        "versions": {"area": area_version, "plans": plans_version},
        "maxTileZoom": MAX_TILE_ZOOM,
        "urls": {
            "tiles": f"{scope}/tiles/{{layers}}/{{uz}}/{{x}}/{{y}}.pbf?v={{v}}",
            "layer": f"{scope}/map/layers/{{key}}?v={{v}}",
            "where": f"{base}/where",
            "planBase": f"{base}/plans/",
            "patrolBase": f"{base}/patrol/routes/",  # a route's GPX: {patrolBase}{route_id}.gpx
        },
        "nav": nav,
        "basemap": {"url": tile_url, "attribution": tile_attribution} if tile_url else None,
    }
    page_title = f"{nav['title']} · {PAGE_ZH[page]}"
    return page_title, config


def _grouped(layers: list[dict[str, Any]], first: str | None = None) -> list[dict[str, Any]]:
    """Layers listed group by group: the page's own group (``first``), then groups with a layer on, each where
    its lowest layer is drawn, then the rest."""
    rank: dict[str, tuple[int, int]] = {}
    for layer in layers:
        here = (-1 if layer["group"] == first else 0 if layer["on"] else 1, layer["order"])
        rank[layer["group"]] = min(rank.get(layer["group"], here), here)
    return sorted(layers, key=lambda layer: (rank[layer["group"]], layer["group"], layer["order"]))


def _layer(key: str) -> Layer:
    from maps.layers import get_layer

    layer = get_layer(key)
    assert layer is not None, key
    return layer


def area_map_page(ctx: Context, name: str, *, tile_url: str | None = None, tile_attribution: str = "") -> str:
    """The area's map (``/areas/{name}/map``)."""
    title, config = map_config(ctx, name, "area", tile_url=tile_url, tile_attribution=tile_attribution)
    return render_shell(config, title=title, vendor=VENDOR_URL, shell=SHELL_URL)


def grid_map_page(
    ctx: Context,
    name: str,
    plan_ids: list[str] | None = None,
    *,
    tile_url: str | None = None,
    tile_attribution: str = "",
    progress: Progress | None = None,
) -> str:
    """The grid map of the adopted plans (``/areas/{name}/grids/map``), or of one plan (``…/plans/{id}/map``)."""
    say(progress, "map page", 0.0)
    plan_id = plan_ids[0] if plan_ids else None
    page = "plan" if plan_id else "grids"
    title, config = map_config(ctx, name, page, plan_id=plan_id, tile_url=tile_url, tile_attribution=tile_attribution)
    return render_shell(config, title=title, vendor=VENDOR_URL, shell=SHELL_URL)


# -- the map to carry around ----------------------------------------------------------------------------------------

EXPORT_MAX_TILE_ZOOM = 15  # pre-cut up to map zoom 16; closer, the browser scales those tiles


def _fit_zoom(bounds: list[list[float]], width: int = 1366, height: int = 768) -> int:
    """The map zoom at which a lon/lat box (Leaflet's ``[[s, w], [n, e]]``) fills a window of that size."""
    (s, w), (n, e) = bounds
    return int(fit_zoom((w, s, e, n), width, height))


def write_area_map(
    ctx: Context,
    name: str,
    out: str | Path,
    *,
    tile_url: str | None = None,
    tile_attribution: str = "",
    progress: Progress | None = None,
) -> tuple[Path, Path, float]:
    """Write a map that needs no server: the page, and in ``FILE_files/`` its tiles and layers as script files
    (``tiles/{z}/{x}/{y}.js``, ``layers/{key}.js``), an index of the tiles that exist, the shell and the
    vendored libraries. Opened over ``file://`` it loads nothing from anywhere else.

    Returns the page, the folder and the seconds it took.
    """
    t0 = time.perf_counter()
    page = Path(out)
    page.parent.mkdir(parents=True, exist_ok=True)
    files = page.parent / f"{page.stem}_files"
    if files.exists():
        shutil.rmtree(files)
    files.mkdir()
    copy_vendor(files)
    shutil.copytree(SHELL_DIR, files / "shell")
    entry = ctx.area(name)
    title, _subtitle, facts = _area_words(ctx, name)
    _t, config = map_config(ctx, name, "area", tile_url=tile_url, tile_attribution=tile_attribution)
    layers = _grouped(
        [
            {**layer.as_json(), "on": layer.on("export"), "order": layer.order}
            for layer in layers_for("export")
            # an export has no API: no plan layers, nothing read by view
            if layer.scope == "area" and layer.source != "bbox" and layer_available(ctx, entry, layer, on=True)
        ]
    )
    tile_layers = [
        layer for layer in layers_for("export") if layer.source == "tiles" and layer.key in {x["key"] for x in layers}
    ]
    # tiles: every zoom from a little wider than the whole area down to the street, each tile all layers at once
    index: dict[str, int] = {}
    zoom_min = max(0, _fit_zoom(facts["bounds"]) - 3)
    bounds = (facts["bounds"][0][1], facts["bounds"][0][0], facts["bounds"][1][1], facts["bounds"][1][0])
    sources = {layer.key: tile_source(ctx, entry, layer, ()) for layer in tile_layers}
    zooms = list(range(max(0, zoom_min - 1), EXPORT_MAX_TILE_ZOOM + 1))
    for i, z in enumerate(zooms):
        say(progress, f"tiles of zoom {z}", i / len(zooms))
        for x, y in tiles_covering(bounds, z):
            parts = []
            for layer in tile_layers:
                if map_zoom(z) < layer.min_zoom:
                    continue
                src = sources[layer.key]
                if layer.density is not None and map_zoom(z) < layer.density.detail_zoom:
                    parts.append(encode_density(src, z, x, y))
                else:
                    parts.append(encode_tile(src, z, x, y, simplify_units=layer.simplify_at(map_zoom(z))))
            raw = b"".join(parts)
            if not _has_features(raw):
                continue
            path = files / "tiles" / str(z) / str(x) / f"{y}.js"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f'WG_TILE("{z}/{x}/{y}","{base64.b64encode(raw).decode()}");\n', encoding="ascii")
            index[f"{z}/{x}/{y}"] = 1
    (files / "tiles").mkdir(exist_ok=True)
    (files / "tiles" / "index.js").write_text(f"window.WG_TILES={json.dumps(index)};\n", encoding="ascii")
    # small layers: one script each
    (files / "layers").mkdir()
    for layer in layers_for("export"):
        if layer.source == "tiles" or layer.key not in {x["key"] for x in layers}:
            continue
        body = to_geojson(layer_frame(ctx, entry, layer))
        # JSON is JavaScript; "</" and U+2028/9 are written escaped all the same
        safe = body.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        (files / "layers" / f"{layer.key}.js").write_text(
            f"WG_LAYER({json.dumps(layer.key)},{safe});\n", encoding="utf-8"
        )
    rel = files.name
    config.update(
        {
            "layers": layers,
            "versions": {"area": "export", "plans": "export"},
            "maxTileZoom": EXPORT_MAX_TILE_ZOOM,
            "bundleAll": True,
            "urls": {
                "tiles": f"{rel}/tiles/{{uz}}/{{x}}/{{y}}.js",
                "layer": f"{rel}/layers/{{key}}.js",
                "where": None,
                "planBase": None,
            },
            "export": True,
        }
    )
    nav = config["nav"]
    nav["crumbs"] = [{"label": title, "href": None}]
    nav["tabs"] = []
    nav["plans"] = []
    nav.pop("warning", None)
    nav["summary"] = f"离线地图 · 导出于 {time.strftime('%Y-%m-%d')}"
    html = render_shell(
        config,
        title=f"{title} · 区域地图（离线）",
        vendor=f"{rel}/vendor",
        shell=f"{rel}/shell",
        preload=[f"{rel}/shell/export_shim.js", f"{rel}/tiles/index.js"],
    )
    page.write_text(html, encoding="utf-8")
    say(progress, "written", 1.0)
    return page, files, time.perf_counter() - t0


def _has_features(tile: bytes) -> bool:
    from mapbox_vector_tile.Mapbox import vector_tile_pb2

    parsed = vector_tile_pb2.tile()
    parsed.ParseFromString(tile)
    return any(len(layer.features) for layer in parsed.layers)


# -- the edit page and the landing page --------------------------------------------------------------------------------


def edit_page(ctx: Context, name: str, plan_id: str) -> str:
    """The page a planner redraws a plan on: its title, the band its grids are held to, and its labels."""
    plan = ctx.store.plans.get(name, plan_id)
    entry = ctx.area(name)
    area_class = None
    if not plan.info.get("band"):  # an imported plan: the band of its community's class now
        coms = study_area(ctx, entry).layer("communities")
        row = coms[coms["fid"] == plan.community_fid]
        area_class = str(row["area_class"].iloc[0]) if len(row) else (plan.area_class or "urban")
    band = plan.band(ctx.rules, area_class)
    plans = one_plan(ctx, name, plan_id)
    labels = [
        {**layer.as_json(), "on": layer.on("edit"), "order": layer.order}
        for layer in layers_for("edit")
        if layer.kind == "label" and layer_available(ctx, entry, layer, plans, on=layer.on("edit"))
    ]
    base = f"/areas/{_q(name)}"
    grid_frame = layer_frame(ctx, entry, _layer("grids"), plans)
    roads = _layer("roads")
    config = {
        "area": name,
        "plan": plan_id,
        "band": [int(v) if float(v).is_integer() else v for v in (band.low, band.high)],
        "attribution": OSM_ATTRIBUTION,
        "labels": labels,
        # each grid in the colour the plan's map gives it (neighbours apart), so the two pages read alike
        "gridColours": {str(c): str(k) for c, k in zip(grid_frame["code"], grid_frame["colour"])},
        "versions": {"area": tile_version(entry, None), "plans": tile_version(entry, plans)},
        "urls": {
            "areaMap": f"{base}/map",
            "gridMap": f"{base}/grids/map",
            "planBase": f"{base}/plans/",
            "areaLayer": f"{base}/map/layers/{{key}}?v={{v}}",
            "roadTiles": f"{base}/tiles/roads/{{uz}}/{{x}}/{{y}}.pbf?v={_q(tile_version(entry, None))}",
        },
        # the streets blocks and grids follow, drawn over the blocks' fill (a click still selects the block)
        "roads": roads.as_json() if layer_available(ctx, entry, roads, on=True) else None,
        "maxTileZoom": MAX_TILE_ZOOM,
    }
    template = EDIT_TEMPLATE.read_text(encoding="utf-8")
    title = f"{plan.community_name or ''}（{plan.community_code}）"
    from maps.escaping import script_json

    return (
        template.replace("{{TITLE}}", escape(title))
        .replace("{{AREA}}", escape(name))
        .replace("{{PLAN}}", escape(plan_id))
        .replace("{{CONFIG_JSON}}", script_json(config))
    )


LANDING_INTRO = (  # one line: a line break between Chinese characters shows as a space
    "研究区、网格划分与调整、道路网络、监控点位核查、出警覆盖与巡查路线。选择一个研究区查看地图"
    "（监控视域、出警圈等图层在地图的“图层与图例”中打开，点击地图上任一处可查看该处的社区、网格、勤务点、监控与巡查路线）；"
    "划分了网格的研究区可打开网格地图，从中进入每个方案的地图、调整页面和版本历史。"
)


def _duties_cell(ctx: Context, n: str, record: AreaRecord) -> str:
    """What the area holds of cameras, duty points and saved patrol routes, with the reports behind them."""
    cameras, duty = record.layers.get("cameras", 0), record.layers.get("duty_points", 0)
    routes = ctx.store.patrol.token(record.name)[0]
    bits = [
        (f"{cameras:,} 个监控点" if cameras else "无监控点数据")
        + f" · <a href='/areas/{n}/cameras/check/export?format=xlsx'>配额核查表</a>"
    ]
    if duty:
        bits.append(f"{duty:,} 个勤务点 · <a href='/areas/{n}/response'>出警覆盖报告（JSON）</a>")
    if routes:
        bits.append(f"<a href='/areas/{n}/patrol/routes'>{routes:,} 条巡查路线（JSON）</a>")
    return "<br>".join(f"<small>{b}</small>" for b in bits)


def landing_page(ctx: Context) -> str:
    """The landing page: the areas, their maps and their plans."""
    rows = []
    for name in ctx.store.area_names():
        record = ctx.store.summary(name)
        a = record.item()
        n = _q(a["name"])
        plans = ctx.store.plans.list(a["name"])
        adopted = sum(1 for p in plans if p.adopted)
        plan_cell = (
            f"<a href='/areas/{n}/grids/map'>网格地图</a><br><small>{len(plans)} 个方案，{adopted} 个社区已采用</small>"
            if plans
            else "<small>尚未划分网格</small>"
        )
        rows.append(
            f"<tr><td><a href='/areas/{n}/map'><b>{escape(a['title'] or a['name'])}</b></a>"
            f"<br><small>{escape(a['name'])}</small></td><td>{a['communities']}</td><td>{a['buildings']:,}</td>"
            f"<td>{(a['households'] or 0):,}{'（估算）' if a['households_estimated'] else ''}</td>"
            f"<td><a href='/areas/{n}/map'>区域地图</a></td><td>{plan_cell}</td>"
            f"<td>{_duties_cell(ctx, n, record)}</td></tr>"
        )
    body = "".join(rows) or (
        "<tr><td colspan=7>还没有研究区。运行 <code>make demo</code> 或 <code>wangge import-osm</code> 导入。</td></tr>"
    )
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>网格 wangge · 研究区</title>
<link rel="icon" href="data:,">
<style>body{{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:1040px;
color:#222;padding:0 1rem}}table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:.5rem;
text-align:left;vertical-align:top}}th{{background:#f4f1ea}}small{{color:#666}}footer{{margin-top:2rem;font-size:.85rem;
color:#666}}</style>
</head><body><h1>网格 wangge</h1><p>{LANDING_INTRO}</p>
<table><thead><tr><th>研究区</th><th>社区/行政村</th><th>建筑</th><th>户数</th><th>地图</th><th>网格方案</th>
<th>监控 · 出警 · 巡查</th></tr>
</thead><tbody>{body}</tbody></table>
<p><a href="/docs">API 文档（离线）</a> · <a href="/areas">研究区 JSON</a> · <a href="/health">服务状态</a></p>
<footer>户数为根据建筑轮廓估算的数值，除非由用户提供。地图数据 {OSM_ATTRIBUTION}。</footer></body></html>"""
