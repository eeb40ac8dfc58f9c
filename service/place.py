"""Who covers this place? A point in any datum, a building or an address, answered by ``where`` in milliseconds.

Extends :func:`service.where.where` (community, grid, natural village and the sections other jobs register, such as
``duty_points`` from :mod:`service.response`) with what a planner types: lon/lat in WGS84, CGCS2000, GCJ-02 (AMap,
Tencent) or BD-09 (Baidu), a building id, or an address (``addr_street`` + house number). A place outside every
community is a 404 naming the nearest community (and saying so when the coordinates look swapped). ``cameras``
lists the cameras whose view (:mod:`geo.camera_views`, line of sight) contains the place; ``patrol_routes`` the
saved routes passing it (a section registered by :mod:`service.patrol`: route id, grid, length, minutes, stale).

Every index is built once per area revision and kept in the area's cache.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

import service.patrol  # noqa: F401  (registers the answer's patrol_routes section)
import service.response  # noqa: F401,E402  (registers the answer's duty_points section)
from geo.area import text
from geo.camera_inventory import normalise_status
from geo.camera_quota import working_cameras
from geo.camera_views import VIEW_NONE, building_heights, camera_optics, view_polygons
from geo.crs import STORAGE_CRS
from geo.datum import check_datum, to_wgs84
from geo.errors import InputError, NotFoundError, OutsideCommunitiesError
from service.cache import AreaEntry
from service.context import Context, study_area
from service.where import where


@dataclass(frozen=True, eq=False)
class PlaceIndex:
    """What a place query is resolved and answered from (one per area revision)."""

    to_metric: Transformer
    communities: gpd.GeoDataFrame  # metric
    community_tree: shapely.STRtree
    building_fids: dict[str, int]
    addresses: dict[str, list[int]]  # normalised "street number" -> building rows
    building_points: np.ndarray  # lon/lat representative points
    camera_views: np.ndarray  # metric polygons of the cameras that have a view
    camera_rows: np.ndarray  # their rows in the cameras layer
    camera_tree: shapely.STRtree


def normalise_address(value: str) -> str:
    """An address as compared: case, spaces, commas and a trailing 号 do not matter.

    Examples
    --------
    >>> normalise_address("Landstrasse, 12"), normalise_address("  人民路 12号 ")
    ('landstrasse 12', '人民路 12')
    """
    v = re.sub(r"[,，\s]+", " ", value.strip().casefold())
    v = re.sub(r"号$", "", v).strip()
    v = re.sub(r"(\D)(\d)", r"\1 \2", v) if not re.search(r"\s\d", v) else v  # 人民路12 -> 人民路 12
    return re.sub(r"\s+", " ", v)


def place_index(ctx: Context, entry: AreaEntry) -> PlaceIndex:
    """The area's place index (built once per revision)."""

    def build() -> PlaceIndex:
        area = study_area(ctx, entry)
        coms = area.metric("communities")
        b = area.layer("buildings")
        fids = {str(f): i for i, f in enumerate(b["fid"])}
        if "osm_id" in b.columns:
            for i, o in enumerate(b["osm_id"]):
                if text(o):
                    fids.setdefault(str(text(o)), i)
        addresses: dict[str, list[int]] = {}
        if "addr_street" in b.columns and "addr_housenumber" in b.columns:
            for i, (s, n) in enumerate(zip(b["addr_street"].to_numpy(dtype=object), b["addr_housenumber"])):
                street, number = text(s), text(n)
                if street and number:
                    addresses.setdefault(normalise_address(f"{street} {number}"), []).append(i)
        cams = area.layer("cameras")
        views = np.zeros(0, dtype=object)
        rows = np.zeros(0, dtype=np.int64)
        if len(cams):
            metric = cams.to_crs(area.metric_crs)
            optics = camera_optics(cams, ctx.rules.cameras)
            rows = np.flatnonzero(optics.view != VIEW_NONE)
            if len(rows):
                bm = area.metric("buildings")
                views = view_polygons(
                    shapely.get_coordinates(metric.geometry.to_numpy()[rows]),
                    bearing_deg=optics.bearing_deg[rows],
                    fov_deg=optics.fov_deg[rows],
                    range_m=optics.range_m[rows],
                    mount_height_m=optics.mount_height_m[rows],
                    footprints=bm.geometry.to_numpy(),
                    building_height_m=building_heights(bm, ctx.rules.cameras),
                )
        return PlaceIndex(
            to_metric=Transformer.from_crs(STORAGE_CRS, area.metric_crs, always_xy=True),
            communities=coms,
            community_tree=shapely.STRtree(coms.geometry.to_numpy()),
            building_fids=fids,
            addresses=addresses,
            building_points=b.geometry.representative_point().to_numpy(),
            camera_views=views,
            camera_rows=rows,
            camera_tree=shapely.STRtree(views),
        )

    return entry.get(("place",), build)


