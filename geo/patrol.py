"""A grid's patrol: its required streets, its office and stops, the route fitted to the daily norm, directions.

DOMAIN §5: a grid worker walks every required street of the grid (the rules'
classes; service roads only where buildings are entered from them; the
streets on the grid's boundary too, which both neighbours walk) from the grid
office, past the key places, at least ``min_daily_hours`` a day and at most
``max_daily_hours``. :func:`plan_grid_route` builds that route on
:mod:`geo.postman` and fits it to the norm:

* **under the minimum** the route is extended by laps that repeat the streets
  no camera sees (all required streets when the area has no camera near the
  grid), passing the key places again, until the minimum is met;
* **over the maximum** it is split into a rotation of closed, balanced daily
  routes from the office (at most ``max_rotation_days``); when even that is
  too long the grid is flagged ``too_large`` with the number of grids that
  would fix it.

Directions are in Chinese: the street, how far, and 左转 / 右转 / 直行 / 掉头
from the bearings where one street meets the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.networks import RoadNetwork
from geo.postman import PostmanRoute, StreetGraph, _route_on, euler_tour, postman_route, split_network, split_route
from geo.rules import Rules

OfficeSource = Literal["given", "grid_office", "community_office", "grid_centre"]
_COMMUNITY_OFFICE = ("townhall", "community_centre")  # 村委会/居委会 and 社区服务中心, in that order


def required_streets(
    net: RoadNetwork, area: shapely.Geometry, rules: Rules, *, entrance_edges: np.ndarray | None = None
) -> np.ndarray:
    """The network edges a patrol of ``area`` (a grid or a community, metric CRS) must walk.

    An edge is required when its class is one of ``rules.patrol.required_street_classes`` (a service road
    only when a building is entered from it, if ``entrance_edges`` is given and the rules say so) and at least
    ``min_share_inside`` of its length lies within the area widened by ``boundary_buffer_m``.

    Examples
    --------
    >>> from shapely.geometry import LineString, box
    >>> from geo.networks import build_network
    >>> from geo.rules import DEFAULT_RULES
    >>> roads = gpd.GeoDataFrame({"highway": ["residential", "footway", "residential", "service"]}, geometry=[
    ...     LineString([(0, 0), (100, 0)]), LineString([(0, 50), (100, 50)]), LineString([(0, 300), (100, 300)]),
    ...     LineString([(50, 0), (50, 40)])], crs="EPSG:32632")
    >>> net = build_network(roads, mode="walk")
    >>> req = required_streets(net, box(0, 0, 100, 100), DEFAULT_RULES, entrance_edges=np.array([], dtype=int))
    >>> sorted(net.edge_class[req].tolist())  # the boundary street; not the footway, the far street, the bare lane
    ['residential', 'residential']
    """
    p = rules.patrol
    classes = set(p.required_street_classes)
    wanted = np.fromiter((c in classes for c in net.edge_class), dtype=bool, count=net.n_edges)
    if p.service_only_to_buildings and entrance_edges is not None:
        entered = np.zeros(net.n_edges, dtype=bool)
        entered[np.asarray(entrance_edges, dtype=np.int64)] = True
        wanted &= (net.edge_class != "service") | entered
    cand = np.flatnonzero(wanted)
    if not len(cand):
        return cand
    zone = area.buffer(p.boundary_buffer_m) if p.boundary_buffer_m > 0 else area
    hits = net.edge_tree.query(zone, predicate="intersects")
    cand = np.intersect1d(cand, hits)
    inside = shapely.length(shapely.intersection(net.edge_geometry[cand], zone))
    share = inside / np.maximum(net.edge_length_m[cand], 1e-9)
    out: np.ndarray = cand[share >= p.min_share_inside - 1e-9]
    return out


@dataclass(frozen=True)
class Office:
    """Where a grid's route starts (metric CRS) and why there."""

    point: shapely.Point
    source: OfficeSource
    name: str | None = None
    fid: str | None = None

    def as_dict(self, to_lonlat: Any = None) -> dict[str, Any]:
        """JSON (with lon/lat when a transformer is given)."""
        out: dict[str, Any] = {"source": self.source, "name": self.name, "fid": self.fid}
        if to_lonlat is not None:
            lon, lat = to_lonlat(self.point.x, self.point.y)
            out.update(lon=round(lon, 7), lat=round(lat, 7))
        return out


