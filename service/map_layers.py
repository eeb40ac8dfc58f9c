"""The area's and the plans' own map layers, registered in :mod:`maps.layers` like anyone else's.

Area layers (read from the area's cached study area): the boundary, communities and their labels, buildings by
households (density cells when zoomed out), roads by class and street names, natural villages and their areas,
key places, cameras, duty points, and the road network of each mode. Plan layers (the plans on the page: the
adopted ones, or one): grids coloured apart with serial and households, outlined in red with their reason when
out of band, and the blocks they are made of.

Every frame is EPSG:4326 with one column per style or tooltip field, values already in the words a planner
reads (class names in Chinese, no OSM ids).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import text
from geo.checks import REASONS_ZH
from geo.crs import STORAGE_CRS
from geo.io.grid_export import distinct_colours
from geo.key_places import CATEGORIES
from maps.layers import Bin, Category, Density, Field, Highlight, LabelText, Layer, LayerRequest, Style, register
from service.context import study_area

CLASS_ZH = {"urban": "城镇社区", "rural": "乡村（行政村）"}
LEVEL_SOURCE_ZH = {"tagged": "标注", "nearby": "由邻近建筑推算", "default": "默认值"}
BUILDING_ZH = {
    "house": "住宅",
    "detached": "独立住宅",
    "semidetached_house": "双拼住宅",
    "terrace": "联排住宅",
    "residential": "住宅楼",
    "apartments": "公寓楼",
    "farm": "农宅",
    "bungalow": "平房",
    "commercial": "商业",
    "retail": "零售",
    "office": "办公",
    "industrial": "工业",
    "warehouse": "仓库",
    "school": "学校",
    "kindergarten": "幼儿园",
    "university": "高校",
    "hospital": "医院",
    "church": "教堂",
    "chapel": "礼拜堂",
    "public": "公共建筑",
    "civic": "公共建筑",
    "government": "政府机关",
    "hotel": "酒店",
    "garage": "车库",
    "garages": "车库",
    "carport": "车棚",
    "shed": "棚屋",
    "hut": "小屋",
    "barn": "谷仓",
    "farm_auxiliary": "农用附属建筑",
    "greenhouse": "温室",
    "roof": "顶棚",
    "service": "设备用房",
    "construction": "在建",
    "yes": "未分类",
}
REASON_FIELD = Field("reason_zh", "超出区间原因")
ROADS: tuple[tuple[str, str, float, str, int], ...] = (
    # class, colour, weight, Chinese, map zoom from which it is drawn
    ("motorway", "#e8467c", 4.5, "高速公路", 0),
    ("trunk", "#f57c3a", 4.0, "快速路/国道", 0),
    ("primary", "#f5a623", 3.5, "主干路", 0),
    ("secondary", "#e6c229", 3.0, "次干路", 0),
    ("tertiary", "#c9b13a", 2.6, "支路", 12),
    ("unclassified", "#8c8c8c", 2.2, "其他道路", 13),
    ("residential", "#7a7a7a", 2.0, "居住区道路", 13),
    ("living_street", "#7fa37f", 2.0, "生活街道", 14),
    ("pedestrian", "#a58fc9", 2.0, "步行街", 14),
    ("road", "#8c8c8c", 2.0, "其他道路", 14),
    ("service", "#a8a8a8", 1.4, "服务道路", 15),
    ("track", "#a0784b", 1.2, "机耕路", 15),
    ("footway", "#c07ab8", 1.0, "人行道/小径", 15),
    ("path", "#c07ab8", 1.0, "人行道/小径", 15),
    ("steps", "#c07ab8", 1.0, "人行道/小径", 15),
    ("bridleway", "#c07ab8", 1.0, "人行道/小径", 15),
    ("cycleway", "#4a90d9", 1.0, "自行车道", 15),
)
ROAD_ZH = {cls: zh for cls, _, _, zh, _ in ROADS}
ROAD_MIN_ZOOM = {cls: z for cls, _, _, _, z in ROADS}
OTHER_ROAD_ZOOM = 15
MARKER_COLOURS = {
    "darkblue": "#0b3d91",
    "orange": "#e67e22",
    "red": "#d63e2a",
    "pink": "#d35fb7",
    "green": "#4d8f1f",
    "cadetblue": "#436978",
    "purple": "#7b3fa0",
    "darkred": "#a23336",
    "black": "#303030",
    "gray": "#666666",
    "lightgray": "#8a8a8a",
}
GLYPHS = {
    "police": "警",
    "school": "学",
    "kindergarten": "幼",
    "university": "大",
    "hospital": "医",
    "clinic": "诊",
    "pharmacy": "药",
    "market": "市",
    "townhall": "政",
    "office": "机",
    "community_centre": "社",
    "social_facility": "养",
    "fire_station": "消",
    "prison": "监",
    "station": "站",
    "religious": "宗",
    "other": "其",
}
ESTIMATE_NOTE = "户数为估算值（建筑占地 × 层数 ÷ 户均面积，按标注人口校准），除非由用户导入。"


# -- helpers -----------------------------------------------------------------------------------------------------


def _names(frame: gpd.GeoDataFrame) -> list[str]:
    """A feature's name to show: the Chinese name, else the name, else empty."""
    zh = frame["name_zh"] if "name_zh" in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    return [text(a) or text(b) or "" for a, b in zip(zh, frame["name"])]


