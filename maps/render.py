"""The study-area map: communities, buildings by households, roads by class, key places.

Small layers (communities, key places, villages, cameras) are drawn into the
page. Big ones (buildings, roads) are fetched from the GeoJSON endpoints for
the visible box as the map moves, so a county of 200,000 buildings opens as
fast as a village; a self-contained export (``wangge map --out``) carries them
inline and filters them to the view the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from geo.area import StudyArea, text
from geo.key_places import CATEGORIES
from geo.osm_area import OSM_ATTRIBUTION
from maps.escaping import (
    EscapedGeoJsonTooltip,
    add_escape_function,
    html_text,
    refuse_unescaped_details,
    script_json,
)

# households per building -> fill colour (light to dark); the legend is built from this.
HOUSEHOLD_BINS: tuple[tuple[float, str], ...] = (
    (0.0, "#d9d9d9"),
    (0.5, "#fff7bc"),
    (2.0, "#fee391"),
    (5.0, "#fec44f"),
    (10.0, "#fe9929"),
    (20.0, "#ec7014"),
    (50.0, "#cc4c02"),
    (100.0, "#8c2d04"),
)

ROAD_STYLE: dict[str, tuple[str, float, str]] = {
    # class -> (colour, weight, Chinese label)
    "motorway": ("#e8467c", 5, "高速公路"),
    "trunk": ("#f57c3a", 4.5, "快速路/国道"),
    "primary": ("#f5a623", 4, "主干路"),
    "secondary": ("#f0d23a", 3.5, "次干路"),
    "tertiary": ("#c9b13a", 3, "支路"),
    "unclassified": ("#8c8c8c", 2.5, "其他道路"),
    "residential": ("#6b6b6b", 2.2, "居住区道路"),
    "living_street": ("#7fa37f", 2, "生活街道"),
    "pedestrian": ("#a58fc9", 2, "步行街"),
    "service": ("#a0a0a0", 1.5, "服务道路"),
    "track": ("#a0784b", 1.2, "机耕路"),
    "footway": ("#c07ab8", 1, "人行道/小径"),
    "path": ("#c07ab8", 1, "人行道/小径"),
    "steps": ("#c07ab8", 1, "人行道/小径"),
    "cycleway": ("#4a90d9", 1, "自行车道"),
}

LEVEL_SOURCE_ZH = {"tagged": "标注", "nearby": "邻近建筑推算", "default": "默认值"}
CLASS_ZH = {"urban": "城镇", "rural": "乡村"}

# Tooltips of the dynamic layers pass every property through wanggeEsc (maps/escaping.py).
_DYNAMIC_JS = """
function wanggeDynamicLayer(map, layer, opt){
  var seq = 0;
  var note = document.getElementById('wg-status');
  function setNote(key, msg){ if(!note) return; var el=document.getElementById('wg-status-'+key);
    if(!el){ el=document.createElement('div'); el.id='wg-status-'+key; note.appendChild(el);} el.textContent=msg; }
  function inView(f, b){ var bb=f.bbox; return !(bb[2]<b.getWest()||bb[0]>b.getEast()||bb[3]<b.getSouth()||bb[1]>b.getNorth()); }
  function refresh(){
    if(!map.hasLayer(layer)){ setNote(opt.key, ''); return; }
    if(map.getZoom() < opt.minZoom){ layer.clearLayers(); setNote(opt.key, opt.title+'：放大到第'+opt.minZoom+'级后显示'); return; }
    var b = map.getBounds();
    if(opt.data){ layer.clearLayers(); layer.addData({type:'FeatureCollection', features: opt.data.features.filter(function(f){return inView(f,b);})}); setNote(opt.key,''); return; }
    var my = ++seq;
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function(v){return v.toFixed(6);}).join(',');
    setNote(opt.key, opt.title+'：加载中…');
    fetch(opt.url+(opt.url.indexOf('?')<0?'?':'&')+'bbox='+bbox+'&limit='+opt.limit+'&fields='+opt.fields.join(','))
      .then(function(r){ if(!r.ok) throw new Error(r.status); return r.json(); })
      .then(function(fc){ if(my!==seq) return; layer.clearLayers(); layer.addData(fc);
        setNote(opt.key, fc.features.length>=opt.limit ? opt.title+'：要素过多，仅显示前'+opt.limit+'个，请放大' : ''); })
      .catch(function(e){ setNote(opt.key, opt.title+'：加载失败（'+e.message+'）'); });
  }
  map.on('moveend', refresh);
  map.on('overlayadd overlayremove', function(e){ if(e.layer===layer) refresh(); });
  refresh();
}
"""


class DynamicGeoJson(folium.map.Layer):
    """A GeoJSON overlay filled for the visible box: fetched from ``url``, or filtered from inline ``data``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON(null, {
            style: {{ this.style_js }},
            onEachFeature: function(f, l){ l.bindTooltip(({{ this.tooltip_js }})(f.properties), {sticky: true}); }
        });
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        wanggeDynamicLayer({{ this._parent.get_name() }}, {{ this.get_name() }}, {{ this.options_json }});
        {% endmacro %}
    """)

    def __init__(
        self,
        *,
        name: str,
        key: str,
        style_js: str,
        tooltip_js: str,
        fields: list[str],
        url: str | None = None,
        data: dict[str, Any] | None = None,
        min_zoom: int = 14,
        limit: int = 8000,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DynamicGeoJson"
        self.style_js = style_js
        self.tooltip_js = tooltip_js
        self.options_json = script_json(
            {
                "key": key,
                "title": name,
                "url": url,
                "data": data,
                "minZoom": min_zoom,
                "limit": limit,
                "fields": fields,
            }
        )


class _Script(MacroElement):
    """A script added once to a map (the dynamic-layer helper, the legend, attribution)."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "WanggeScript"
        self.code = code


