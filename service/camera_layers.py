"""The cameras' map layers: fields of view with line of sight, blind spots, villages by deficit, proposed sites.

Registered with the map registry (:mod:`maps.layers`) at import time; each layer's data comes from the area's cache
(:mod:`service.cameras`). All are off when the area map opens and computed when ticked; each is listed only where the
stored layers it is drawn from hold a feature. The proposals are those that meet every deficit under the rules (no
budget: :func:`service.cameras.default_proposals`), shared with a proposals job without a budget through the area's
cache. The click panel's cameras that see a place come from :mod:`service.place`, which draws the same views
(:mod:`geo.camera_views`).
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely

from geo.camera_coverage import blind_spots
from geo.camera_siting import KIND_ORDER, KIND_ZH
from geo.crs import STORAGE_CRS
from maps.layers import Bin, Category, Field, Highlight, Layer, LayerRequest, Style, register
from service.cameras import _audit, _coverage, camera_data, default_proposals
from service.context import area_frames

STATUS_ZH = {"online": "在线", "offline": "离线", "fault": "故障"}
COMPASS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")


def facing_zh(bearing_deg: float | None) -> str:
    """A bearing as a planner says it: the nearest of eight compass words and the degrees.

    Examples
    --------
    >>> facing_zh(45.0), facing_zh(350.0), facing_zh(None)
    ('东北（45°）', '北（350°）', '')
    """
    if bearing_deg is None or not np.isfinite(bearing_deg):
        return ""
    return f"{COMPASS_ZH[int(round(bearing_deg / 45.0)) % 8]}（{bearing_deg:.0f}°）"


def optics_zh(source: str) -> str:
    """Where a view's shape came from, in Chinese (:func:`geo.camera_views.camera_optics` names it in English).

    Examples
    --------
    >>> [optics_zh(s) for s in ("given", "lens 6 mm", "default bullet", "PTZ dome", "panoramic", "no direction")]
    ['清单给出的视场角与距离', '镜头 6 毫米', '默认枪机（未给镜头）', '球机（360°）', '全景（360°）', '未给朝向']
    """
    fixed = {
        "given": "清单给出的视场角与距离",
        "default bullet": "默认枪机（未给镜头）",
        "PTZ dome": "球机（360°）",
        "panoramic": "全景（360°）",
        "no direction": "未给朝向",
    }
    if source in fixed:
        return fixed[source]
    if source.startswith("lens ") and source.endswith(" mm"):
        return f"镜头 {source[5:-3]} 毫米"
    return source


def holds(*kinds: str) -> Callable[[LayerRequest], bool]:
    """A page's cheap test for a layer: each of the area's stored layers ``kinds`` holds a feature (one count query
    per area revision, so a page lists the layer without computing views or siting)."""

    def test(req: LayerRequest) -> bool:
        counts = req.entry.get(("cameras", "stored_layers"), lambda: req.ctx.store.summary(req.entry.name).layers)
        return all(counts.get(kind, 0) > 0 for kind in kinds)

    return test


def camera_views(req: LayerRequest) -> gpd.GeoDataFrame:
    """Each camera's view with line of sight (EPSG:4326)."""
    data = camera_data(req.ctx, req.entry)
    cams = data.cameras
    keep = np.array([v is not None and not shapely.is_empty(v) for v in data.views], dtype=bool)
    frame = gpd.GeoDataFrame(
        {
            "name": [str(n) if n is not None else "" for n in cams["name"].to_numpy(dtype=object)[keep]],
            "device_id": [str(d) if d is not None else "" for d in cams["device_id"].to_numpy(dtype=object)[keep]],
            "status": [str(s) if s is not None else "" for s in cams["status"].to_numpy(dtype=object)[keep]],
            "facing": [facing_zh(b) for b in cams["bearing_deg"].to_numpy(dtype=float)[keep]],
            "fov_deg": cams["fov_deg"].to_numpy(dtype=float)[keep],
            "range_m": cams["range_m"].to_numpy()[keep],
            "optics": [optics_zh(str(o)) for o in cams["optics_source"].to_numpy(dtype=object)[keep]],
        },
        geometry=data.views[keep],
        crs=cams.crs,
    )
    return frame.to_crs(STORAGE_CRS)