def cameras_at(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> list[dict[str, Any]]:
    """The cameras whose view contains the point (buildings hide what they hide)."""
    idx = place_index(ctx, entry)
    if not len(idx.camera_views):
        return []
    x, y = idx.to_metric.transform(lon, lat)
    hits = np.sort(idx.camera_tree.query(shapely.Point(x, y), predicate="intersects"))
    cams = study_area(ctx, entry).layer("cameras")
    working = working_cameras(cams, rules=ctx.rules.cameras)
    out = []
    for h in hits.tolist():
        i = int(idx.camera_rows[h])
        row = cams.iloc[i]
        out.append(
            {
                "fid": str(row["fid"]),
                "device_id": text(row.get("device_id")),
                "name": text(row.get("name")),
                "status": normalise_status(row.get("status")) if text(row.get("status")) else None,
                "working": bool(working[i]),
                "distance_m": round(float(np.hypot(*(np.array([x, y]) - _metric_xy(idx, row.geometry)))), 1),
            }
        )
    return out


def _metric_xy(idx: PlaceIndex, point: shapely.Point) -> np.ndarray:
    return np.array(idx.to_metric.transform(point.x, point.y))


def _resolve(
    ctx: Context,
    entry: AreaEntry,
    *,
    lon: float | None,
    lat: float | None,
    datum: str,
    building: str | None,
    address: str | None,
) -> tuple[float, float, dict[str, Any]]:
    given = [lon is not None or lat is not None, building is not None, address is not None]
    if sum(given) != 1 or (given[0] and (lon is None or lat is None)):
        raise InputError(
            "Give a place one way: lon and lat (with a datum), or a building id, or an address",
            detail_zh="请只用一种方式给出位置：经纬度（可注明坐标基准）、建筑编号或门牌地址",
            parameter="location",
        )
    idx = place_index(ctx, entry)
    if building is not None:
        row = idx.building_fids.get(building.strip())
        if row is None:
            raise NotFoundError(
                f"No building {building!r} in {entry.name}",
                detail_zh=f"{entry.name} 中没有建筑 {building!r}",
                building=building,
            )
        p = idx.building_points[row]
        return float(p.x), float(p.y), {"by": "building", "building": building.strip()}
    if address is not None:
        key = normalise_address(address)
        rows = idx.addresses.get(key)
        if not rows:
            close = difflib.get_close_matches(key, list(idx.addresses), n=3, cutoff=0.75)
            raise NotFoundError(
                f"No building at {address!r} in {entry.name}"
                + (f" (did you mean {', '.join(close)}?)" if close else ""),
                detail_zh=f"{entry.name} 中没有门牌地址为 {address!r} 的建筑",
                address=address,
                suggestions=close,
            )
        b = study_area(ctx, entry).layer("buildings")
        p = idx.building_points[rows[0]]
        return float(p.x), float(p.y), {"by": "address", "address": address, "building": str(b["fid"].iat[rows[0]])}
    assert lon is not None and lat is not None
    d = check_datum(datum)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return lon, lat, {"by": "point", "datum": d}  # where() refuses it, naming the coordinate
    x, y = to_wgs84([lon], [lat], d)
    return float(x[0]), float(y[0]), {"by": "point", "datum": d, "lon_given": lon, "lat_given": lat}


def where_place(
    ctx: Context,
    area: str,
    *,
    lon: float | None = None,
    lat: float | None = None,
    datum: str = "wgs84",
    building: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Who covers a place: the ``where`` answer, with ``duty_points``, ``cameras``, ``patrol_routes`` and ``query``.

    Raises
    ------
    OutsideCommunitiesError
        The place lies in no community (404): ``context['nearest_community']`` names the nearest one.
    NotFoundError
        Unknown area, building or address.
    InputError, UnknownDatumError
        No place, two of them, or an unknown datum.
    """
    t0 = time.perf_counter()
    entry = ctx.area(area)
    wlon, wlat, query = _resolve(ctx, entry, lon=lon, lat=lat, datum=datum, building=building, address=address)
    out = where(ctx, area, wlon, wlat, entry=entry)  # the revision read once per request
    if out.get("community") is None:
        raise _outside(ctx, entry, wlon, wlat)
    if "cameras" not in out:
        # Only a working camera sees the place (as coverage counts it); the broken ones whose view holds it are
        # listed apart, so the panel can say that repairing them would cover it.
        seen = cameras_at(ctx, entry, wlon, wlat)
        out["cameras"] = [c for c in seen if c["working"]]
        out["cameras_out_of_service"] = [c for c in seen if not c["working"]]
    out["query"] = {**query, "ms": round((time.perf_counter() - t0) * 1000, 2)}
    return out


def _outside(ctx: Context, entry: AreaEntry, lon: float, lat: float) -> OutsideCommunitiesError:
    idx = place_index(ctx, entry)
    x, y = idx.to_metric.transform(lon, lat)
    nearest: dict[str, Any] | None = None
    if len(idx.communities):
        i = int(idx.community_tree.query_nearest(shapely.Point(x, y))[0])
        row = idx.communities.iloc[i]
        nearest = {
            "code": str(row["code12"]),
            "name": text(row.get("name_zh")) or text(row["name"]) or "",
            "distance_m": round(float(row.geometry.distance(shapely.Point(x, y))), 1),
        }
    swapped = False
    if -90 <= lon <= 90:
        sx, sy = idx.to_metric.transform(lat, lon)
        if np.isfinite(sx) and np.isfinite(sy):
            swapped = len(idx.community_tree.query(shapely.Point(sx, sy), predicate="intersects")) > 0
    near_en = (
        f"; the nearest is {nearest['name']} ({nearest['code']}), {nearest['distance_m']:,.0f} m away"
        if nearest
        else ""
    )
    near_zh = (
        f"；最近的社区是 {nearest['name']}（{nearest['code']}），相距 {nearest['distance_m']:,.0f} 米"
        if nearest
        else ""
    )
    hint_en = "; with longitude and latitude swapped it would lie inside the area" if swapped else ""
    hint_zh = "；经纬度互换后位于研究区内，请检查经纬度顺序" if swapped else ""
    return OutsideCommunitiesError(
        f"lon={lon:.6f}, lat={lat:.6f} lies in no community of {entry.name}{near_en}{hint_en}",
        detail_zh=f"经度 {lon:.6f}、纬度 {lat:.6f} 不在 {entry.name} 的任何社区内{near_zh}{hint_zh}",
        lon=lon,
        lat=lat,
        nearest_community=nearest,
        swapped=swapped,
    )