@dataclass(frozen=True)
class MapSources:
    """Where a map's big layers come from: endpoint URLs (served) or inline frames (self-contained)."""

    buildings_url: str | None = None
    roads_url: str | None = None
    buildings: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None


BUILDING_FIELDS = [
    "fid",
    "name",
    "building",
    "households",
    "households_source",
    "levels",
    "levels_source",
    "residential",
]
ROAD_FIELDS = ["fid", "name", "highway", "ref", "length_m"]


def _bins_js() -> str:
    return json.dumps([[lo, colour] for lo, colour in HOUSEHOLD_BINS])


def _building_style_js() -> str:
    return (
        "function(f){var h=f.properties.households||0, bins=" + _bins_js() + ", c=bins[0][1];"
        "for(var i=0;i<bins.length;i++){if(h>=bins[i][0]&&(h>0||i==0))c=bins[i][1];}"
        "return {color:'#666',weight:0.4,fillColor:c,fillOpacity:0.8};}"
    )


def _building_tooltip_js() -> str:
    src = json.dumps(LEVEL_SOURCE_ZH, ensure_ascii=False)
    return (
        "function(p){var src=" + src + ";var est=p.households_source==='given'?'（给定）':'（估算）';"
        "return '<b>'+wanggeEsc(p.name||'建筑')+'</b><br>户数：'+(p.residential===false?'0（非住宅）':"
        "(p.households===null?'—':Number(p.households).toFixed(1))+est)+"
        "'<br>层数：'+(p.levels===null?'—':wanggeEsc(p.levels))+'（'+wanggeEsc(src[p.levels_source]||'—')+'）'"
        "+'<br>类型：'+wanggeEsc(p.building||'')+'<br><small>'+wanggeEsc(p.fid)+'</small>';}"
    )


def _road_style_js() -> str:
    styles = {k: [c, w] for k, (c, w, _) in ROAD_STYLE.items()}
    return (
        "function(f){var s=" + json.dumps(styles) + "[(f.properties.highway||'').replace('_link','')]"
        "||['#999',1.5];return {color:s[0],weight:s[1],opacity:0.9};}"
    )


def _road_tooltip_js() -> str:
    labels = json.dumps({k: v[2] for k, v in ROAD_STYLE.items()}, ensure_ascii=False)
    return (
        "function(p){var l=" + labels + ";return '<b>'+wanggeEsc(p.name||p.ref||'道路')+'</b><br>等级：'"
        "+wanggeEsc(l[(p.highway||'').replace('_link','')]||p.highway||'未知')+"
        "(p.length_m?'<br>长度：'+Math.round(p.length_m)+' 米':'');}"
    )


def _inline(frame: gpd.GeoDataFrame | None, fields: list[str]) -> dict[str, Any] | None:
    if frame is None:
        return None
    cols = [c for c in fields if c in frame.columns]
    f = frame[cols + ["geometry"]].copy()
    f["geometry"] = shapely.set_precision(f.geometry.values, 1e-6)
    return json.loads(f.to_json(show_bbox=True, drop_id=True, na="null"))


