"""Patrol routes and the patrol audit: plan, save, list, export (GeoJSON, GPX), and coverage from GPS tracks.

``plan_routes`` solves each grid's route (or k balanced routes over a
community) on the area's cached walking network, saves them per plan version
(store/patrol.py) and answers with the report whose ``summary`` keys are the
CLI's and the API's contract. ``coverage`` matches GPX tracks to the network
and reports per grid and day (in the rules' time zone) the street length and
households covered, the time spent and whether the 2-hour norm was met, and saves per required street of each
audited grid whether it was covered (store/patrol.py; the map's audit layers in service/patrol_layers.py).
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.crs import STORAGE_CRS
from geo.errors import InputError, NotFoundError, TrackOutsideAreaError, WanggeError
from geo.io.gpx import Track, Waypoint, read_track, route_gpx
from geo.matching import alongside, match_points
from geo.networks import RoadNetwork
from geo.patrol import (
    GridRoute,
    Office,
    choose_office,
    directions,
    grid_stops,
    line_with_measures,
    plan_grid_route,
    required_streets,
    stops_along,
    walk_frame,
)
from geo.postman import PostmanRoute, balanced_routes
from service.cache import AreaEntry
from service.context import Context, Progress, entrances, road_network, say, study_area
from service.plans import plans_to_check
from service.where import register_section
from store.patrol import AUDIT_COVERED

_START_NAMES = {
    "grid_office": "网格工作站",
    "community_office": "社区办公点",
    "grid_centre": "网格中心",
    "given": "起点",
}


def _entrance_edges(ctx: Context, entry: AreaEntry) -> np.ndarray:
    ent = entrances(ctx, entry, "walk")
    out: np.ndarray = ent["edge"].to_numpy()
    return out[out >= 0]


def _camera_points(ctx: Context, entry: AreaEntry) -> np.ndarray | None:
    cams = study_area(ctx, entry).metric("cameras")
    if not len(cams):
        return None
    pts = cams.geometry[~cams.geometry.is_empty & cams.geometry.notna()]
    return shapely.get_coordinates(pts.values) if len(pts) else None


def _to_lonlat(net: RoadNetwork) -> Transformer:
    return Transformer.from_crs(net.crs, STORAGE_CRS, always_xy=True)


def _document(
    net: RoadNetwork,
    route: PostmanRoute,
    tour: list[tuple[int, bool]],
    *,
    speed_kmh: float,
    start_name: str | None,
    stop_names: dict[int, str],
    properties: dict[str, Any],
) -> tuple[dict[str, Any], shapely.LineString]:
    """The route as GeoJSON (lon/lat): the ordered line with distance and time at each vertex, the legs in
    order (for arrows), the stops, and the directions; and the line in lon/lat."""
    tr = _to_lonlat(net)
    frame = walk_frame(route.graph, tour, speed_kmh)
    line, along = line_with_measures(frame, speed_kmh)
    xy = shapely.get_coordinates(line)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1]) if len(xy) else (np.zeros(0), np.zeros(0))
    lonlat = np.column_stack([lon, lat])
    ll_line = shapely.LineString(lonlat) if len(lonlat) >= 2 else shapely.LineString()
    per_s = speed_kmh / 3.6
    stops = stops_along(route, stop_names)
    steps = directions(frame, start_name=start_name, stops=stops)
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(ll_line) if len(lonlat) >= 2 else None,
            "properties": {
                **properties,
                "kind": "route",
                "distance_m": [round(float(d), 1) for d in along],
                "time_s": [round(float(d) / per_s, 1) for d in along],
            },
        }
    ]
    # legs: consecutive steps on one street, in walking order (the map draws arrows and numbers on them)
    if len(frame):
        groups = (frame["name"].fillna("") != frame["name"].fillna("").shift()).cumsum()
        for order, (_, leg) in enumerate(frame.groupby(groups, sort=False)):
            coords = np.vstack([shapely.get_coordinates(g) for g in leg.geometry])
            lx, ly = tr.transform(coords[:, 0], coords[:, 1])
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "LineString", "coordinates": np.column_stack([lx, ly]).round(7).tolist()},
                    "properties": {
                        "kind": "leg",
                        "order": order + 1,
                        "street": _plain(leg["name"].iloc[0]),
                        "length_m": round(float(leg["length_m"].sum()), 1),
                        "from_m": round(float(leg["from_m"].iloc[0]), 1),
                        "from_min": round(float(leg["from_s"].iloc[0]) / 60, 1),
                    },
                }
            )
    sx, sy = route.graph.node_xy[route.start]
    olon, olat = tr.transform(sx, sy)
    features.append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(olon, 7), round(olat, 7)]},
            "properties": {"kind": "start", "name": start_name, "order": 0, "distance_m": 0.0},
        }
    )
    for order, (at, name) in enumerate(stops):
        node = next((n for n, nm in stop_names.items() if nm == name), None)
        if node is None:
            continue
        x, y = route.graph.node_xy[node]
        plon, plat = tr.transform(x, y)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(plon, 7), round(plat, 7)]},
                "properties": {
                    "kind": "stop",
                    "name": name,
                    "order": order + 1,
                    "distance_m": round(at, 1),
                    "time_min": round(at / per_s / 60, 1),
                },
            }
        )
    doc = {"type": "FeatureCollection", "properties": properties, "directions": steps, "features": features}
    return doc, ll_line


def _route_summary(grid_route: GridRoute, *, rules_min: float, rules_max: float) -> dict[str, Any]:
    r = grid_route.route
    minutes = grid_route.minutes(r.length_m)
    required = r.required_length_m
    return {
        "length_m": round(r.length_m, 1),
        "minutes": round(minutes, 1),
        "required_length_m": round(required, 1),
        "deadhead_ratio": round((r.length_m - required) / required, 4) if required > 0 else None,
        "extended_length_m": round(grid_route.extended_length_m, 1),
        "extended_minutes": round(grid_route.minutes(grid_route.extended_length_m), 1),
        "extension_laps": len(grid_route.laps),
        "extension_basis": grid_route.extension_basis,
        "optimal": r.optimal,
        "method": r.method,
        "lower_bound_m": round(r.lower_bound_m, 1),
        "gap": r.gap,
        "under_norm": minutes < rules_min,
        "over_norm": minutes > rules_max,
        "rotation_days": len(grid_route.days),
        "days": [
            {"day": i + 1, "length_m": round(d.length_m, 1), "minutes": round(grid_route.minutes(d.length_m), 1)}
            for i, d in enumerate(grid_route.days)
        ],
        "too_large": grid_route.too_large,
        "split_into": grid_route.split_into,
        "stops": int(len(r.stops)),
        "unreachable_edges": [int(e) for e in r.unreachable],
        "solve_seconds": r.seconds,
    }


def _traversals(net: RoadNetwork, route: PostmanRoute) -> list[dict[str, Any]]:
    return [
        {
            "edge": e,
            "osm_id": _plain(net.edge_osm_id[e]),
            "name": _plain(net.edge_name[e]),
            "length_m": round(float(net.edge_length_m[e]), 1),
            "count": c,
        }
        for e, c in route.traversals().items()
    ]


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def _households_on(ctx: Context, entry: AreaEntry, edges: np.ndarray) -> int:
    """Households in buildings entered from these network edges."""
    ent = entrances(ctx, entry, "walk")
    buildings = study_area(ctx, entry).layer("buildings")
    if not len(buildings) or "households" not in buildings.columns:
        return 0
    mask = np.isin(ent["edge"].to_numpy(), edges)
    return int(pd.to_numeric(buildings["households"], errors="coerce").fillna(0).to_numpy()[mask].sum())


def _office_override(net: RoadNetwork, area_crs: Any, office: str | None) -> Office | None:
    if office is None:
        return None
    lon, lat = _parse_lonlat(office, parameter="office")
    x, y = Transformer.from_crs(STORAGE_CRS, area_crs, always_xy=True).transform(lon, lat)
    return Office(shapely.Point(x, y), "given", None)


def _parse_lonlat(text: str, *, parameter: str) -> tuple[float, float]:
    try:
        lon_s, lat_s = text.split(",")
        lon, lat = float(lon_s), float(lat_s)
    except ValueError:
        raise InputError(
            f"{text!r} is not lon,lat", detail_zh=f"{text!r} 不是“经度,纬度”", parameter=parameter, value=text
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(
            f"{text!r} is out of range for lon,lat", detail_zh=f"{text!r} 超出经纬度范围", parameter=parameter
        )
    return lon, lat


def plan_routes(
    ctx: Context,
    area: str,
    *,
    plan_ids: list[str] | None = None,
    grid: str | None = None,
    community: str | None = None,
    k: int | None = None,
    base: str | None = None,
    office: str | None = None,
    gpx_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Plan and save patrol routes: every grid of the adopted (or named) plans, one grid, or k balanced routes.

    Returns
    -------
    dict
        ``summary`` (``routes``, ``optimal_share``, ``mean_minutes``, ``under_norm``, ``over_norm``,
        ``too_large``, ``seconds``) and ``routes`` (each with ``grid``, ``length_m``, ``minutes``,
        ``required_length_m``, ``deadhead_ratio``, ``extended_minutes``, ``optimal`` and more); for k routes
        also ``balance`` (lower bound, longest, ratio).
    """
    t0 = time.perf_counter()
    entry = ctx.area(area)
    if community is not None or k is not None:
        out = _balanced(ctx, entry, community=community, k=k or 1, base=base, progress=progress)
    else:
        out = _grid_routes(ctx, entry, plan_ids=plan_ids, grid=grid, office=office, progress=progress)
    routes = out["routes"]
    if gpx_dir is not None:
        folder = Path(gpx_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for r in routes:
            path = folder / f"{r['route_id']}.gpx"
            path.write_text(route_as_gpx(ctx, area, r["route_id"]), encoding="utf-8")
            r["gpx"] = str(path)
    minutes = [r["minutes"] for r in routes]
    out["summary"] = {
        "routes": len(routes),
        "optimal_share": round(sum(1 for r in routes if r["optimal"]) / len(routes), 4) if routes else 0.0,
        "mean_minutes": round(float(np.mean(minutes)), 1) if routes else 0.0,
        "under_norm": sum(1 for r in routes if r.get("under_norm")),
        "over_norm": sum(1 for r in routes if r.get("over_norm")),
        "too_large": sum(1 for r in routes if r.get("too_large")),
        "length_m": round(sum(r["length_m"] for r in routes), 1),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    out["area"] = area
    return {"summary": out.pop("summary"), **out}


def _grid_routes(
    ctx: Context,
    entry: AreaEntry,
    *,
    plan_ids: list[str] | None,
    grid: str | None,
    office: str | None,
    progress: Progress | None,
) -> dict[str, Any]:
    area = entry.name
    rules = ctx.rules
    net = road_network(ctx, entry, "walk")
    study = study_area(ctx, entry)
    key_places = study.metric("key_places")
    cams = _camera_points(ctx, entry)
    entrance_edges = _entrance_edges(ctx, entry)
    chosen = plans_to_check(ctx, area, plan_ids, purpose="to plan patrols on")
    todo: list[tuple[Any, pd.Series]] = []
    for plan in chosen:
        grids = ctx.store.plans.grids(area, plan.plan_id).to_crs(study.metric_crs)
        for _, row in grids.iterrows():
            if grid is None or str(row["code"]) == grid:
                todo.append((plan, row))
    if grid is not None and not todo:
        raise NotFoundError(
            f"No grid {grid!r} in the {'named' if plan_ids else 'adopted'} plans of {area!r}",
            detail_zh=f"研究区 {area!r} 的方案中没有网格 {grid!r}",
            parameter="grid",
            grid=grid,
        )
    given = _office_override(net, study.metric_crs, office)
    speed = rules.network.walk.speed_kmh or 4.0
    rmin, rmax = rules.patrol.min_daily_hours * 60, rules.patrol.max_daily_hours * 60
    routes: list[dict[str, Any]] = []
    saved: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for n, (plan, row) in enumerate(todo):
        code = str(row["code"])
        say(progress, f"routing grid {code}", n / max(len(todo), 1))
        geom = row.geometry
        try:
            req = required_streets(net, geom, rules, entrance_edges=entrance_edges)
            off = given or choose_office(geom, key_places, community_fid=plan.community_fid, net=net)
            stops = grid_stops(geom, key_places, rules)
            gr = plan_grid_route(net, req, off, stops, rules, camera_points=cams)
        except WanggeError as exc:
            if grid is not None:
                raise
            failed.append(
                {
                    "grid": code,
                    "plan_id": plan.plan_id,
                    "error": type(exc).__name__,
                    "detail": exc.message,
                    "detail_zh": exc.detail_zh,
                }
            )
            continue
        rid = f"{plan.plan_id}-v{plan.version}-{code}"
        summary = {
            "route_id": rid,
            "grid": code,
            "grid_name": _plain(row.get("name")),
            "plan_id": plan.plan_id,
            "version": plan.version,
            "office": off.as_dict(_to_lonlat(net).transform),
            **_route_summary(gr, rules_min=rmin, rules_max=rmax),
        }
        names = _stop_names(gr.route, stops, off)
        covered = np.unique(gr.route.graph.edge_source[gr.route.counts > 0])
        summary["households_covered"] = _households_on(ctx, entry, covered)
        summary["street_length_covered_m"] = round(float(net.edge_length_m[covered].sum()), 1)
        doc, line = _document(
            net,
            gr.route,
            gr.tour,
            speed_kmh=speed,
            start_name=off.name or "网格工作站",
            stop_names=names,
            properties={"route_id": rid, "grid": code, "plan_id": plan.plan_id, "version": plan.version},
        )
        doc["traversals"] = _traversals(net, gr.route)
        routes.append(summary)
        saved.append(
            {
                "route_id": rid,
                "kind": "grid",
                "plan_id": plan.plan_id,
                "version": plan.version,
                "grid": code,
                "community": plan.community_code,
                "line": line,
                "summary": summary,
                "document": doc,
            }
        )
    ctx.store.patrol.save(area, saved)
    say(progress, "routes saved", 1.0)
    return {"routes": routes, "failed": failed}


def _stop_names(route: PostmanRoute, stops: gpd.GeoDataFrame, office: Office) -> dict[int, str]:
    """Names of the route's stop nodes, from the key places nearest to each."""
    out: dict[int, str] = {}
    if not len(route.stops):
        return out
    g = route.graph
    pts = stops.geometry.to_numpy()
    names = stops["name"].fillna(stops.get("category", "")).astype(str).to_numpy() if len(stops) else []
    for node in route.stops:
        xy = shapely.Point(g.node_xy[node])
        if len(pts):
            i = int(np.argmin(shapely.distance(pts, xy)))
            out[int(node)] = names[i] or "重点场所"
    out.pop(int(route.start), None)
    return out


def _balanced(
    ctx: Context, entry: AreaEntry, *, community: str | None, k: int, base: str | None, progress: Progress | None
) -> dict[str, Any]:
    area = entry.name
    rules = ctx.rules
    if community is None:
        raise InputError(
            "k balanced routes need a community", detail_zh="多条均衡路线需要指定社区", parameter="community"
        )
    if k < 1 or k > 20:
        raise InputError(f"k must be 1 to 20, not {k}", detail_zh=f"路线数须为 1 到 20，而不是 {k}", parameter="k")
    net = road_network(ctx, entry, "walk")
    study = study_area(ctx, entry)
    coms = study.metric("communities")
    hit = coms[(coms["fid"].astype(str) == community) | (coms["name"].astype(str) == community)]
    if "code" in coms.columns:
        hit = pd.concat([hit, coms[coms["code"].astype(str) == community]]).drop_duplicates("fid")
    if not len(hit):
        raise NotFoundError(
            f"No community {community!r} in {area!r}",
            detail_zh=f"研究区 {area!r} 中没有社区 {community!r}",
            parameter="community",
            community=community,
        )
    com = hit.iloc[0]
    req = required_streets(net, com.geometry, rules, entrance_edges=_entrance_edges(ctx, entry))
    base_point, base_name = _base(ctx, entry, base, com.geometry, study.metric_crs)
    say(progress, f"routing {k} routes over {com.get('name')}", 0.1)
    out = balanced_routes(
        net,
        req,
        base=base_point,
        k=k,
        time_limit_s=rules.patrol.exact_time_limit_s,
        max_start_distance_m=rules.patrol.max_start_distance_m,
    )
    speed = rules.network.walk.speed_kmh or 4.0
    per_min = speed * 1000 / 60
    rmin, rmax = rules.patrol.min_daily_hours * 60, rules.patrol.max_daily_hours * 60
    code = str(com.get("code") or com["fid"])
    routes, saved = [], []
    for j, r in enumerate(out.routes):
        rid = f"{code}-k{k}-{j + 1}"
        minutes = r.length_m / per_min
        required = r.required_length_m
        summary = {
            "route_id": rid,
            "grid": None,
            "community": code,
            "route": j + 1,
            "length_m": round(r.length_m, 1),
            "minutes": round(minutes, 1),
            "required_length_m": round(required, 1),
            "deadhead_ratio": round((r.length_m - required) / required, 4) if required > 0 else None,
            "extended_minutes": round(minutes, 1),
            "optimal": r.optimal,
            "method": r.method,
            "lower_bound_m": round(r.lower_bound_m, 1),
            "gap": r.gap,
            "under_norm": minutes < rmin,
            "over_norm": minutes > rmax,
        }
        doc, line = _document(
            net,
            r,
            r.tour,
            speed_kmh=speed,
            start_name=base_name,
            stop_names={},
            properties={"route_id": rid, "community": code, "route": j + 1, "k": k},
        )
        doc["traversals"] = _traversals(net, r)
        routes.append(summary)
        saved.append(
            {"route_id": rid, "kind": "balanced", "community": code, "line": line, "summary": summary, "document": doc}
        )
    ctx.store.patrol.save(area, saved)
    say(progress, "routes saved", 1.0)
    return {
        "routes": routes,
        "balance": {
            "k": k,
            "base": base_name,
            "single_route_m": round(out.single.length_m, 1),
            "single_optimal": out.single.optimal,
            "lower_bound_m": round(out.lower_bound_m, 1),
            "longest_m": round(out.longest_m, 1),
            "ratio": out.ratio,
        },
    }


def _base(ctx: Context, entry: AreaEntry, base: str | None, around: Any, crs: Any) -> tuple[shapely.Point, str]:
    """The base of k routes: a duty point by id, a lon,lat, or the police post nearest the community."""
    duty = study_area(ctx, entry).metric("duty_points")
    if base is not None and "," in base:
        lon, lat = _parse_lonlat(base, parameter="base")
        x, y = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True).transform(lon, lat)
        return shapely.Point(x, y), base
    if base is not None:
        hit = duty[duty["fid"].astype(str) == base] if len(duty) else duty
        if not len(hit):
            raise NotFoundError(
                f"No duty point {base!r}", detail_zh=f"没有执勤点 {base!r}", parameter="base", base=base
            )
        row = hit.iloc[0]
        return row.geometry, str(row.get("name") or base)
    police = duty[duty["kind"].astype(str).str.contains("police")] if len(duty) and "kind" in duty.columns else duty
    if not len(police):
        raise NotFoundError(
            "No police post in the area to start from: give a base",
            detail_zh="研究区内没有派出所/警务点，请指定起点",
            parameter="base",
        )
    i = int(np.argmin(police.geometry.distance(around.representative_point()).to_numpy()))
    row = police.iloc[i]
    return row.geometry, str(row.get("name") or row.get("fid"))


# --------------------------------------------------------------------------- saved routes


def list_routes(ctx: Context, area: str, *, plan_id: str | None = None, grid: str | None = None) -> dict[str, Any]:
    """Saved routes with ``stale`` (planned on an older version of their plan than the current one)."""
    ctx.area(area)
    items = ctx.store.patrol.list(area, plan_id=plan_id, grid=grid)
    current = {p.plan_id: p.version for p in ctx.store.plans.list(area)}
    out = []
    for it in items:
        s = dict(it["summary"])
        s.update(route_id=it["route_id"], kind=it["kind"], created_at=it["created_at"])
        s["stale"] = it["plan_id"] is not None and current.get(it["plan_id"], it["version"]) != it["version"]
        s["current_version"] = current.get(it["plan_id"]) if it["plan_id"] else None
        out.append(s)
    return {"summary": {"routes": len(out), "stale": sum(1 for r in out if r["stale"])}, "routes": out}


def route_document(ctx: Context, area: str, route_id: str) -> dict[str, Any]:
    """A saved route's GeoJSON (line with measures, legs, start, stops, directions, traversals)."""
    ctx.area(area)
    got = ctx.store.patrol.get(area, route_id)
    doc: dict[str, Any] = dict(got["document"])
    current = {p.plan_id: p.version for p in ctx.store.plans.list(area)}
    stale = got["plan_id"] is not None and current.get(got["plan_id"], got["version"]) != got["version"]
    doc["properties"] = {**doc.get("properties", {}), **got["summary"], "stale": stale}
    return doc


def route_as_gpx(ctx: Context, area: str, route_id: str, *, start_time: datetime | None = None) -> str:
    """A saved route as GPX 1.1 (route points at the turns, the track, the start and key places as waypoints)."""
    doc = route_document(ctx, area, route_id)
    line = next(f for f in doc["features"] if f["properties"].get("kind") == "route")
    coords = np.array(line["geometry"]["coordinates"]) if line["geometry"] else np.zeros((0, 2))
    along = np.array(line["properties"]["distance_m"], dtype=float)
    speed = ctx.rules.network.walk.speed_kmh or 4.0
    turns = [(float(d["from_m"]), d["text"]) for d in doc.get("directions", []) if d["turn"] not in ("出发", "到达")]
    wpts = [
        Waypoint(
            f["geometry"]["coordinates"][0],
            f["geometry"]["coordinates"][1],
            str(f["properties"].get("name") or ("起点" if f["properties"]["kind"] == "start" else "重点场所")),
            f["properties"]["kind"],
        )
        for f in doc["features"]
        if f["properties"].get("kind") in ("start", "stop")
    ]
    return route_gpx(
        name=f"巡查路线 {route_id}",
        lonlat=coords,
        distance_m=along,
        speed_kmh=speed,
        turns=turns,
        waypoints=wpts,
        start_time=start_time,
        description=f"wangge patrol route {route_id}",
    )


def routes_at(ctx: Context, area: str, lon: float, lat: float, *, within_m: float = 15.0) -> list[dict[str, Any]]:
    """Saved routes that pass within ``within_m`` of a point (for the click panel and the where answer)."""
    return patrol_routes_at(ctx, ctx.area(area), lon, lat, within_m=within_m)


def patrol_routes_at(
    ctx: Context, entry: AreaEntry, lon: float, lat: float, *, within_m: float = 15.0
) -> list[dict[str, Any]]:
    """The ``patrol_routes`` section of the where answer: saved routes passing within ``within_m`` of a point.

    Each: ``route_id``, ``grid``, ``plan_id``, ``version``, ``kind``, ``length_m`` and ``minutes`` of the covering
    route, ``extended_minutes`` and ``stale`` (planned on an older version of its plan than the current one). The
    routes' index is kept in the area's cache until routes are saved again (one count query per answer); the
    plans' versions are read only when a route passes the point.
    """
    area = entry.name
    token = ctx.store.patrol.token(area)
    if token[0] == 0:
        return []

    def build() -> tuple[list[dict[str, Any]], shapely.STRtree, Any]:
        items = ctx.store.patrol.list(area, with_geometry=True)
        study = study_area(ctx, entry)
        tr = Transformer.from_crs(STORAGE_CRS, study.metric_crs, always_xy=True)
        lines = [
            shapely.transform(it["geom"], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))) for it in items
        ]
        return items, shapely.STRtree(lines), tr

    items, tree, tr = entry.get(("patrol_routes_index", token), build)
    x, y = tr.transform(lon, lat)
    hits = sorted(tree.query(shapely.Point(x, y), predicate="dwithin", distance=within_m).tolist())
    if not hits:
        return []
    current = {p.plan_id: p.version for p in ctx.store.plans.list(area)}
    out = []
    for i in hits:
        it = items[i]
        s = it["summary"]
        out.append(
            {
                "route_id": it["route_id"],
                "grid": it["grid"],
                "plan_id": it["plan_id"],
                "version": it["version"],
                "kind": it["kind"],
                "length_m": s.get("length_m"),
                "minutes": s.get("minutes"),
                "extended_minutes": s.get("extended_minutes"),
                "stale": it["plan_id"] is not None and current.get(it["plan_id"], it["version"]) != it["version"],
            }
        )
    return out