def camera_blind_spots(req: LayerRequest) -> gpd.GeoDataFrame:
    """The camera streets no camera sees (EPSG:4326)."""
    data = camera_data(req.ctx, req.entry)
    spots = blind_spots(_coverage(req.ctx, req.entry), data.streets)
    spots["name"] = spots["name"].fillna("").astype(str)
    return spots[["name", "road_class", "length_m", "geometry"]].to_crs(STORAGE_CRS)


def _deficits(req: LayerRequest, level: str) -> gpd.GeoDataFrame:
    audit = _audit(req.ctx, req.entry)
    frames = area_frames(req.ctx, req.entry)
    zones = frames.communities if level == "community" else frames.village_areas
    rows = audit.villages[audit.villages["level"] == level].set_index("fid")
    out = gpd.GeoDataFrame(
        {
            "name": zones["name"].fillna("").astype(str).to_numpy(),
            "required": zones["fid"].map(rows["required"]).fillna(0).astype(int).to_numpy(),
            "counted": zones["fid"].map(rows["counted"]).fillna(0).astype(int).to_numpy(),
            "deficit": zones["fid"].map(rows["deficit"]).fillna(0).astype(int).to_numpy(),
            "working_rate": zones["fid"].map(rows["working_rate"]).astype(float).to_numpy(),
        },
        geometry=zones.geometry.values,
        crs=zones.crs,
    )
    return out.to_crs(STORAGE_CRS)


_DEFICIT_STYLE = Style(
    colour="#555555",
    weight=1.5,
    fill="#1a9850",
    fill_opacity=0.35,
    by="deficit",
    bins=(Bin(0, "#1a9850", "达标"), Bin(1, "#fdae61", "缺 1 个"), Bin(2, "#d73027", "缺 2 个及以上")),
)
_DEFICIT_TIP = (
    Field("name", "名称"),
    Field("counted", "计入监控点", format="int", unit="个"),
    Field("required", "应有", format="int", unit="个"),
    Field("deficit", "缺口", format="int", unit="个"),
    Field("working_rate", "在线率", format="share"),
)


def _village(natural: str | None, community: str | None) -> str:
    """A proposal's place as planners name it: the natural village with its administrative village in brackets.

    Examples
    --------
    >>> _village("Gaflei", "Triesenberg"), _village(None, "Vaduz"), _village("Steg", None)
    ('Gaflei（Triesenberg）', 'Vaduz', 'Steg')
    """
    if natural and community and natural != community:
        return f"{natural}（{community}）"
    return natural or community or ""


def camera_proposals(req: LayerRequest) -> gpd.GeoDataFrame:
    """The proposed sites that meet every deficit, each with its reason and direction (EPSG:4326)."""
    report = default_proposals(req.ctx, req.entry)
    rows = report["proposals"]
    relaxed: dict[int, list[str]] = {}
    for vio in report["spacing"]:  # which proposals stand closer than the spacing rule, and to what
        ids = vio["proposals"]
        for n in ids:
            if vio["with"] == "existing":
                what = f"{vio['existing_within']} 个现有监控点"
            else:
                what = "、".join(f"第 {m} 号" for m in ids if m != n) + f"（{vio['distance_m']:g} 米）"
            relaxed.setdefault(n, []).append(what)
    spacing = req.ctx.rules.cameras.min_spacing_m
    return gpd.GeoDataFrame(
        {
            "n": [p["n"] for p in rows],
            "kind": [p["kind"] for p in rows],
            "village": [_village(p["natural_village"], p["community"]) for p in rows],
            "road": [p["road"] or "" for p in rows],
            "facing": [facing_zh(p["bearing_deg"]) for p in rows],
            "households_newly_covered": [p["households_newly_covered"] for p in rows],
            "street_newly_covered_m": [p["street_newly_covered_m"] for p in rows],
            "reason": [p["reason_zh"] for p in rows],
            "spacing": [
                f"距{'、'.join(relaxed[p['n']])}不足 {spacing:g} 米（间距要求已放宽）" if p["n"] in relaxed else None
                for p in rows
            ],
        },
        geometry=gpd.points_from_xy([p["lon"] for p in rows], [p["lat"] for p in rows]),
        crs=STORAGE_CRS,
    )


