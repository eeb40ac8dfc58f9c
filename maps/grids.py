"""The grid map: a plan's grids over the study area, coloured apart, labelled, outliers shown with their reason."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import shapely

from geo.area import StudyArea
from geo.checks import REASONS_ZH
from geo.io.grid_export import distinct_colours
from maps.escaping import EscapedGeoJsonTooltip, html_text
from maps.render import MapSources, area_map


def _grid_features(grids: gpd.GeoDataFrame, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    colours = distinct_colours(grids)
    feats = []
    for (_, g), colour in zip(grids.iterrows(), colours):
        r = rows.get(str(g["code"]), {})
        reason = r.get("reason")
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(g.geometry),
                "properties": {
                    "code": str(g["code"]),
                    "name": g.get("name") or "",
                    "colour": colour,
                    "households": f"{r.get('households')}{'（估算）' if r.get('households_estimated') else ''}",
                    "estimated": bool(r.get("households_estimated")),
                    "in_band": bool(r.get("in_band", True)),
                    "reason": reason,
                    "reason_zh": REASONS_ZH.get(str(reason), "未说明原因（待处理）")
                    if not r.get("in_band", True)
                    else "",
                    "pp": r.get("polsby_popper"),
                    "street": r.get("street_boundary_share"),
                    "contiguous": r.get("contiguous", True),
                    "exceptions": "、".join(
                        {"exclave_attached": "飞地并入"}.get(e, e) for e in r.get("exceptions", [])
                    ),
                    "area_km2": round((r.get("area_m2") or 0) / 1e6, 3),
                    "buildings": r.get("buildings"),
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def grid_map(
    area: StudyArea,
    *,
    report: dict[str, Any],
    grids: dict[str, gpd.GeoDataFrame],
    blocks: dict[str, gpd.GeoDataFrame],
    sources: MapSources,
    tile_url: str | None = None,
    tile_attribution: str = "",
    landing_url: str | None = None,
) -> folium.Map:
    """Draw plans: ``grids`` and ``blocks`` by plan id (EPSG:4326), ``report`` from validation."""
    rows = {g["code"]: g for g in report["grids"]}
    layers: list[folium.map.Layer] = []
    block_group = folium.FeatureGroup(name="街区（划分单元）", show=False)
    for frame in blocks.values():
        if len(frame):
            folium.GeoJson(
                json.loads(frame[["block_id", "households", "geometry"]].to_json(na="null")),
                style_function=lambda _f: {"color": "#777", "weight": 0.6, "fill": False},
                tooltip=EscapedGeoJsonTooltip(fields=["block_id", "households"], aliases=["街区", "户数（估算）"]),
            ).add_to(block_group)
    layers.append(block_group)
    grid_group = folium.FeatureGroup(name="网格", show=True)
    label_group = folium.FeatureGroup(name="网格标注", show=True)
    for frame in grids.values():
        fc = _grid_features(frame, rows)
        folium.GeoJson(
            fc,
            style_function=lambda f: (
                {"color": "#1a1a1a", "weight": 2.2, "fillColor": f["properties"]["colour"], "fillOpacity": 0.45}
                if f["properties"]["in_band"]
                else {
                    "color": "#d62728",
                    "weight": 3.5,
                    "dashArray": "8 5",
                    "fillColor": f["properties"]["colour"],
                    "fillOpacity": 0.45,
                }
            ),
            highlight_function=lambda _f: {"weight": 4, "fillOpacity": 0.65},
            tooltip=EscapedGeoJsonTooltip(
                fields=["code", "name", "households", "reason_zh", "pp", "street", "exceptions", "buildings"],
                aliases=[
                    "网格编码",
                    "名称",
                    "户数（估算）",
                    "超出区间原因",
                    "紧凑度 (Polsby-Popper)",
                    "沿街边界比例",
                    "例外",
                    "建筑数",
                ],
                sticky=True,
            ),
        ).add_to(grid_group)
        for feat, geom in zip(fc["features"], frame.geometry.values):
            p = feat["properties"]
            parts = shapely.get_parts(geom)
            pt = parts[int(shapely.area(parts).argmax())].representative_point()
            warn = "" if p["in_band"] else ' style="color:#d62728"'
            folium.Marker(
                [pt.y, pt.x],
                icon=folium.DivIcon(
                    html=(
                        f'<div class="wg-label"{warn}>{html_text(p["code"][-3:])}'
                        f"<br><small>{html_text(p['households'])}户</small></div>"
                    ),
                    icon_size=(0, 0),
                    icon_anchor=(12, 12),
                ),
            ).add_to(label_group)
    layers += [grid_group, label_group]
    s = report["summary"]
    legend = (
        "<b>网格方案</b><br><small>"
        f"{s['grids']} 个网格 · 区间内 {s['in_band_share']:.0%} · 未说明的超区间 {s['unexplained_outliers']} 个<br>"
        f"平均紧凑度 {s['mean_polsby_popper']:.2f} · 沿街边界 {(s['street_boundary_share'] or 0):.0%}</small>"
        '<div><i style="background:#ddd;border:2px solid #1a1a1a"></i>户数在区间内</div>'
        '<div><i style="background:#ddd;border:2px dashed #d62728"></i>户数超出区间（见提示原因）</div>'
        + "<div><b>调整网格</b>："
        + "、".join(
            f'<a href="/areas/{html_text(quote(area.name, safe=""))}/plans/{html_text(quote(str(c["plan_id"]), safe=""))}'
            f'/edit">{html_text(str(c["name"]))}</a>'
            for c in report["communities"]
        )
        + "</div>"
    )
    return area_map(
        area,
        sources=sources,
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        landing_url=landing_url,
        extra_layers=layers,
        extra_legend_html=legend,
        page_title="网格方案",
        show_buildings=False,
    )