register_section("patrol_routes", patrol_routes_at)


# --------------------------------------------------------------------------- coverage from GPS tracks


def read_manifest(text: str) -> dict[str, dict[str, str]]:
    """A manifest CSV: ``file`` (the GPX's name), ``worker`` and ``grid`` per row."""
    rows = csv.DictReader(io.StringIO(text))
    out: dict[str, dict[str, str]] = {}
    for n, row in enumerate(rows, start=2):
        f = (row.get("file") or "").strip()
        if not f:
            raise InputError(
                f"Manifest line {n} names no file", detail_zh=f"清单第 {n} 行没有文件名", parameter="manifest", line=n
            )
        out[f] = {"worker": (row.get("worker") or "").strip(), "grid": (row.get("grid") or "").strip()}
    return out


def coverage(
    ctx: Context,
    area: str,
    files: list[tuple[str, bytes]],
    *,
    manifest: dict[str, dict[str, str]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Match GPX tracks and report per grid and day what they covered; bad files listed in ``rejected``.

    Raises
    ------
    InputError
        No file, or every file bad (the rejections are in the error's context).
    """
    t0 = time.perf_counter()
    entry = ctx.area(area)
    rules = ctx.rules
    p = rules.patrol
    net = road_network(ctx, entry, "walk")
    study = study_area(ctx, entry)
    tz = ZoneInfo(p.timezone)
    to_metric = Transformer.from_crs(STORAGE_CRS, study.metric_crs, always_xy=True)
    if not files:
        raise InputError("No GPX file given", detail_zh="没有提供 GPX 文件", parameter="tracks")
    grids, grid_plans = _adopted_metric_grids(ctx, area, study.metric_crs)
    rejected: list[dict[str, Any]] = []
    cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {
            "covered": {},
            "walked": set(),
            "seconds": 0.0,
            "workers": set(),
            "tracks": 0,
            "points": 0,
            "edge_workers": defaultdict(set),
        }
    )
    tracks_out = []
    points_total = 0
    match_s = 0.0
    for n, (name, data) in enumerate(files):
        say(progress, f"matching {name}", n / len(files))
        try:
            track = read_track(data, file=name)
            x, y = to_metric.transform(track.lon, track.lat)
            xy = np.column_stack([x, y])
            _check_in_area(net, xy, name, p.off_area_m)
        except WanggeError as exc:
            rejected.append(
                {"file": name, "reason": type(exc).__name__, "detail": exc.message, "detail_zh": exc.detail_zh}
            )
            continue
        points_total += len(track)
        info = (manifest or {}).get(name) or (manifest or {}).get(Path(name).name) or {}
        worker = info.get("worker") or track.name or Path(name).stem
        grid_code = info.get("grid") or _grid_of(track, grids, xy)
        local_days = np.array(
            [datetime.fromtimestamp(float(t), tz=UTC).astimezone(tz).date().isoformat() for t in track.time_s]
        )
        matched_points = breaks = 0
        # each local day's part of the track is matched on its own: a day's figures hold only that day's walk
        for day in sorted(set(local_days.tolist())):
            mask = local_days == day
            tm = time.perf_counter()
            m = match_points(
                net,
                xy[mask],
                track.time_s[mask],
                segment=track.segment[mask],
                sigma_m=p.gps_sigma_m,
                radius_m=p.match_radius_m,
                beta_m=p.match_beta_m,
                break_s=p.track_break_s,
            )
            match_s += time.perf_counter() - tm
            matched = m.edge >= 0
            matched_points += int(matched.sum())
            breaks += m.breaks
            # time spent: between consecutive matched points no farther apart in time than a break
            dt = np.diff(track.time_s[mask], prepend=track.time_s[mask][0])
            dt[(dt > p.track_break_s) | ~matched] = 0.0
            cell = cells[(grid_code or "", day)]
            cell["seconds"] += float(dt.sum())
            for e, c in m.covered_m.items():
                cell["covered"][e] = max(cell["covered"].get(e, 0.0), c)
                cell["edge_workers"][e].add(worker)
            cell["walked"].update(int(e) for e in m.walked)
            cell["workers"].add(worker)
            cell["tracks"] += 1
            cell["points"] += int(mask.sum())
        tracks_out.append(
            {
                "file": name,
                "worker": worker,
                "grid": grid_code,
                "points": len(track),
                "matched_share": round(matched_points / max(len(track), 1), 4),
                "breaks": breaks,
                "start": track.start().isoformat(),
                "synthetic": "synthetic" in (track.name or ""),
            }
        )
    if not tracks_out:
        raise InputError(
            f"None of the {len(files)} GPX files could be used",
            detail_zh=f"{len(files)} 个 GPX 文件均无法使用",
            parameter="tracks",
            rejected=rejected,
        )
    entrance_edges = _entrance_edges(ctx, entry)
    rows = []
    min_s = p.min_daily_hours * 3600
    audited: dict[str, _GridAudit] = {}
    for (grid_code, day), cell in sorted(cells.items()):
        walked = np.array(sorted(cell["walked"]), dtype=np.int64)
        covered = cell["covered"]
        req_len = None
        share = share_alongside = None
        beside_m = 0.0
        if grid_code and grid_code in grids:
            if grid_code not in audited:
                req = required_streets(net, grids[grid_code], rules, entrance_edges=entrance_edges)
                audited[grid_code] = _GridAudit(np.asarray(req, dtype=np.int64))
            req = audited[grid_code].required
            req_len = float(net.edge_length_m[req].sum())
            on_req = sum(covered.get(int(e), 0.0) for e in req)
            share = round(on_req / req_len, 4) if req_len else None
            # a street patrolled from its sidewalk (mapped as its own way a few metres off): credited apart
            beside = alongside(net, covered, np.asarray(req))
            beside_m = sum(m - covered.get(e, 0.0) for e, m in beside.items())
            share_alongside = round((on_req + beside_m) / req_len, 4) if req_len else None
            audited[grid_code].add_day(net, day, cell, beside)
        rows.append(
            {
                "grid": grid_code or None,
                "day": day,
                "workers": sorted(cell["workers"]),
                "tracks": cell["tracks"],
                "street_length_m": round(sum(covered.values()), 1),
                "required_length_m": round(req_len, 1) if req_len is not None else None,
                "required_share": share,
                "required_alongside_m": round(beside_m, 1),
                "required_share_with_alongside": share_alongside,
                "households_covered": _households_on(ctx, entry, walked),
                "minutes": round(cell["seconds"] / 60, 1),
                "norm_met": cell["seconds"] >= min_s,
            }
        )
    streets = _audit_streets(net, audited, grid_plans)
    status = np.asarray(streets["status"], dtype=object)
    summary = {
        "tracks": len(tracks_out),
        "rejected": len(rejected),
        "grid_days": len(rows),
        "norm_met": sum(1 for r in rows if r["norm_met"]),
        "points": points_total,
        "points_per_second": round(points_total / match_s, 0) if match_s > 0 else None,
        # required streets of the audited grids, over every day of the upload (the map's audit layers)
        "streets_covered": int(np.isin(status, AUDIT_COVERED).sum()),
        "streets_missed": int((~np.isin(status, AUDIT_COVERED)).sum()),
    }
    # kept for the map only when a track fell in an adopted grid: an upload with nothing to show changes nothing
    # (the saved audits' token is part of every plan layer's version)
    audit_id = (
        ctx.store.patrol.save_audit(
            area,
            summary={"summary": summary, "grid_days": rows},
            grids=sorted(audited),
            streets=streets,
            area_revision=entry.revision,
            timezone=p.timezone,
        )
        if audited
        else None
    )
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return {
        "summary": summary,
        "area": area,
        "timezone": p.timezone,
        "grid_days": rows,
        "tracks": tracks_out,
        "rejected": rejected,
        "saved": audit_id is not None,
        "audit_id": audit_id,
    }


class _GridAudit:
    """One grid's required streets over the days of an upload: the metres credited to each, on which days and
    by whom (a street counts as covered on a day when at least half of it was walked, or it was credited
    alongside a walked sidewalk)."""

    def __init__(self, required: np.ndarray) -> None:
        self.required = required
        self.best_m: dict[int, float] = {}
        self.walked: set[int] = set()
        self.beside: set[int] = set()
        self.days: dict[int, list[str]] = defaultdict(list)
        self.workers: dict[int, set[str]] = defaultdict(set)
        self.all_days: list[str] = []
        self.all_workers: set[str] = set()

    def add_day(self, net: RoadNetwork, day: str, cell: dict[str, Any], beside: dict[int, float]) -> None:
        self.all_days.append(day)
        self.all_workers |= cell["workers"]
        covered = cell["covered"]
        for e in self.required.tolist():
            half = 0.5 * float(net.edge_length_m[e])
            on = covered.get(e, 0.0)
            credit = max(on, beside.get(e, 0.0))
            self.best_m[e] = max(self.best_m.get(e, 0.0), credit)
            if on >= half:
                self.walked.add(e)
                self.workers[e] |= cell["edge_workers"].get(e, set())
            elif e in beside:
                self.beside.add(e)
                self.workers[e] |= cell["workers"]
            else:
                continue
            self.days[e].append(day)

    def status(self, e: int) -> str:
        if e in self.walked:
            return "walked"
        if e in self.beside:
            return "alongside"
        return "partly" if self.best_m.get(e, 0.0) > 0 else "none"


def _audit_streets(
    net: RoadNetwork, audited: dict[str, _GridAudit], grid_plans: dict[str, tuple[str, int]]
) -> dict[str, Any]:
    """The rows the audit saves: per required street of each audited grid, covered or not (columns, lon/lat)."""
    cols: dict[str, list[Any]] = {
        c: []
        for c in ("plan_id", "version", "grid", "edge", "name", "length_m", "walked_m", "status", "days", "workers")
    }
    edges: list[int] = []
    for code, ga in sorted(audited.items()):
        plan_id, version = grid_plans.get(code, (None, None))
        for e in ga.required.tolist():
            st = ga.status(e)
            covered = st in AUDIT_COVERED
            cols["plan_id"].append(plan_id)
            cols["version"].append(version)
            cols["grid"].append(code)
            cols["edge"].append(e)
            cols["name"].append(_plain(net.edge_name[e]))
            cols["length_m"].append(round(float(net.edge_length_m[e]), 1))
            cols["walked_m"].append(round(min(ga.best_m.get(e, 0.0), float(net.edge_length_m[e])), 1))
            cols["status"].append(st)
            cols["days"].append(",".join(sorted(set(ga.days[e] if covered else ga.all_days))))
            cols["workers"].append("、".join(sorted(ga.workers[e] if covered else ga.all_workers)))
            edges.append(e)
    geoms = net.edge_geometry[np.asarray(edges, dtype=np.int64)] if edges else np.empty(0, dtype=object)
    if len(geoms):
        tr = _to_lonlat(net)
        geoms = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return {**cols, "geometry": geoms}


def _check_in_area(net: RoadNetwork, xy: np.ndarray, name: str, off_m: float) -> None:
    """Refuse a track whose points are mostly far from every street of the area (another city, swapped axes)."""
    sample = xy[:: max(1, len(xy) // 50)]
    near = net.edge_tree.query(shapely.points(sample), predicate="dwithin", distance=off_m)[0]
    share = len(np.unique(near)) / len(sample)
    if share < 0.5:
        raise TrackOutsideAreaError(
            f"{name}: {1 - share:.0%} of the track is more than {off_m:g} m from every street of the area "
            "(another city, or longitude and latitude swapped?)",
            detail_zh=f"{name}：{1 - share:.0%} 的轨迹点距研究区所有道路超过 {off_m:g} 米"
            "（其他城市的轨迹，或经纬度颠倒？）",
            file=name,
            share_outside=round(1 - share, 3),
        )


def _adopted_metric_grids(ctx: Context, area: str, crs: Any) -> tuple[dict[str, Any], dict[str, tuple[str, int]]]:
    """The adopted plans' grids by code (metric), and the plan and version of each."""
    out: dict[str, Any] = {}
    plans: dict[str, tuple[str, int]] = {}
    try:
        chosen = plans_to_check(ctx, area, None, purpose="to audit patrols on")
    except NotFoundError:
        return out, plans
    for plan in chosen:
        g = ctx.store.plans.grids(area, plan.plan_id).to_crs(crs)
        for _, row in g.iterrows():
            out[str(row["code"])] = row.geometry
            plans[str(row["code"])] = (plan.plan_id, plan.version)
    return out, plans


def _grid_of(track: Track, grids: dict[str, Any], xy: np.ndarray) -> str | None:
    """The grid holding most of a track's points (when neither its name nor a manifest says)."""
    for label in (track.name, Path(track.file).stem):
        if label and label in grids:
            return label
    if not grids:
        return None
    pts = shapely.points(xy[:: max(1, len(xy) // 200)])
    best, count = None, 0
    for code, geom in grids.items():
        c = int(shapely.contains(geom, pts).sum())
        if c > count:
            best, count = code, c
    return best