def _legend_html(households_estimated: bool, extra: str = "") -> str:
    est = "（估算）" if households_estimated else ""
    rows = []
    for i, (lo, colour) in enumerate(HOUSEHOLD_BINS):
        hi = HOUSEHOLD_BINS[i + 1][0] if i + 1 < len(HOUSEHOLD_BINS) else None
        label = "0（非住宅）" if lo == 0 else (f"{lo:g}–{hi:g}" if hi else f"≥ {lo:g}")
        rows.append(f'<div><i style="background:{colour}"></i>{label}</div>')
    roads = []
    seen = set()
    for cls, (colour, weight, label) in ROAD_STYLE.items():
        if label in seen or cls in ("steps", "path"):
            continue
        seen.add(label)
        roads.append(
            f'<div><i class="wg-line" style="background:{colour};height:{max(2, weight):.0f}px"></i>{label}</div>'
        )
    places = "".join(
        f'<div><span class="wg-dot" style="background:{_marker_css(colour)}"></span>{label}</div>'
        for cat, (label, _icon, colour) in CATEGORIES.items()
        if cat in ("police", "school", "hospital", "clinic", "kindergarten", "market", "townhall")
    )
    note = (
        (
            "<div class='wg-note'>户数为估算值：建筑占地 × 层数 ÷ 户均建筑面积，按标注人口校准。"
            "Households are estimates.</div>"
        )
        if households_estimated
        else ""
    )
    return (
        f"<div class='wg-legend'>{extra}<b>建筑户数{est}</b><br><small>households{' (estimated)' if est else ''}"
        f"</small>{''.join(rows)}<b>道路等级</b>{''.join(roads)}<b>重点场所</b>{places}{note}</div>"
    )


def _marker_css(colour: str) -> str:
    return {
        "darkblue": "#0b3d91",
        "orange": "#f39c12",
        "red": "#d63e2a",
        "pink": "#ff8ee9",
        "green": "#72b026",
        "cadetblue": "#436978",
        "purple": "#a23336",
        "darkred": "#a23336",
        "black": "#303030",
        "gray": "#575757",
        "lightgray": "#a3a3a3",
    }.get(colour, colour)


_CSS = """
<style>
html, body {font-family: "PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;}
.leaflet-container {background: #f4f1ea;}
.wg-title {position:absolute; top:10px; left:60px; z-index:1000; background:rgba(255,255,255,.92); padding:6px 12px;
  border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.3); font-size:15px; max-width:60%;}
.wg-title small {color:#555; display:block; font-size:12px;}
.wg-legend {background:rgba(255,255,255,.94); padding:8px 10px; border-radius:4px; box-shadow:0 1px 4px rgba(0,0,0,.3);
  font-size:12px; line-height:18px; max-height:45vh; overflow:auto;}
.wg-legend i {display:inline-block; width:16px; height:12px; margin-right:6px; vertical-align:middle; border:1px solid #888;}
.wg-legend i.wg-line {border:none; width:22px;}
.wg-legend .wg-dot {display:inline-block; width:10px; height:10px; border-radius:50%; margin-right:6px;}
.wg-legend .wg-note {max-width:220px; color:#7a4b00; margin-top:6px;}
.wg-label {font-size:12px; font-weight:bold; color:#1a3d6d; text-shadow:0 0 3px #fff,0 0 3px #fff; white-space:nowrap;}
#wg-status {position:absolute; bottom:64px; left:10px; z-index:1000; font-size:12px; color:#333;}
#wg-status div:not(:empty) {background:rgba(255,255,255,.9); padding:2px 6px; margin-top:2px; border-radius:3px;}
</style>
"""


