"""The patrol routes' map layers: each saved grid route in walking order, its start and stops, and its direction.

Registered with the map registry (:mod:`maps.layers`) at import time, scoped to the plans on the page (the adopted
plans on the grid map, one plan on a plan's map): the routes saved for those plans, read from the store
(:mod:`service.patrol` saves them per plan version). A route saved on an older version of its plan than the page's
is drawn grey and dashed (stale: the plan was edited since; route again). The shell draws no arrow decorations, so
the direction and the order are labels: from zoom 16 each leg (consecutive steps on one street) carries its number
in walking order and an arrow for its heading (north up). All are off when a page opens and listed only where the
area has saved routes.

The GPS audit's two layers (vector tiles, plan-scoped like the routes): the required streets of each audited grid
the tracks covered (green; lighter where a sidewalk beside the street was walked) and those they missed (red and
dashed; orange where less than half was walked), from each grid's latest audit (store/patrol.py) of the page's
plans. Their tiles carry the audit's token in the plans' state, so an audit saved after a map was drawn shows on
it; each is listed only where the page's plans have streets of its kind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import STORAGE_CRS
from maps.layers import Category, Field, Highlight, LabelText, Layer, LayerRequest, Style, get_layer, register
from service.context import Context
from service.tiles import layer_frame, register_plan_state
from store.patrol import AUDIT_COVERED

# One colour per route on the page, in turn (Tableau 10: distinct on the light base map).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
ARROWS = ("↑", "↗", "→", "↘", "↓", "↙", "←", "↖")  # headings from north, clockwise, 45° apart
STALE_COLOUR = "#888888"


def heading_arrow(lonlat: np.ndarray) -> str:
    """The arrow of a leg's heading around its middle (north up; lon/lat scaled by the latitude's cosine).

    Examples
    --------
    >>> heading_arrow(np.array([[7.0, 47.0], [7.0, 47.001]])), heading_arrow(np.array([[7.0, 47.0], [6.99, 47.0]]))
    ('↑', '←')
    """
    if len(lonlat) < 2:
        return ""
    mid = len(lonlat) // 2
    a, b = lonlat[max(mid - 1, 0)], lonlat[min(mid + 1, len(lonlat) - 1)]
    if len(lonlat) == 2:
        a, b = lonlat[0], lonlat[1]
    dx = (b[0] - a[0]) * np.cos(np.radians((a[1] + b[1]) / 2))
    dy = b[1] - a[1]
    if dx == 0 and dy == 0:
        return ""
    bearing = np.degrees(np.arctan2(dx, dy)) % 360
    return ARROWS[int(round(bearing / 45.0)) % 8]


def _routes_token(ctx: Context, area: str) -> str:
    count, last, saved = ctx.store.patrol.token(area)
    return f"{count}.{last}.{saved}"


# Routes saved after a page was first drawn: the plans' layers (and their tiles' versions) follow the saved routes.
register_plan_state("patrol_routes", _routes_token)


def _available(req: LayerRequest) -> bool:
    """Plans on the page and routes saved in the area (one count query)."""
    return bool(req.plans) and req.ctx.store.patrol.token(req.area)[0] > 0


def _documents(req: LayerRequest) -> list[tuple[dict[str, Any], dict[str, Any], bool]]:
    """(route item, document, stale) of each saved grid route of the page's plans: the routes of each plan's
    version on the page, else (none saved at it) those of the newest version that has routes, as stale."""
    out = []
    for plan in req.plans:
        items = [it for it in req.ctx.store.patrol.list(req.area, plan_id=plan.plan_id) if it["kind"] == "grid"]
        if not items:
            continue
        current = [it for it in items if it["version"] == plan.version]
        newest = max(it["version"] for it in items)
        chosen = current or [it for it in items if it["version"] == newest]
        for it in chosen:
            doc = req.ctx.store.patrol.get(req.area, it["route_id"])["document"]
            out.append((it, doc, not current))
    return out


def _empty(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


_LEG_COLUMNS = ["route_id", "grid", "order", "street", "length_m", "from_min", "route_minutes", "colour", "stale"]


def route_legs(req: LayerRequest) -> gpd.GeoDataFrame:
    """Every leg of the page's saved routes, in walking order (EPSG:4326): the walk as saved, with the passes that
    extend a short route to the daily minimum."""
    rows: dict[str, list[Any]] = {c: [] for c in _LEG_COLUMNS}
    geoms = []
    for n, (it, doc, stale) in enumerate(_documents(req)):
        summary = it["summary"]
        for f in doc["features"]:
            p = f["properties"]
            if p.get("kind") != "leg" or not f["geometry"]:
                continue
            rows["route_id"].append(it["route_id"])
            rows["grid"].append(it["grid"])
            rows["order"].append(int(p["order"]))
            rows["street"].append(p.get("street") or "无名道路")
            rows["length_m"].append(float(p["length_m"]))
            rows["from_min"].append(float(p["from_min"]))
            rows["route_minutes"].append(summary.get("extended_minutes", summary.get("minutes")))
            rows["colour"].append(STALE_COLOUR if stale else PALETTE[n % len(PALETTE)])
            rows["stale"].append(stale)
            geoms.append(shapely.LineString(f["geometry"]["coordinates"]))
    if not geoms:
        return _empty(_LEG_COLUMNS)
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


def leg_labels(req: LayerRequest) -> gpd.GeoDataFrame:
    """A label at the middle of each leg: its number in walking order and its heading's arrow."""
    legs = route_legs(req)
    if not len(legs):
        return _empty(["text", "length_m"])
    texts, points = [], []
    for order, line in zip(legs["order"], legs.geometry, strict=True):
        xy = shapely.get_coordinates(line)
        texts.append(f"{order}{heading_arrow(xy)}")
        points.append(shapely.line_interpolate_point(line, 0.5, normalized=True))
    return gpd.GeoDataFrame(
        {"text": texts, "length_m": legs["length_m"].to_numpy()},
        geometry=gpd.GeoSeries(points, crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


_STOP_COLUMNS = ["route_id", "grid", "name", "category", "order", "distance_m", "time_min"]


def route_stops(req: LayerRequest) -> gpd.GeoDataFrame:
    """Each route's start (the office) and its required stops (key places) in order (EPSG:4326)."""
    rows: dict[str, list[Any]] = {c: [] for c in _STOP_COLUMNS}
    geoms = []
    for it, doc, _stale in _documents(req):
        for f in doc["features"]:
            p = f["properties"]
            if p.get("kind") not in ("start", "stop") or not f["geometry"]:
                continue
            rows["route_id"].append(it["route_id"])
            rows["grid"].append(it["grid"])
            rows["name"].append(p.get("name") or ("起点" if p["kind"] == "start" else "必经点"))
            rows["category"].append(p["kind"])
            rows["order"].append(int(p.get("order") or 0))
            rows["distance_m"].append(float(p.get("distance_m") or 0.0))
            rows["time_min"].append(float(p.get("time_min") or 0.0))
            geoms.append(shapely.Point(f["geometry"]["coordinates"]))
    if not geoms:
        return _empty(_STOP_COLUMNS)
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


PAGES = {"grids": False, "plan": False}

register(
    Layer(
        key="patrol_routes",
        name_zh="巡查路线",
        name_en="Patrol routes",
        group="巡查",
        kind="line",
        data=route_legs,
        scope="plans",
        plan_state=("patrol_routes",),
        style=Style(
            colour=PALETTE[0],
            weight=3.0,
            opacity=0.85,
            colour_from="colour",
            highlights=(Highlight("stale", True, "方案已修改，路线需重新规划", colour=STALE_COLOUR, dash="6 6"),),
        ),
        tooltip=(
            Field("grid", "网格编码"),
            Field("order", "路段顺序", format="int"),
            Field("street", "道路"),
            Field("length_m", "路段长度", format="distance"),
            Field("from_min", "出发后", format="decimal", unit="分钟"),
            Field("route_minutes", "全程（含延长到每日时长）", format="decimal", unit="分钟"),
        ),
        pages=PAGES,
        note="每条路线一种颜色；放大后标注路段顺序与行进方向（箭头，上北）。",
        available=_available,
        order=80,
    )
)
register(
    Layer(
        key="patrol_route_order",
        name_zh="巡查路段顺序与方向",
        name_en="Patrol legs: order and direction",
        group="巡查",
        kind="label",
        data=leg_labels,
        scope="plans",
        plan_state=("patrol_routes",),
        label=LabelText("text", priority="length_m", follows="patrol_routes"),
        style=Style(colour="#111111"),
        min_zoom=16,
        pages=PAGES,
        legend=False,
        available=_available,
        order=930,
    )
)
register(
    Layer(
        key="patrol_stops",
        name_zh="巡查起点与必经点",
        name_en="Patrol start and stops",
        group="巡查",
        kind="marker",
        data=route_stops,
        scope="plans",
        plan_state=("patrol_routes",),
        style=Style(
            by="category",
            categories=(
                Category("start", "#2ca02c", "起点（网格工作站等）", glyph="起"),
                Category("stop", "#d62728", "必经点（重点场所）", glyph="经"),
            ),
        ),
        tooltip=(
            Field("name", "名称"),
            Field("grid", "网格编码"),
            Field("order", "顺序", format="int"),
            Field("distance_m", "出发后距离", format="distance"),
            Field("time_min", "出发后", format="decimal", unit="分钟"),
        ),
        pages=PAGES,
        available=_available,
        order=85,
    )
)


# --------------------------------------------------------------------------- the GPS audit: streets covered and missed

# Bright and heavy: they cross the grids' fills and the buildings' reds; missed streets dashed, so they read apart
# from the red buildings and from each other where colours are hard to tell.
COVERED_COLOUR, ALONGSIDE_COLOUR = "#2f9e44", "#12b886"
MISSED_COLOUR, PARTLY_COLOUR = "#f03e3e", "#fd7e14"
MISSED_DASH = "4 10"  # with round caps 5 px wide: dashes of 9 px, gaps of 5 (the pointer finds the street)


def _audit_token(ctx: Context, area: str) -> str:
    return ctx.store.patrol.audit_token(area)


# An audit saved after a page was first drawn: the plans' layers (and their tiles' versions) follow it.
register_plan_state("patrol_audit", _audit_token)


def _audit_available(covered: bool) -> Any:
    def available(req: LayerRequest) -> bool:
        """Streets of this kind in the page's plans' audits (one grouped count)."""
        if not req.plans:
            return False
        counts = req.ctx.store.patrol.audit_counts(req.area, plan_ids=[p.plan_id for p in req.plans])
        return any((status in AUDIT_COVERED) == covered and n > 0 for status, n in counts.items())

    return available


_AUDIT_COLUMNS = [
    "street",
    "grid",
    "days",
    "length_m",
    "walked_m",
    "share",
    "workers",
    "audited_at",
    "plan_note",
    "status",
]
STALE_NOTE = "方案已调整，需重新核查"


def _local_time(iso: str | None, tz: ZoneInfo) -> str | None:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M") if iso else None


def audit_streets(req: LayerRequest, *, covered: bool) -> gpd.GeoDataFrame:
    """The audited required streets of the page's plans (EPSG:4326), covered or missed, from each grid's latest
    audit: street name, grid, days (the days it was walked; for a missed one the days its grid was audited), length,
    metres walked and their share, the workers, and when the audit ran (in the rules' time zone)."""
    cols = req.ctx.store.patrol.audit_streets(req.area, plan_ids=[p.plan_id for p in req.plans])
    status = np.asarray(cols["status"], dtype=object)
    # only grids the plans still have: a grid merged away (its code maybe handed out again by a later split) is not
    # shown with streets it no longer holds; a grid edited since its audit is marked, as saved routes are
    grids_now = _current_grids(req)
    exists = np.array([(pid, str(g)) in grids_now for pid, g in zip(cols["plan_id"], cols["grid"])], dtype=bool)
    wanted = (np.isin(status, AUDIT_COVERED) == covered) & exists if len(status) else np.zeros(0, dtype=bool)
    keep = np.flatnonzero(wanted)
    if not len(keep):
        return _empty(_AUDIT_COLUMNS)
    tz = ZoneInfo(req.ctx.rules.patrol.timezone)
    current = {p.plan_id: p.version for p in req.plans}
    length = np.asarray(cols["length_m"], dtype=float)[keep]
    walked = np.asarray(cols["walked_m"], dtype=float)[keep]
    rows = {
        "street": [cols["name"][i] or "无名道路" for i in keep],
        "grid": [cols["grid"][i] for i in keep],
        "days": [cols["days"][i].replace(",", "、") for i in keep],
        "length_m": length,
        "walked_m": walked,
        "share": np.round(np.divide(walked, length, out=np.zeros_like(walked), where=length > 0), 3),
        "workers": [cols["workers"][i] or None for i in keep],
        "audited_at": [_local_time(cols["audited_at"][i], tz) for i in keep],
        "plan_note": [
            STALE_NOTE if (cols["version"][i] or 0) < current.get(cols["plan_id"][i], 0) else None for i in keep
        ],
        "status": status[keep],
    }
    geoms = np.asarray(cols["geometry"], dtype=object)[keep]
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


def _current_grids(req: LayerRequest) -> set[tuple[str, str]]:
    """(plan, grid code) of every grid of the page's plans at their current versions (the grids layer's frame,
    cached with the area)."""
    frame = layer_frame(req.ctx, req.entry, get_layer("grids"), req.plans)  # type: ignore[arg-type]
    if not len(frame):
        return set()
    return {(str(pid), str(code)) for pid, code in zip(frame["plan_id"], frame["code"])}


def covered_streets(req: LayerRequest) -> gpd.GeoDataFrame:
    """The required streets the audited tracks covered."""
    return audit_streets(req, covered=True)


def missed_streets(req: LayerRequest) -> gpd.GeoDataFrame:
    """The required streets the audited tracks missed (not walked, or less than half of them)."""
    return audit_streets(req, covered=False)


AUDIT_PAGES = {"area": False, "grids": False, "plan": False}

register(
    Layer(
        key="patrol_streets_covered",
        name_zh="巡查已覆盖街道",
        name_en="Streets patrolled",
        group="巡查",
        kind="line",
        data=covered_streets,
        source="tiles",
        scope="plans",
        plan_state=("patrol_audit",),
        style=Style(
            colour=COVERED_COLOUR,
            weight=5.0,
            opacity=0.9,
            highlights=(
                Highlight("status", "walked", "轨迹走过（过半）", colour=COVERED_COLOUR),
                Highlight("status", "alongside", "沿旁边的人行道走过", colour=ALONGSIDE_COLOUR),
            ),
        ),
        tooltip=(
            Field("street", "街道名"),
            Field("grid", "网格"),
            Field("days", "巡查日期"),
            Field("length_m", "长度", format="distance"),
            Field("share", "走过", format="share"),
            Field("workers", "网格员"),
            Field("audited_at", "核查时间"),
            Field("plan_note", "注意"),
        ),
        pages=AUDIT_PAGES,
        note="各网格最近一次轨迹核查；边界街道两侧网格各算一次。",
        available=_audit_available(True),
        order=78,
    )
)
register(
    Layer(
        key="patrol_streets_missed",
        name_zh="巡查未覆盖街道",
        name_en="Streets missed",
        group="巡查",
        kind="line",
        data=missed_streets,
        source="tiles",
        scope="plans",
        plan_state=("patrol_audit",),
        style=Style(
            colour=MISSED_COLOUR,
            weight=5.0,
            opacity=0.95,
            dash=MISSED_DASH,
            highlights=(
                Highlight("status", "none", "未走到", colour=MISSED_COLOUR, dash=MISSED_DASH),
                Highlight("status", "partly", "走过不足一半", colour=PARTLY_COLOUR, dash=MISSED_DASH),
            ),
        ),
        tooltip=(
            Field("street", "街道名"),
            Field("grid", "网格"),
            Field("days", "核查日期（未走到）"),
            Field("length_m", "长度", format="distance"),
            Field("walked_m", "已走", format="distance"),
            Field("workers", "网格员"),
            Field("audited_at", "核查时间"),
            Field("plan_note", "注意"),
        ),
        pages=AUDIT_PAGES,
        available=_audit_available(False),
        order=79,
    )
)