def _flags(series: pd.Series) -> pd.Series:
    return series.astype("boolean").fillna(False).astype(bool)


def _whole(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").round().astype("Int64")


def _layer(req: LayerRequest, kind: str) -> gpd.GeoDataFrame:
    return study_area(req.ctx, req.entry).layer(kind)


def _out(frame: gpd.GeoDataFrame, columns: dict[str, Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=frame.geometry.values, crs=STORAGE_CRS)


def _label_points(geoms: np.ndarray) -> np.ndarray:
    """A point well inside each polygon: on its largest part (an exclave does not pull the label away)."""
    out = []
    for g in geoms:
        parts = shapely.get_parts(g)
        biggest = parts[int(np.argmax(shapely.area(parts)))] if len(parts) > 1 else g
        out.append(shapely.point_on_surface(biggest))
    return np.asarray(out, dtype=object)


# -- area layers ----------------------------------------------------------------------------------------------------


def boundary(req: LayerRequest) -> gpd.GeoDataFrame:
    b = _layer(req, "boundary")
    return _out(b, {"name": _names(b) if "name" in b.columns else [""] * len(b)})


def communities(req: LayerRequest) -> gpd.GeoDataFrame:
    c = _layer(req, "communities")
    illustrative = bool(study_area(req.ctx, req.entry).meta.get("codes_illustrative"))
    provisional = _flags(c["code_provisional"])
    code_note = [
        f"{code}{'（临时代码）' if prov else ('（示意代码）' if illustrative else '')}"
        for code, prov in zip(c["code12"], provisional)
    ]
    return _out(
        c,
        {
            "name": _names(c),
            "code": code_note,
            "class_zh": [CLASS_ZH.get(str(k), "未分类") for k in c["area_class"]],
            "class_source": [
                "统计用城乡分类代码" if s == "code" else "建筑密度规则" if s else None for s in c["class_source"]
            ],
            "households": _whole(c["households"]),
            "households_estimated": _flags(c["households_estimated"]),
            "buildings": _whole(c["buildings"]),
        },
    )


def community_labels(req: LayerRequest) -> gpd.GeoDataFrame:
    c = communities(req)
    return gpd.GeoDataFrame(
        {"name": c["name"], "households": c["households"], "households_estimated": c["households_estimated"]},
        geometry=_label_points(c.geometry.values),
        crs=STORAGE_CRS,
    )


def buildings(req: LayerRequest) -> gpd.GeoDataFrame:
    b = _layer(req, "buildings")
    residential = b["residential"].astype("boolean")
    return _out(
        b,
        {
            "name": [text(n) or "" for n in b["name"]],
            "kind": [BUILDING_ZH.get(str(k), "其他建筑") if text(k) else "未分类" for k in b["building"]],
            "households": _whole(b["households"]).where(residential.fillna(True), 0),
            "households_estimated": (b["households_source"] != "given").to_numpy(),
            "use": ["非住宅" if r is False else None for r in residential.tolist()],
            "levels": _whole(b["levels"]),
            "levels_source": [LEVEL_SOURCE_ZH.get(str(s)) for s in b["levels_source"]],
        },
    )


def _road_lengths(req: LayerRequest) -> np.ndarray:
    """Each road's length in metres (in the area's metric CRS; sources rarely carry one)."""
    study = study_area(req.ctx, req.entry)
    roads = study.layer("roads")
    if not len(roads):
        return np.zeros(0)
    return np.asarray(shapely.length(roads.to_crs(study.metric_crs).geometry.values))


def roads(req: LayerRequest) -> gpd.GeoDataFrame:
    r = _layer(req, "roads")
    cls = [str(h or "").removesuffix("_link") for h in r["highway"]]
    return _out(
        r,
        {
            "name": [text(n) or text(ref) or "" for n, ref in zip(r["name"], r["ref"])],
            "road_class": cls,
            "length_m": np.round(_road_lengths(req)),
            "_min_zoom": [ROAD_MIN_ZOOM.get(c, OTHER_ROAD_ZOOM) for c in cls],
        },
    )


def street_labels(req: LayerRequest) -> gpd.GeoDataFrame:
    """A label point per named street stretch: the middle of each named way of 60 m or more, one per name within
    about 150 m (OSM splits a street at every junction; the rest would repeat the name a block apart)."""
    r = _layer(req, "roads")
    lengths = _road_lengths(req)
    keep = np.array([bool(text(n)) for n in r["name"]], dtype=bool) & (lengths >= 60)
    named = r[keep]
    points = shapely.line_interpolate_point(named.geometry.values, 0.5, normalized=True)
    frame = gpd.GeoDataFrame(
        {"name": named["name"].astype(str).to_numpy(), "length_m": np.round(lengths[keep])},
        geometry=gpd.GeoSeries(points, crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    ).sort_values("length_m", ascending=False)
    cell = (
        frame["name"]
        + ":"
        + (frame.geometry.x / 0.002).round().astype(int).astype(str)
        + ":"
        + (frame.geometry.y / 0.0014).round().astype(int).astype(str)
    )
    return frame[~cell.duplicated()].reset_index(drop=True)


def natural_villages(req: LayerRequest) -> gpd.GeoDataFrame:
    v = _layer(req, "natural_villages")
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in v.geometry]
    return gpd.GeoDataFrame(
        {
            "name": [n or "自然村" for n in _names(v)],
            "households": _whole(v["households"]),
            "households_estimated": _flags(v["households_estimated"]),
        },
        geometry=gpd.GeoSeries(pts, crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def village_areas(req: LayerRequest) -> gpd.GeoDataFrame:
    v = _layer(req, "natural_village_areas")
    return _out(
        v,
        {
            "name": [text(n) or "自然村" for n in v["name"]],
            "kind": ["推算（沿街区划分）" if bool(d) else "导入" for d in _flags(v["derived"])],
            "households": _whole(v["households"]),
            "households_estimated": _flags(v["households_estimated"]),
            "buildings": _whole(v["buildings"]),
        },
    )


def key_places(req: LayerRequest) -> gpd.GeoDataFrame:
    k = _layer(req, "key_places")
    cats = [str(c) if str(c) in CATEGORIES else "other" for c in k["category"]]
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in k.geometry]
    return gpd.GeoDataFrame(
        {"name": [n or CATEGORIES[c][0] for n, c in zip(_names(k), cats)], "category": cats},
        geometry=gpd.GeoSeries(pts, crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


# The inventory's normalised values (geo.camera_inventory) in the planner's words.
CAMERA_TYPE_ZH = {"bullet": "枪机", "fixed_dome": "半球", "ptz": "球机", "panoramic": "全景"}
CAMERA_STATUS_ZH = {"online": "在线", "offline": "离线", "fault": "故障"}


def cameras(req: LayerRequest) -> gpd.GeoDataFrame:
    c = _layer(req, "cameras")
    return _out(
        c,
        {
            "name": [text(n) or "监控点" for n in c["name"]],
            "device_id": [text(d) or "" for d in c["device_id"]],
            "camera_type": [text(t) or "" for t in c["camera_type"]],
            "status": [text(s) or "" for s in c["status"]],
        },
    )


def duty_points(req: LayerRequest) -> gpd.GeoDataFrame:
    d = _layer(req, "duty_points")
    pts = [g if g.geom_type == "Point" else g.representative_point() for g in d.geometry]
    return gpd.GeoDataFrame(
        {"name": [text(n) or "勤务点" for n in d["name"]], "category": ["police"] * len(d)},
        geometry=gpd.GeoSeries(pts, crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def _network(mode: str) -> Any:
    def data(req: LayerRequest) -> gpd.GeoDataFrame:
        from service.networks import network_edges  # the networks module registers nothing: no import cycle

        e = network_edges(req.ctx, req.area, mode)
        cls = [str(c or "").removesuffix("_link") for c in e["road_class"]]
        return _out(
            e,
            {
                "name": [text(n) or "（无名道路）" for n in e["name"]],
                "road_class": cls,
                "oneway": ["单行" if bool(o) else None for o in e["oneway"]],
                "length_m": e["length_m"].to_numpy(),
                "speed_kmh": e["speed_kmh"].to_numpy(),
                "travel_time_s": e["travel_time_s"].to_numpy(),
                "connected": ["是" if c == 0 else "否（与主路网不连通）" for c in e["component"]],
                "main": [c == 0 for c in e["component"]],
            },
        )

    return data


def _has_plans(req: LayerRequest) -> bool:
    return bool(req.plans)


# -- plan layers ----------------------------------------------------------------------------------------------------


def grids(req: LayerRequest) -> gpd.GeoDataFrame:
    """The grids of the page's plans at their versions, with their rows of the report saved with that version."""
    frames = []
    for ref in req.plans:
        g = req.ctx.store.plans.grids(req.area, ref.plan_id, ref.version)
        plan = req.ctx.store.plans.get(req.area, ref.plan_id)
        rows = {str(r["code"]): r for r in ((plan.report or {}).get("grids") or [])}
        est_default = bool(((plan.report or {}).get("community") or {}).get("households_estimated", True))
        cols: dict[str, list[Any]] = {k: [] for k in _GRID_COLUMNS}
        for _, row in g.iterrows():
            code = str(row["code"])
            r = rows.get(code, {})
            in_band = bool(r.get("in_band", row.get("in_band", True)))
            reason = r.get("reason", row.get("reason"))
            serial = row.get("serial")
            cols["code"].append(code)
            cols["serial"].append(f"{int(serial):03d}" if serial is not None and serial == serial else code[-3:])
            cols["name"].append(text(row.get("name")) or "")
            cols["community"].append(ref.community_name or ref.community_code)
            cols["households"].append(int(round(float(r.get("households", row.get("households")) or 0))))
            cols["households_estimated"].append(bool(r.get("households_estimated", est_default)))
            cols["in_band"].append(in_band)
            cols["reason_zh"].append(None if in_band else REASONS_ZH.get(str(reason), "未说明原因（待处理）"))
            cols["worker"].append(text(row.get("worker")) or None)
            cols["phone"].append(text(row.get("phone")) or None)
            cols["buildings"].append(r.get("buildings"))
            cols["area_m2"].append(r.get("area_m2"))
            cols["polsby_popper"].append(r.get("polsby_popper"))
            cols["street_share"].append(r.get("street_boundary_share"))
            cols["plan_id"].append(ref.plan_id)
        frames.append(gpd.GeoDataFrame(cols, geometry=g.geometry.values, crs=STORAGE_CRS))
    if not frames:
        return gpd.GeoDataFrame(
            {k: [] for k in _GRID_COLUMNS}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS
        )
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)
    out["colour"] = distinct_colours(out)  # neighbours never alike, across communities too
    return out


_GRID_COLUMNS = (
    "code",
    "serial",
    "name",
    "community",
    "households",
    "households_estimated",
    "in_band",
    "reason_zh",
    "worker",
    "phone",
    "buildings",
    "area_m2",
    "polsby_popper",
    "street_share",
    "plan_id",
)


def grid_labels(req: LayerRequest) -> gpd.GeoDataFrame:
    from maps.layers import get_layer
    from service.tiles import layer_frame  # the grids as the tiles have them (cached): not built twice

    layer = get_layer("grids")
    g = layer_frame(req.ctx, req.entry, layer, req.plans) if layer is not None else grids(req)
    return gpd.GeoDataFrame(
        {
            "serial": g["serial"],
            "households": g["households"],
            "alert": g["reason_zh"],
            "code": g["code"],
        },
        geometry=gpd.GeoSeries(_label_points(g.geometry.values), crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


def blocks(req: LayerRequest) -> gpd.GeoDataFrame:
    frames = []
    for ref in req.plans:
        b = req.ctx.store.plans.blocks(req.area, ref.plan_id)
        if len(b):
            frames.append(
                gpd.GeoDataFrame(
                    {
                        "block_id": b["block_id"].astype(str),
                        "households": _whole(b["households"]),
                        "households_estimated": _flags(b["households_estimated"])
                        if "households_estimated" in b.columns
                        else True,
                        "buildings": _whole(b["buildings"]) if "buildings" in b.columns else None,
                    },
                    geometry=b.geometry.values,
                    crs=STORAGE_CRS,
                )
            )
    if not frames:
        return gpd.GeoDataFrame({"block_id": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=STORAGE_CRS)


# -- the registrations ---------------------------------------------------------------------------------------------

HOUSEHOLDS = Field("households", "户数", format="int", unit="户", estimated_by="households_estimated")
EVERY_MAP = {"area": True, "grids": True, "plan": True, "export": True}

register(
    Layer(
        key="boundary",
        name_zh="研究区范围",
        name_en="Study area boundary",
        group="区划",
        kind="polygon",
        data=boundary,
        source="geojson",
        style=Style(colour="#333333", weight=2.5, dash="8 6", interactive=False),
        pages=EVERY_MAP,
        needs=("boundary",),
        order=10,
    )
)
register(
    Layer(
        key="communities",
        name_zh="社区/行政村",
        name_en="Communities and administrative villages",
        group="区划",
        kind="polygon",
        data=communities,
        source="tiles",
        # an administrative boundary's dashes: solid blue lines in the hills read as rivers
        style=Style(colour="#6a3d9a", weight=1.8, dash="7 4", fill="#6a3d9a", fill_opacity=0.02),
        tooltip=(
            Field("name", "名称"),
            Field("code", "统计用区划代码"),
            Field("class_zh", "城乡类别"),
            Field("class_source", "分类依据"),
            HOUSEHOLDS,
            Field("buildings", "建筑", format="int", unit="栋"),
        ),
        pages={"area": True, "grids": True, "plan": True, "export": True},
        simplify={0: 4, 14: 1, 16: 0},
        needs=("communities",),
        order=20,
    )
)
register(
    Layer(
        key="community_labels",
        name_zh="社区名称",
        name_en="Community names",
        group="区划",
        kind="label",
        data=community_labels,
        label=LabelText("name", priority="households", follows="communities", rank=2),
        style=Style(colour="#1a3d6d"),
        pages={"area": True, "grids": True, "plan": True, "export": True},
        legend=False,
        needs=("communities",),
        order=900,
    )
)
register(
    Layer(
        key="village_areas",
        name_zh="自然村范围",
        name_en="Natural village areas",
        group="区划",
        kind="polygon",
        data=village_areas,
        source="tiles",
        style=Style(colour="#2b7a0b", weight=1.5, dash="4 4", fill="#2b7a0b", fill_opacity=0.04),
        tooltip=(
            Field("name", "自然村"),
            Field("kind", "范围"),
            HOUSEHOLDS,
            Field("buildings", "建筑", format="int", unit="栋"),
        ),
        pages={"area": False, "grids": False, "plan": False, "export": False},
        needs=("natural_village_areas",),
        order=25,
    )
)
register(
    Layer(
        key="buildings",
        name_zh="建筑（按户数）",
        name_en="Buildings by households",
        group="建筑与道路",
        kind="polygon",
        data=buildings,
        source="tiles",
        style=Style(
            colour="#666666",
            weight=0.4,
            fill="#d9d9d9",
            fill_opacity=0.85,
            by="households",
            bins=(
                Bin(0, "#d9d9d9", "无住户（非住宅）"),
                Bin(1, "#fee8c8", "1–2 户"),
                Bin(3, "#fdbb84", "3–5 户"),
                Bin(6, "#fc8d59", "6–10 户"),
                Bin(11, "#e34a33", "11–30 户"),
                Bin(31, "#b30000", "31 户以上"),
            ),
        ),
        tooltip=(
            Field("name", "名称"),
            Field("kind", "类型"),
            Field("use", "用途"),
            HOUSEHOLDS,
            Field("levels", "层数", format="int", unit="层"),
            Field("levels_source", "层数来源"),
        ),
        density=Density(
            detail_zoom=14,
            weight="households",
            bins=(
                Bin(0, "#e9e9e9", "无住户"),
                Bin(1, "#fee8c8", "1–9 户"),
                Bin(10, "#fdbb84", "10–49 户"),
                Bin(50, "#fc8d59", "50–199 户"),
                Bin(200, "#e34a33", "200–499 户"),
                Bin(500, "#b30000", "500 户以上"),
            ),
            note="缩放到第 14 级以下时，建筑合并为小方格，颜色表示格内户数；放大后显示每栋建筑。",
            fields=(
                Field("features", "建筑", format="int", unit="栋"),
                Field("households", "户数", format="int", unit="户", estimated=True),
            ),
        ),
        note=ESTIMATE_NOTE,
        pages={"area": True, "grids": False, "plan": False, "export": True},
        simplify={14: 2, 16: 0},
        min_pixel_area=0.5,
        needs=("buildings",),
        order=30,
    )
)
register(
    Layer(
        key="roads",
        name_zh="道路（按等级）",
        name_en="Roads by class",
        group="建筑与道路",
        kind="line",
        data=roads,
        source="tiles",
        style=Style(
            colour="#999999",
            weight=1.5,
            by="road_class",
            categories=tuple(Category(cls, colour, zh, weight=w) for cls, colour, w, zh, _ in ROADS),
        ),
        tooltip=(
            Field("name", "名称"),
            Field("road_class", "等级", format="enum", values=ROAD_ZH),
            Field("length_m", "长度", format="distance"),
        ),
        note="支路及以下道路放大后显示。",
        pages={"area": True, "grids": True, "plan": True, "export": True},
        simplify={0: 2, 16: 0},
        needs=("roads",),
        order=40,
    )
)
register(
    Layer(
        key="street_labels",
        name_zh="路名",
        name_en="Street names",
        group="建筑与道路",
        kind="label",
        data=street_labels,
        source="bbox",
        label=LabelText("name", priority="length_m", follows="roads"),
        style=Style(colour="#444444"),
        min_zoom=16,
        pages={"area": True, "grids": True, "plan": True, "edit": True},  # read by view: needs the API
        legend=False,
        needs=("roads",),
        order=910,
    )
)
for _mode, _name, _colour, _en in (
    ("walk", "路网·步行", "#2b8cbe", "Walking network"),
    ("ebike", "路网·电动自行车", "#31a354", "E-bike network"),
    ("drive", "路网·机动车", "#d7301f", "Driving network"),
):
    register(
        Layer(
            key=f"network_{_mode}",
            name_zh=_name,
            name_en=_en,
            group="路网（巡逻与覆盖分析所用）",
            kind="line",
            data=_network(_mode),
            source="tiles",
            style=Style(
                colour=_colour,
                weight=2.5,
                highlights=(Highlight("main", False, "与主路网不连通的路段", weight=1.5, dash="4 4"),),
            ),
            tooltip=(
                Field("name", "名称"),
                Field("road_class", "等级", format="enum", values=ROAD_ZH),
                Field("oneway", "通行"),
                Field("length_m", "长度", format="distance"),
                Field("speed_kmh", "速度", format="int", unit="公里/小时"),
                Field("travel_time_s", "通行时间", format="duration"),
                Field("connected", "连通主路网"),
            ),
            min_zoom=13,
            needs=("roads",),
            pages={"area": False, "grids": False, "plan": False},
            order=45,
        )
    )
register(
    Layer(
        key="natural_villages",
        name_zh="自然村",
        name_en="Natural villages",
        group="区划",
        kind="point",
        data=natural_villages,
        style=Style(colour="#ffffff", weight=1.5, fill="#2b7a0b", fill_opacity=0.95, radius=5),
        tooltip=(Field("name", "自然村"), HOUSEHOLDS),
        pages={"area": True, "grids": False, "plan": False, "export": True},
        needs=("natural_villages",),
        order=60,
    )
)
register(
    Layer(
        key="village_labels",
        name_zh="自然村名称",
        name_en="Natural village names",
        group="区划",
        kind="label",
        data=natural_villages,
        label=LabelText("name", priority="households", follows="natural_villages", rank=1),
        style=Style(colour="#2b5a0b"),
        min_zoom=13,
        pages={"area": True, "grids": False, "plan": False, "export": True},
        legend=False,
        needs=("natural_villages",),
        order=905,
    )
)
_CATEGORY_LOOK = tuple(
    Category(cat, MARKER_COLOURS.get(colour, colour), label, glyph=GLYPHS.get(cat, "其"))
    for cat, (label, _icon, colour) in CATEGORIES.items()
)
register(
    Layer(
        key="key_places",
        name_zh="重点场所",
        name_en="Key places",
        group="场所与点位",
        kind="marker",
        data=key_places,
        style=Style(by="category", categories=_CATEGORY_LOOK),
        tooltip=(
            Field("name", "名称"),
            Field("category", "类别", format="enum", values={c.value: c.label for c in _CATEGORY_LOOK}),
        ),
        cluster=True,
        pages={"area": True, "grids": False, "plan": False, "export": True},
        note="数字为聚合的场所数，放大后展开。",
        needs=("key_places",),
        order=70,
    )
)
register(
    Layer(
        key="cameras",
        name_zh="监控点",
        name_en="Cameras",
        group="场所与点位",
        kind="point",
        data=cameras,
        style=Style(colour="#ffffff", weight=1, fill="#6a1b9a", fill_opacity=1, radius=4),
        tooltip=(
            Field("name", "名称"),
            Field("device_id", "设备编码"),
            Field("camera_type", "类型", format="enum", values=CAMERA_TYPE_ZH),
            Field("status", "状态", format="enum", values=CAMERA_STATUS_ZH),
        ),
        pages={"area": True, "grids": False, "plan": False, "export": True},
        needs=("cameras",),
        order=75,
    )
)
register(
    Layer(
        key="duty_points",
        name_zh="勤务点（派出所/警务室）",
        name_en="Duty points",
        group="场所与点位",
        kind="marker",
        data=duty_points,
        style=Style(by="category", categories=(Category("police", "#0b3d91", "勤务点", glyph="勤"),)),
        tooltip=(Field("name", "勤务点"),),
        cluster=True,
        pages={"area": True, "grids": False, "plan": False, "export": True},
        needs=("duty_points",),
        order=76,
    )
)
register(
    Layer(
        key="grids",
        name_zh="网格",
        name_en="Grids",
        group="网格方案",
        kind="polygon",
        data=grids,
        source="tiles",
        scope="plans",
        plan_state=(),  # drawn from the plans alone: a patrol route or audit saved leaves it be
        style=Style(
            colour="#1a1a1a",
            weight=2.0,
            fill="#cccccc",
            fill_opacity=0.45,
            colour_from="colour",
            highlights=(
                Highlight("in_band", False, "户数超出区间（提示中有原因）", colour="#d62728", weight=3.5, dash="8 5"),
            ),
        ),
        tooltip=(
            Field("code", "网格编码"),
            Field("name", "名称"),
            Field("community", "社区/行政村"),
            HOUSEHOLDS,
            REASON_FIELD,
            Field("worker", "网格员"),
            Field("phone", "电话"),
            Field("buildings", "建筑", format="int", unit="栋"),
            Field("area_m2", "面积", format="area"),
            Field("polsby_popper", "紧凑度（Polsby–Popper，越接近 1 越紧凑）", format="decimal", digits=2),
            Field("street_share", "沿街边界比例", format="share"),
        ),
        pages={"area": False, "grids": True, "plan": True},
        note="颜色仅用于区分相邻网格。",
        simplify={0: 3, 14: 1, 16: 0},
        available=_has_plans,
        order=50,
    )
)
register(
    Layer(
        key="grid_labels",
        name_zh="网格编号",
        name_en="Grid numbers",
        group="网格方案",
        kind="label",
        data=grid_labels,
        scope="plans",
        plan_state=(),  # drawn from the plans alone: a patrol route or audit saved leaves it be
        label=LabelText(
            "serial",
            second=Field("households", "户数", format="int", unit="户"),
            priority="households",
            follows="grids",
            alert="alert",
            rank=3,
        ),
        style=Style(colour="#111111"),
        pages={"area": False, "grids": True, "plan": True, "edit": True},
        legend=False,
        available=_has_plans,
        order=920,
    )
)
register(
    Layer(
        key="blocks",
        name_zh="街区（划分单元）",
        name_en="Blocks",
        group="网格方案",
        kind="polygon",
        data=blocks,
        source="tiles",
        scope="plans",
        plan_state=(),  # drawn from the plans alone: a patrol route or audit saved leaves it be
        style=Style(colour="#555555", weight=0.7),
        tooltip=(
            Field("block_id", "街区编号"),
            HOUSEHOLDS,
            Field("buildings", "建筑", format="int", unit="栋"),
        ),
        min_zoom=13,
        pages={"grids": False, "plan": False},
        simplify={0: 2, 16: 0},
        available=_has_plans,
        order=55,
    )
)