def area_map(
    area: StudyArea,
    *,
    sources: MapSources,
    tile_url: str | None = None,
    tile_attribution: str = "",
    landing_url: str | None = None,
    extra_layers: list[folium.map.Layer] | None = None,
    extra_legend_html: str = "",
    page_title: str = "网格地图",
    show_buildings: bool = True,
) -> folium.Map:
    """Draw a study area.

    Parameters
    ----------
    area
        The study area; its small layers are drawn into the page.
    sources
        Endpoint URLs of the big layers (served page) or the frames themselves
        (self-contained page).
    tile_url
        A basemap tile template (an intranet Tianditu mirror); None draws no
        basemap, which works with no network at all.
    landing_url
        Where the title links back to (the area list).
    extra_layers
        Overlays drawn above the area's own (grids, say), listed in the layer control.
    extra_legend_html
        Legend rows for those overlays, shown above the area's legend.
    """
    communities = area.layer("communities")
    bounds = area.outline().total_bounds
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_snap=0.5)
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution or "basemap", name="底图", max_zoom=20).add_to(m)
    root = m.get_root()
    estimated = (
        bool(communities["households_estimated"].fillna(False).astype(bool).any()) if len(communities) else False
    )
    illustrative = bool(area.meta.get("codes_illustrative"))
    title = html_text(area.title or area.name)
    subtitle = (
        f"{len(communities)} 个社区/行政村 · 户数{'（估算）' if estimated else ''} "
        f"{int(communities['households'].fillna(0).sum()) if len(communities) else 0:,}"
    )
    if illustrative:
        subtitle += " · 代码为示意性分配（illustrative codes）"
    back = f'<a href="{html_text(landing_url)}">← 研究区列表</a> · ' if landing_url else ""
    root.header.add_child(Element(f"<title>{title} · {html_text(page_title)}</title>"))
    root.header.add_child(Element('<meta name="viewport" content="width=device-width, initial-scale=1">'))
    root.header.add_child(Element(_CSS))
    root.html.add_child(
        Element(
            f'<div class="wg-title">{back}<b>{title}</b><small>{html_text(subtitle)}</small></div>'
            '<div id="wg-status"></div>'
        )
    )
    add_escape_function(root)
    root.script.add_child(Element(_DYNAMIC_JS))

    boundary = area.layer("boundary")
    if len(boundary):
        folium.GeoJson(
            json.loads(boundary[["name", "geometry"]].to_json(na="null")),
            name="研究区范围",
            style_function=lambda _f: {"color": "#333", "weight": 2.5, "dashArray": "8 6", "fill": False},
        ).add_to(m)

    if len(communities):
        _communities_layer(communities, illustrative).add_to(m)

    DynamicGeoJson(
        name="建筑（按户数）",
        key="buildings",
        style_js=_building_style_js(),
        tooltip_js=_building_tooltip_js(),
        fields=BUILDING_FIELDS,
        url=sources.buildings_url,
        data=_inline(sources.buildings, BUILDING_FIELDS),
        min_zoom=15,
        show=show_buildings,
    ).add_to(m)
    DynamicGeoJson(
        name="道路（按等级）",
        key="roads",
        style_js=_road_style_js(),
        tooltip_js=_road_tooltip_js(),
        fields=ROAD_FIELDS,
        url=sources.roads_url,
        data=_inline(sources.roads, ROAD_FIELDS),
        min_zoom=13,
    ).add_to(m)

    for layer in _points_layers(area, show_key_places=show_buildings):
        layer.add_to(m)
    for layer in extra_layers or []:
        layer.add_to(m)

    # The legend's HTML goes in as a JSON string: names in it are escaped for HTML, and JSON keeps the script whole.
    legend = _legend_html(estimated, extra_legend_html)
    m.add_child(
        _Script(
            "(function(){var map=" + m.get_name() + ";var lg=L.control({position:'bottomright'});"
            "lg.onAdd=function(){var d=L.DomUtil.create('div');d.innerHTML=" + script_json(legend) + ";"
            "L.DomEvent.disableScrollPropagation(d);return d;};lg.addTo(map);"
            f"map.attributionControl.setPrefix('Leaflet');map.attributionControl.addAttribution({script_json(OSM_ATTRIBUTION)});"
            "})();"
        )
    )
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    refuse_unescaped_details(m)
    return m


