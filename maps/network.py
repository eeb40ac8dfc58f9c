"""The road networks as layers of the area map: one per mode, fetched for the visible box, off until chosen.

Each layer reads ``/areas/{name}/network/edges?mode=…`` (the edges of the
network patrols and coverage use, served from the area's cache) as the map
moves, like the buildings and roads. Tooltips escape every property through
``wanggeEsc`` (:mod:`maps.escaping`).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from maps.render import ROAD_STYLE, DynamicGeoJson

# mode -> (layer name, colour)
NETWORK_LAYERS: dict[str, tuple[str, str]] = {
    "walk": ("路网·步行", "#2b8cbe"),
    "ebike": ("路网·电动自行车", "#31a354"),
    "drive": ("路网·机动车", "#d7301f"),
}
NETWORK_FIELDS = ["edge", "name", "road_class", "oneway", "length_m", "speed_kmh", "travel_time_s", "component"]


def _style_js(colour: str) -> str:
    # Edges off the largest component are drawn thin and dashed: buildings are never entered from them.
    return (
        "function(f){var main=f.properties.component===0;"
        f"return {{color:{json.dumps(colour)},weight:main?2.5:1.5,opacity:0.85,dashArray:main?null:'4 4'}};}}"
    )


def _tooltip_js() -> str:
    labels = json.dumps({k: v[2] for k, v in ROAD_STYLE.items()}, ensure_ascii=False)
    return (
        "function(p){var l=" + labels + ";var c=(p.road_class||'').replace('_link','');"
        "return '<b>'+wanggeEsc(p.name||'（无名道路）')+'</b><br>等级：'+wanggeEsc(l[c]||p.road_class||'未知')"
        "+(p.oneway?'（单行）':'')"
        "+'<br>长度：'+Math.round(Number(p.length_m)||0)+' 米'"
        "+'<br>速度：'+wanggeEsc(p.speed_kmh)+' 公里/小时 · 通行 '+Math.round(Number(p.travel_time_s)||0)+' 秒'"
        "+(p.component===0?'':'<br><small>不与主路网相连</small>')"
        "+'<br><small>边 '+wanggeEsc(p.edge)+'</small>';}"
    )


def network_layers(area: str, *, min_zoom: int = 14, limit: int = 8000) -> list[DynamicGeoJson]:
    """The network layers of an area's map (one per mode, not shown until the planner ticks one)."""
    base = f"/areas/{quote(area)}/network/edges"
    return [
        DynamicGeoJson(
            name=name,
            key=f"network_{mode}",
            style_js=_style_js(colour),
            tooltip_js=_tooltip_js(),
            fields=NETWORK_FIELDS,
            url=f"{base}?mode={mode}",
            min_zoom=min_zoom,
            limit=limit,
            show=False,
        )
        for mode, (name, colour) in NETWORK_LAYERS.items()
    ]