def choose_office(
    grid: shapely.Geometry,
    key_places: gpd.GeoDataFrame,
    *,
    community_fid: str | None = None,
    net: RoadNetwork | None = None,
) -> Office:
    """The grid's office: a ``grid_office`` key place in the grid, else its community's office, else the
    network point nearest the grid's centre (``key_places`` in the same metric CRS as ``grid``).

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> places = gpd.GeoDataFrame({"category": ["school", "townhall"], "name": ["小学", "村委会"],
    ...     "fid": ["a", "b"], "community_fid": ["c1", "c1"]}, geometry=[Point(5, 5), Point(500, 5)])
    >>> choose_office(box(0, 0, 10, 10), places, community_fid="c1").source
    'community_office'
    """
    cats = key_places["category"].astype(str) if len(key_places) else pd.Series([], dtype=str)
    if len(key_places):
        inside = key_places.geometry.within(grid.buffer(1.0))
        own = key_places[(cats == "grid_office") & inside]
        if len(own):
            row = own.iloc[0]
            return Office(row.geometry, "grid_office", _text(row.get("name")), _text(row.get("fid")))
        for cat in _COMMUNITY_OFFICE:
            mask = cats == cat
            if community_fid is not None and "community_fid" in key_places.columns:
                mask &= key_places["community_fid"].astype(str) == str(community_fid)
            found = key_places[mask]
            if len(found):
                # the community's office nearest the grid (a community has one; a county file may list more)
                row = found.iloc[int(np.argmin(found.geometry.distance(grid.centroid).to_numpy()))]
                return Office(row.geometry, "community_office", _text(row.get("name")), _text(row.get("fid")))
    centre = grid.representative_point() if not grid.centroid.within(grid) else grid.centroid
    if net is not None and net.n_edges:
        near = net.edge_tree.nearest(centre)
        line = net.edge_geometry[near]
        centre = shapely.line_interpolate_point(line, shapely.line_locate_point(line, centre))
    return Office(centre, "grid_centre")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def grid_stops(grid: shapely.Geometry, key_places: gpd.GeoDataFrame, rules: Rules) -> gpd.GeoDataFrame:
    """The key places in the grid the route must pass (not the excluded categories nor the office kinds)."""
    if not len(key_places):
        return key_places.iloc[:0]
    cats = key_places["category"].astype(str)
    skip = set(rules.patrol.stop_categories_excluded) | {"grid_office"}
    mask = key_places.geometry.within(grid) & ~cats.isin(skip)
    return key_places[mask.to_numpy()]


# --------------------------------------------------------------------------- the norm


@dataclass(frozen=True, eq=False)
class GridRoute:
    """A grid's planned route fitted to the norm.

    ``route`` covers every required street and stop once (the covering route); ``laps`` extend it to the
    daily minimum; ``days`` is the rotation when it is longer than the daily maximum (else empty).
    """

    route: PostmanRoute
    speed_kmh: float
    laps: list[PostmanRoute] = field(default_factory=list)
    days: list[PostmanRoute] = field(default_factory=list)
    too_large: bool = False
    split_into: int | None = None
    extension_basis: str | None = None

    def minutes(self, length_m: float) -> float:
        """Walking minutes for a length at the route's speed."""
        return length_m / (self.speed_kmh * 1000 / 60)

    @property
    def length_m(self) -> float:
        """The covering route's length."""
        return self.route.length_m

    @property
    def extended_length_m(self) -> float:
        """The covering route with its extension laps."""
        return round(self.route.length_m + sum(r.length_m for r in self.laps), 3)

    @property
    def tour(self) -> list[tuple[int, bool]]:
        """The walk of one day as planned: the covering route, then its laps (the first day of a rotation)."""
        if self.days:
            return self.days[0].tour
        out = list(self.route.tour)
        for lap in self.laps:
            out.extend(lap.tour)
        return out