def _communities_layer(communities: gpd.GeoDataFrame, illustrative: bool) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name="社区/行政村", show=True)
    c = communities.copy()
    c["label"] = [text(zh) or text(n) or "" for zh, n in zip(c["name_zh"], c["name"])]
    c["class_zh"] = [
        f"{CLASS_ZH.get(str(k), '—')}（{'代码' if s == 'code' else '密度规则'}）"
        for k, s in zip(c["area_class"], c["class_source"])
    ]
    c["code_note"] = [
        f"{code}{'（临时）' if prov else ''}{'（示意）' if illustrative and not prov else ''}"
        for code, prov in zip(c["code12"], c["code_provisional"].fillna(False).astype(bool))
    ]
    c["hh"] = [
        f"{int(h or 0):,}{'（估算）' if est else ''}"
        for h, est in zip(c["households"].fillna(0), c["households_estimated"].fillna(False).astype(bool))
    ]
    props = c[["label", "name", "code_note", "class_zh", "hh", "buildings", "geometry"]]
    folium.GeoJson(
        json.loads(props.to_json(na="null")),
        style_function=lambda _f: {"color": "#1a5fb4", "weight": 2, "fillColor": "#1a5fb4", "fillOpacity": 0.04},
        highlight_function=lambda _f: {"weight": 3.5, "fillOpacity": 0.12},
        tooltip=EscapedGeoJsonTooltip(
            fields=["label", "code_note", "class_zh", "hh", "buildings"],
            aliases=["名称", "统计用区划代码", "城乡类别", "户数", "建筑数"],
            sticky=True,
        ),
    ).add_to(group)
    for label, point in zip(c["label"], c.geometry.representative_point()):
        folium.Marker(
            [point.y, point.x],
            icon=folium.DivIcon(
                html=f'<div class="wg-label">{html_text(label)}</div>',
                icon_size=(0, 0),
                icon_anchor=(0, 0),
            ),
        ).add_to(group)
    return group


def _points_layers(area: StudyArea, show_key_places: bool = True) -> list[folium.FeatureGroup]:
    out = []
    key_places = area.layer("key_places")
    if len(key_places):
        group = folium.FeatureGroup(name="重点场所", show=show_key_places)
        for row in key_places.itertuples():
            label, icon, colour = CATEGORIES.get(str(row.category), CATEGORIES["other"])
            name = text(row.name_zh) or text(row.name) or label
            folium.Marker(
                [row.geometry.y, row.geometry.x],
                icon=folium.Icon(icon=icon, prefix="fa", color=colour),
                tooltip=f"{html_text(label)}：{html_text(name)}",
            ).add_to(group)
        out.append(group)
    village_areas = area.layer("natural_village_areas")
    if len(village_areas):
        group = folium.FeatureGroup(name="自然村范围（推算）", show=False)
        va = village_areas.copy()
        va["label"] = [text(n) or "" for n in va["name"]]
        va["kind"] = ["推算（沿街区划分）" if bool(d) else "导入" for d in va["derived"].fillna(True)]
        va["hh"] = [f"{int(h or 0):,}（估算）" for h in va["households"].fillna(0)]
        folium.GeoJson(
            json.loads(va[["label", "kind", "hh", "geometry"]].to_json(na="null")),
            style_function=lambda _f: {"color": "#2b7a0b", "weight": 1.5, "dashArray": "4 4", "fillOpacity": 0.05},
            tooltip=EscapedGeoJsonTooltip(fields=["label", "kind", "hh"], aliases=["自然村", "范围", "户数"]),
        ).add_to(group)
        out.append(group)
    villages = area.layer("natural_villages")
    if len(villages):
        group = folium.FeatureGroup(name="自然村", show=True)
        for row in villages.itertuples():
            pt = row.geometry.representative_point() if row.geometry.geom_type != "Point" else row.geometry
            hh = row.households if row.households is not None and not pd.isna(row.households) else 0
            name = text(row.name_zh) or text(row.name) or "自然村"
            folium.CircleMarker(
                [pt.y, pt.x],
                radius=6,
                color="#2b7a0b",
                fill=True,
                fill_opacity=0.9,
                tooltip=f"自然村：{html_text(name)}<br>户数（估算）：{int(hh):,}",
            ).add_to(group)
        out.append(group)
    cameras = area.layer("cameras")
    if len(cameras):
        group = folium.FeatureGroup(name="监控点", show=True)
        for row in cameras.itertuples():
            folium.CircleMarker(
                [row.geometry.y, row.geometry.x],
                radius=4,
                color="#6a1b9a",
                fill=True,
                fill_opacity=1,
                tooltip=f"监控点：{html_text(text(row.name) or text(row.device_id) or row.fid)}",
            ).add_to(group)
        out.append(group)
    duty = area.layer("duty_points")
    if len(duty):
        group = folium.FeatureGroup(name="勤务点（派出所/警务室）", show=False)
        for row in duty.itertuples():
            folium.Marker(
                [row.geometry.y, row.geometry.x],
                icon=folium.Icon(icon="star", prefix="fa", color="darkblue"),
                tooltip=f"勤务点：{html_text(text(row.name) or row.fid)}",
            ).add_to(group)
        out.append(group)
    return out