register(
    Layer(
        key="camera_deficit_villages",
        name_zh="行政村监控缺口",
        name_en="Administrative villages by camera deficit",
        group="监控",
        kind="polygon",
        data=lambda req: _deficits(req, "community"),
        source="geojson",
        style=_DEFICIT_STYLE,
        tooltip=_DEFICIT_TIP,
        pages={"area": False},
        available=holds("communities"),
        order=25,
    )
)
register(
    Layer(
        key="camera_deficit_natural",
        name_zh="自然村监控缺口",
        name_en="Natural villages by camera deficit",
        group="监控",
        kind="polygon",
        data=lambda req: _deficits(req, "natural_village"),
        source="geojson",
        style=_DEFICIT_STYLE,
        tooltip=_DEFICIT_TIP,
        pages={"area": False},
        available=holds("natural_village_areas"),
        order=26,
    )
)
register(
    Layer(
        key="camera_views",
        name_zh="监控视域（含遮挡）",
        name_en="Camera fields of view (line of sight)",
        group="监控",
        kind="polygon",
        data=camera_views,
        source="tiles",
        style=Style(
            colour="#6a1b9a",
            fill="#6a1b9a",
            fill_opacity=0.2,
            weight=1.0,
            # an offline or faulty camera sees nothing now: its view is drawn grey and dashed, and covers nothing
            highlights=(
                Highlight("status", "offline", "离线（不计覆盖）", colour="#888888", dash="3 3", fill_opacity=0.05),
                Highlight("status", "fault", "故障（不计覆盖）", colour="#888888", dash="3 3", fill_opacity=0.05),
            ),
        ),
        tooltip=(
            Field("name", "名称"),
            Field("device_id", "设备编码"),
            Field("status", "状态", format="enum", values=STATUS_ZH),
            Field("facing", "朝向"),
            Field("fov_deg", "视场角", format="decimal", unit="°", digits=0),
            Field("range_m", "视距", format="distance"),
            Field("optics", "视域依据"),
        ),
        min_zoom=14,
        pages={"area": False},
        available=holds("cameras"),
        order=60,
    )
)
register(
    Layer(
        key="camera_blind_spots",
        name_zh="监控盲区街道",
        name_en="Streets no camera sees",
        group="监控",
        kind="line",
        data=camera_blind_spots,
        source="tiles",
        style=Style(colour="#d73027", weight=2.0, dash="4 3"),
        tooltip=(Field("name", "路名"), Field("length_m", "盲区长度", format="distance")),
        min_zoom=13,
        pages={"area": False},
        available=holds("cameras"),
        order=61,
    )
)
register(
    Layer(
        key="camera_proposals",
        name_zh="建议新增监控点",
        name_en="Proposed camera sites",
        group="监控",
        kind="point",
        data=camera_proposals,
        source="geojson",
        style=Style(
            colour="#ffffff",
            weight=1.5,
            fill="#d73027",
            fill_opacity=1.0,
            radius=6,
            by="kind",
            categories=tuple(
                Category(kind, colour, KIND_ZH[kind])
                for kind, colour in zip(KIND_ORDER, ("#d73027", "#f46d43", "#7b3294", "#fdae61", "#999999"))
            ),
        ),
        tooltip=(
            Field("n", "编号", format="int"),
            Field("kind", "点位类型", format="enum", values=KIND_ZH),
            Field("village", "所在村"),
            Field("road", "道路"),
            Field("facing", "建议朝向"),
            Field("households_newly_covered", "新增覆盖", format="int", unit="户"),
            Field("street_newly_covered_m", "新增覆盖街道", format="distance"),
            Field("reason", "选址理由"),
            Field("spacing", "间距"),
        ),
        pages={"area": False},
        available=holds("communities", "roads"),
        note="满足全部缺口的选址（按规则、不限预算）；首次勾选时计算，全区约需十几秒至两分钟。",
        order=62,
    )
)