def fit_to_norm(
    route: PostmanRoute,
    rules: Rules,
    *,
    camera_points: np.ndarray | None = None,
    max_laps: int = 20,
) -> GridRoute:
    """Fit a covering route to the daily norm: extension laps under the minimum, a rotation over the maximum.

    Parameters
    ----------
    camera_points
        Cameras as an (n, 2) array in the metric CRS; streets farther than ``camera_sight_m`` from all of
        them are the ones the extension repeats (with no camera nearby, every required street).
    """
    speed = rules.network.walk.speed_kmh or 4.0
    per_min = speed * 1000 / 60
    minimum = rules.patrol.min_daily_hours * 60 * per_min
    maximum = rules.patrol.max_daily_hours * 60 * per_min
    g = route.graph
    length = route.length_m
    if length > maximum:
        need = math.ceil(length / maximum)
        for days in range(max(need, 2), rules.patrol.max_rotation_days + 1):
            split = split_route(route, days, time_limit_s=rules.patrol.exact_time_limit_s)
            if split.longest_m <= maximum:
                return GridRoute(route, speed, days=split.routes)
        return GridRoute(route, speed, too_large=True, split_into=max(need, rules.patrol.max_rotation_days + 1))
    if length >= minimum or length <= 0:
        return GridRoute(route, speed)
    pieces = np.flatnonzero(route.required)
    basis = "all_streets"
    if camera_points is not None and len(camera_points):
        mids = shapely.line_interpolate_point(
            np.array([g.piece_geometry(int(e)) for e in pieces], dtype=object), 0.5, normalized=True
        )
        tree = shapely.STRtree(shapely.points(np.asarray(camera_points, dtype=float)))
        seen = np.zeros(len(pieces), dtype=bool)
        hit = tree.query(mids, predicate="dwithin", distance=rules.patrol.camera_sight_m)
        seen[np.unique(hit[0])] = True
        if seen.any() and not seen.all():
            pieces = pieces[~seen]
            basis = "streets_no_camera_sees"
    lap = _route_on(g, route.start, pieces, stops=route.stops, time_limit_s=0.0)
    if lap.length_m <= 0:
        return GridRoute(route, speed)
    laps: list[PostmanRoute] = []
    total = length
    while total < minimum and len(laps) < max_laps and total + lap.length_m <= maximum:
        laps.append(lap)
        total += lap.length_m
    return GridRoute(route, speed, laps=laps, extension_basis=basis)


def plan_grid_route(
    net: RoadNetwork,
    required_edges: np.ndarray,
    office: Office,
    stops: gpd.GeoDataFrame,
    rules: Rules,
    *,
    camera_points: np.ndarray | None = None,
) -> GridRoute:
    """The covering route of a grid from its office past its stops, fitted to the norm.

    Raises
    ------
    NoStreetsError, OfficeOffNetworkError, DisconnectedStreetsError
        As :func:`geo.postman.postman_route`.
    """
    prepared = split_network(net, [office.point, *stops.geometry.tolist()])
    route = postman_route(
        net,
        required_edges,
        start=office.point,
        stops=stops.geometry.tolist(),
        time_limit_s=rules.patrol.exact_time_limit_s,
        max_start_distance_m=rules.patrol.max_start_distance_m,
        graph=prepared,
    )
    return fit_to_norm(route, rules, camera_points=camera_points)


# --------------------------------------------------------------------------- geometry, measures, directions


def walk_frame(graph: StreetGraph, tour: list[tuple[int, bool]], speed_kmh: float) -> gpd.GeoDataFrame:
    """One row per step of a walk, in order: piece, network edge, street name, class, metres, and the distance
    and time (s) at its start; geometry in walking direction (metric CRS)."""
    net = graph.net
    rows: dict[str, list[Any]] = {k: [] for k in ("step", "piece", "edge", "name", "road_class", "length_m")}
    geoms = []
    for i, (e, fwd) in enumerate(tour):
        line = graph.piece_geometry(e)
        geoms.append(line if fwd else shapely.reverse(line))
        src = int(graph.edge_source[e])
        rows["step"].append(i)
        rows["piece"].append(int(e))
        rows["edge"].append(src)
        rows["name"].append(_text(net.edge_name[src]))
        rows["road_class"].append(str(net.edge_class[src]))
        rows["length_m"].append(float(graph.edge_length_m[e]))
    frame = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=net.crs))
    along = np.concatenate([[0.0], np.cumsum(frame["length_m"].to_numpy())])[:-1]
    frame["from_m"] = along
    frame["from_s"] = along / (speed_kmh / 3.6)
    return frame


def line_with_measures(frame: gpd.GeoDataFrame, speed_kmh: float) -> tuple[shapely.LineString, np.ndarray]:
    """The walk as one line and the distance (m) along it at each vertex."""
    coords: list[np.ndarray] = []
    for line in frame.geometry:
        c = shapely.get_coordinates(line)
        coords.append(c if not coords else c[1:])
    if not coords:
        return shapely.LineString(), np.zeros(0)
    xy = np.vstack(coords)
    if len(xy) < 2:
        xy = np.vstack([xy, xy])
    d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    return shapely.LineString(xy), d


_COMPASS = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")


def _bearing(a: np.ndarray, b: np.ndarray) -> float:
    """Mathematical angle (degrees, counter-clockwise from east) from a to b."""
    return math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))


def turn_word(angle_in: float, angle_out: float) -> str:
    """左转, 右转, 直行 or 掉头 for a change of heading (degrees, counter-clockwise).

    Examples
    --------
    >>> turn_word(0, 90), turn_word(0, -90), turn_word(0, 10), turn_word(0, 178)
    ('左转', '右转', '直行', '掉头')
    """
    d = (angle_out - angle_in + 180) % 360 - 180
    if abs(d) <= 30:
        return "直行"
    if abs(d) >= 150:
        return "掉头"
    return "左转" if d > 0 else "右转"


def directions(
    frame: gpd.GeoDataFrame,
    *,
    start_name: str | None,
    stops: list[tuple[float, str]] | None = None,
) -> list[dict[str, Any]]:
    """Turn-by-turn directions in Chinese from a walk's steps (:func:`walk_frame`).

    Consecutive steps on the same street (same name, or the same unnamed way) merge; at each change the
    turn comes from the bearing of the last metres before the junction and the first metres after it.
    ``stops`` are (distance along the walk, name) of the places passed, announced where they fall.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> steps = gpd.GeoDataFrame({"name": ["长安街", "长安街", "府前路"], "length_m": [100.0, 50.0, 80.0],
    ...     "from_m": [0.0, 100.0, 150.0]}, geometry=[LineString([(0, 0), (100, 0)]),
    ...     LineString([(100, 0), (150, 0)]), LineString([(150, 0), (150, 80)])])
    >>> [d["text"] for d in directions(steps, start_name="网格工作站")]
    ['从网格工作站出发，沿长安街向东走150米', '左转进入府前路，走80米', '到达终点，返回网格工作站']
    """
    out: list[dict[str, Any]] = []
    if not len(frame):
        return out
    names = [n if isinstance(n, str) and n else None for n in frame["name"]]
    lines = list(frame.geometry)
    lengths = frame["length_m"].to_numpy(dtype=float)
    starts = frame["from_m"].to_numpy(dtype=float)
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        j = i + 1
        while j < len(lines) and names[j] == names[i] and names[i] is not None:
            # the same street on, unless the walk turns back along it
            a = shapely.get_coordinates(lines[j - 1])
            b = shapely.get_coordinates(lines[j])
            if turn_word(_bearing(a[-2], a[-1]), _bearing(b[0], b[1])) == "掉头":
                break
            j += 1
        runs.append((i, j))
        i = j
    pending = sorted(stops or [])
    for n, (i, j) in enumerate(runs):
        street = names[i] or "无名道路"
        dist = float(lengths[i:j].sum())
        first = shapely.get_coordinates(lines[i])
        if n == 0:
            heading = _COMPASS[int(((_bearing(first[0], first[-1]) + 22.5) % 360) // 45)]
            text = f"从{start_name or '起点'}出发，沿{street}向{heading}走{dist:.0f}米"
            turn = "出发"
        else:
            prev = shapely.get_coordinates(lines[i - 1])
            turn = turn_word(_bearing(prev[-2], prev[-1]), _bearing(first[0], first[1]))
            text = f"{turn}进入{street}，走{dist:.0f}米" if turn != "直行" else f"直行进入{street}，走{dist:.0f}米"
        out.append(
            {
                "step": n + 1,
                "turn": turn,
                "street": street,
                "distance_m": round(dist, 1),
                "from_m": round(float(starts[i]), 1),
                "text": text,
            }
        )
        end = float(starts[i]) + dist
        while pending and pending[0][0] <= end + 1e-6:
            at, name = pending.pop(0)
            out.append(
                {
                    "step": len(out) + 1,
                    "turn": "经过",
                    "street": street,
                    "distance_m": 0.0,
                    "from_m": round(at, 1),
                    "text": f"经过{name}",
                }
            )
    out.append(
        {
            "step": len(out) + 1,
            "turn": "到达",
            "street": None,
            "distance_m": 0.0,
            "from_m": round(float(starts[-1] + lengths[-1]), 1),
            "text": f"到达终点，返回{start_name or '起点'}",
        }
    )
    for k, d in enumerate(out):
        d["step"] = k + 1
    return out


def stops_along(route: PostmanRoute, names: dict[int, str]) -> list[tuple[float, str]]:
    """(distance along the route, name) where the walk first reaches each named stop node."""
    seen: set[int] = set()
    out: list[tuple[float, str]] = []
    along = 0.0
    g = route.graph
    for e, fwd in route.tour:
        along += float(g.edge_length_m[e])
        node = int(g.edge_v[e] if fwd else g.edge_u[e])
        if node in names and node not in seen:
            seen.add(node)
            out.append((along, names[node]))
    return out


def tour_of(graph: StreetGraph, counts: np.ndarray, start: int) -> list[tuple[int, bool]]:
    """An Euler tour (re-exported for callers that hold only counts)."""
    return euler_tour(graph, counts, start)
