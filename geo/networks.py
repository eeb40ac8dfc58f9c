"""Road networks for walking, e-bikes and driving, and where buildings meet them.

One network per mode (DOMAIN §5-§6), built from the study area's ``roads`` layer in
its metric CRS (:mod:`geo.crs`), held as numpy arrays: patrols, coverage and cameras
all stand on it.

``walk``
    Every way a person walks; undirected.
``ebike``, ``drive``
    Directed: ``oneway=yes|true|1`` runs with the way's drawing direction,
    ``oneway=-1|reverse`` against it, ``junction=roundabout|circular`` and
    ``highway=motorway`` are one-way unless tagged ``oneway=no``.
    ``oneway=reversible`` (a carriageway whose direction changes by the hour) is
    left out, as OSRM does: a response time never counts on a lane that may be
    closed in its direction.

**Speeds** come from the rules (:class:`geo.rules.NetworkRules`): a class speed,
lowered by a parseable ``maxspeed`` (``50``, ``30 mph``, ``CH:urban``,
``DE:zone30``; unparseable values are ignored and counted). Every class in the
data has a speed in the mode or is excluded, else :class:`~geo.errors.RoadClassError`
names the classes. A way without a class is taken as ``road`` (OSM's "unknown
road") and counted. ``access=private|no`` closes a way (the mode's own key,
``foot`` or ``motor_vehicle``, may reopen it or close it on its own).

**Junctions.** With OSM node ids (the ``node_ids`` column that ``import-osm``
keeps), ways join exactly where they share a node: a bridge crossing a street
shares none. A county's own file has no node ids: line ends within
``join_tolerance_m`` join each other; a line end that meets no other end joins
the nearest vertex of another line within the tolerance, else the nearest point
of its interior (which becomes a vertex). Lines that cross between vertices are
never joined; lines that share an interior vertex join there unless they lie on
different levels (``layer``, else bridge 1 and tunnel -1). The report says which
rule was used.

**Simplification** follows OSMnx's rules (``simplification._is_endpoint``): a node
stays when it is a dead end, a junction of three or more segments, where a
one-way and a two-way stretch meet or one-way directions clash, or where two
segments lead to the same neighbour; every other node is interstitial and the
edge runs through it. One difference, so that each edge has one way id, one
name and one class: a node where one way ends and another begins is kept (what
OSMnx does with ``edge_attrs_differ=["osmid"]``). An isolated ring is kept as
a self-loop at its first vertex (OSMnx drops such components).

**Where a building meets the network** (DOMAIN §6): its entrance point is the
point of the nearest edge nearest to the building's footprint, among the edges of
the network's largest component (as OSRM avoids small components: a fragment of
private road beside a house strands nobody); ``distance_m`` is walked at the mode's
access speed and ``offset_m`` locates the point along the edge from its start node.
A building whose entrance is farther than ``unreachable_distance_m`` is unreachable.
:func:`snap_to_edges` gives this for any geometry; :func:`travel_costs` runs a
multi-source Dijkstra (scipy) from entrance points.

Examples
--------
>>> from shapely.geometry import LineString
>>> roads = gpd.GeoDataFrame(
...     {"highway": ["residential", "residential"], "oneway": ["yes", None]},
...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)])],
...     crs="EPSG:32632",
... )
>>> net = build_network(roads, mode="drive")
>>> net.n_nodes, net.n_edges, net.edge_oneway.tolist()
(3, 2, [True, False])
>>> round(float(net.edge_time_s[0]), 1)  # 100 m at 25 km/h
14.4
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS, Transformer
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.errors import EmptyLayerError, InputError, RoadClassError
from geo.rules import DEFAULT_RULES, ModeRules, Rules

Mode = Literal["walk", "ebike", "drive"]
MODES: tuple[Mode, ...] = ("walk", "ebike", "drive")
Weight = Literal["time", "length"]

JOIN_NODE_IDS = "osm_node_ids"
JOIN_TOLERANCE = "endpoint_tolerance"

_ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE = frozenset({"-1", "reverse"})
_ONEWAY_NO = frozenset({"no", "false", "0"})
_ACCESS_GRANTED = frozenset({"yes", "designated", "permissive", "destination"})
_MAXSPEED = re.compile(r"^(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?$")
_ZONE = re.compile(r"^(?:[a-z]{2}:)?zone:?(\d+)$")


# --------------------------------------------------------------------------- node ids


def encode_node_ids(ids: Sequence[int]) -> str:
    """Encode a way's node ids as text: the first id, then each id's difference to the one before.

    Consecutive nodes of a way usually have close ids, so the differences are short.

    Examples
    --------
    >>> encode_node_ids([52132, 52133, 52134, 52127])
    '52132 1 1 -7'
    >>> decode_node_ids(["52132 1 1 -7", "9 1"])
    (array([52132, 52133, 52134, 52127,     9,    10]), array([4, 2]))
    """
    if not len(ids):
        return ""
    prev = ids[0]
    out = [str(prev)]
    for i in ids[1:]:  # a plain loop: the reader calls this once per way of a whole extract
        out.append(str(i - prev))
        prev = i
    return " ".join(out)


def decode_node_ids(texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decode a column of :func:`encode_node_ids` texts: all ids in order, and how many each row has.

    Raises
    ------
    ValueError
        When a text holds something other than integers.
    """
    texts = list(texts)
    counts = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    if not counts.sum():
        return np.zeros(0, dtype=np.int64), counts
    joined = " ".join(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy warns, and stops, at text it cannot read
        flat = np.fromstring(joined, dtype=np.int64, sep=" ")  # the fast C parser; checked below
    if len(flat) != counts.sum():
        flat = np.array(joined.split(), dtype=np.int64)  # raises ValueError naming the bad text
    total = np.cumsum(flat)
    starts = (np.cumsum(counts) - counts)[counts > 0]
    base = total[starts] - flat[starts]  # what the running sum held before each row began
    ids: np.ndarray = total - np.repeat(base, counts[counts > 0])
    return ids, counts


# --------------------------------------------------------------------------- speeds and way selection


def parse_maxspeed(value: object, zones_kmh: dict[str, float]) -> float | None:
    """Read an OSM ``maxspeed`` in km/h: ``inf`` for no limit, None when it cannot be read.

    Numbers are km/h unless ``mph`` or ``knots`` follow; ``CH:urban``-style values
    are looked up in ``zones_kmh`` (``CH:urban``, else ``urban``); ``DE:zone30``
    is 30; of several values (``50;30``) the lowest counts.

    Examples
    --------
    >>> zones = {"urban": 50.0, "CH:rural": 80.0}
    >>> [parse_maxspeed(v, zones) for v in ("50", "30 mph", "CH:urban", "CH:rural", "DE:zone:30", "50;30")]
    [50.0, 48.28, 50.0, 80.0, 30.0, 30.0]
    >>> parse_maxspeed("none", zones), parse_maxspeed("signals", zones), parse_maxspeed("0", zones)
    (inf, None, None)
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    lower = {k.lower(): v for k, v in zones_kmh.items()}
    got: list[float] = []
    for part in str(value).split(";"):
        p = part.strip().lower()
        m = _MAXSPEED.match(p)
        if m:
            v = float(m.group(1)) * {"mph": 1.609344, "knots": 1.852}.get(m.group(2) or "", 1.0)
            if v > 0:
                got.append(round(v, 2))
            continue
        if p in ("none", "unlimited"):
            got.append(float("inf"))
            continue
        z = _ZONE.match(p)
        if z:
            got.append(float(z.group(1)))
            continue
        zone = lower.get(p) or lower.get(p.split(":", 1)[-1])
        if zone is not None:
            got.append(float(zone))
    return min(got) if got else None


def _text(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """A tag column as stripped lower-case text (None where empty), as an object array."""
    if column is None or column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    # A tag has few distinct values: each is cleaned once (missing values get code -1, the None at the end).
    codes, distinct = pd.factorize(frame[column].to_numpy(dtype=object))
    clean = [v.strip().lower() or None if isinstance(v, str) else None for v in distinct]
    out: np.ndarray = np.array([*clean, None], dtype=object)[codes]
    return out


def _isin(values: np.ndarray, wanted: Iterable[str | None]) -> np.ndarray:
    w = set(wanted)
    return np.fromiter((v in w for v in values), dtype=bool, count=len(values))


def _class_speeds(classes: Iterable[str], mode: ModeRules) -> dict[str, float | None]:
    """Speed of each class in the mode (None: the mode does not use it)."""
    out: dict[str, float | None] = {}
    for c in classes:
        if c in mode.speeds_kmh:
            out[c] = mode.speeds_kmh[c]
        elif c in mode.classes:
            out[c] = mode.speed_kmh
        elif c.endswith("_link") and c[: -len("_link")] in mode.speeds_kmh:
            out[c] = max(mode.speeds_kmh[c[: -len("_link")]] - mode.link_speed_reduction_kmh, 5.0)
        else:
            out[c] = None
    return out


@dataclass(frozen=True)
class WaySelection:
    """Which ways of a roads frame a mode uses, in which direction and how fast (aligned with the frame)."""

    used: np.ndarray
    oneway: np.ndarray
    reverse: np.ndarray
    speed_kmh: np.ndarray
    road_class: np.ndarray
    excluded: dict[str, int]
    class_missing: int
    maxspeed_parsed: int
    maxspeed_ignored: int
    maxspeed_ignored_values: list[str]


def select_ways(roads: pd.DataFrame, *, mode: Mode, rules: Rules = DEFAULT_RULES) -> WaySelection:
    """Decide, way by way, whether a mode uses it, its direction and its speed.

    Raises
    ------
    RoadClassError
        When a class in the data has no speed in the mode and is not excluded.

    Examples
    --------
    >>> roads = pd.DataFrame({"highway": ["primary", "footway", None], "oneway": ["-1", None, None],
    ...                       "maxspeed": ["30", None, "signals"]})
    >>> s = select_ways(roads, mode="drive")
    >>> s.used.tolist(), s.reverse.tolist(), s.speed_kmh.tolist(), s.class_missing, s.maxspeed_ignored
    ([True, False, True], [True, False, False], [30.0, 0.0, 25.0], 1, 1)
    """
    net = rules.network
    m: ModeRules = getattr(net, mode)
    n = len(roads)
    cls = _text(roads, "highway")
    missing = np.fromiter((c is None for c in cls), dtype=bool, count=n)
    cls[missing] = "road"
    excluded_classes = set(net.excluded_classes) | set(m.excluded_classes)
    speeds = _class_speeds(sorted(set(cls)), m)
    unknown = sorted(c for c, v in speeds.items() if v is None and c not in excluded_classes)
    if unknown:
        counts = pd.Series(cls).value_counts()
        listing = ", ".join(f"{c} ({counts[c]} ways)" for c in unknown)
        raise RoadClassError(
            f"Road classes without a {mode} speed in the rules: {listing}. Give each a speed in "
            f"network.{mode}.speeds_kmh or network.{mode}.classes, or exclude it in network.{mode}.excluded_classes",
            detail_zh=f"道路等级在规则中没有{_MODE_ZH[mode]}速度：{listing}。请在 network.{mode} 中为其设置速度或排除",
            mode=mode,
            classes=unknown,
        )
    class_speed = np.fromiter((speeds[c] or 0.0 for c in cls), dtype=float, count=n)
    excluded: dict[str, int] = {}

    def drop(mask: np.ndarray, reason: str, used: np.ndarray) -> np.ndarray:
        hit = mask & used
        if hit.any():
            excluded[reason] = int(hit.sum())
        out: np.ndarray = used & ~mask
        return out

    used = np.ones(n, dtype=bool)
    used = drop(_isin(cls, excluded_classes), "class", used)
    used = drop(_text(roads, "area") == "yes", "area", used)
    own = _text(roads, m.access_key)
    closed = _isin(_text(roads, "access"), net.excluded_access) & ~_isin(own, _ACCESS_GRANTED)
    closed |= _isin(own, net.excluded_access)
    used = drop(closed, "access", used)
    ow = _text(roads, "oneway")
    oneway = np.zeros(n, dtype=bool)
    reverse = np.zeros(n, dtype=bool)
    if m.directed:
        used = drop(ow == "reversible", "oneway=reversible", used)
        implied = (_isin(cls, net.oneway_classes) | _isin(_text(roads, "junction"), net.oneway_junctions)) & ~_isin(
            ow, _ONEWAY_NO
        )
        reverse = _isin(ow, _ONEWAY_REVERSE)
        oneway = _isin(ow, _ONEWAY_FORWARD) | implied | reverse
    speed = class_speed.copy()
    parsed = ignored = 0
    ignored_values: list[str] = []
    if m.maxspeed_applies and "maxspeed" in roads.columns:
        raw = roads["maxspeed"].to_numpy(dtype=object)
        cache: dict[str, float | None] = {}
        rows = np.flatnonzero(used)
        for i, v in zip(rows.tolist(), raw[rows].tolist()):
            if v is None or (isinstance(v, float) and v != v) or str(v).strip() == "":  # v != v: NaN, missing
                continue
            key = str(v)
            if key not in cache:
                cache[key] = parse_maxspeed(key, net.maxspeed_zones_kmh)
            got = cache[key]
            if got is None:
                ignored += 1
                if key not in ignored_values:
                    ignored_values.append(key)
            else:
                parsed += 1
                speed[i] = min(speed[i], got)
    speed[~used] = 0.0
    return WaySelection(
        used=used,
        oneway=oneway & used,
        reverse=reverse & used,
        speed_kmh=speed,
        road_class=cls,
        excluded=excluded,
        class_missing=int((missing & used).sum()),
        maxspeed_parsed=parsed,
        maxspeed_ignored=ignored,
        maxspeed_ignored_values=ignored_values[:20],
    )


_MODE_ZH = {"walk": "步行", "ebike": "电动自行车", "drive": "机动车"}


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True)
class NetworkReport:
    """What a network holds and how it was built (lengths in metres, shares 0-1)."""

    mode: str
    nodes: int
    edges: int
    length_m: float
    components: int
    largest_component_share: float
    join_rule: str
    join_tolerance_m: float | None
    ways: int
    ways_excluded: dict[str, int]
    length_by_class: dict[str, float]
    oneway_edges: int
    rings: int
    class_missing: int
    maxspeed_parsed: int
    maxspeed_ignored: int
    maxspeed_ignored_values: list[str]
    endpoints_joined: int
    endpoints_snapped_to_lines: int
    join_fallback: str | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready values."""
        out = dict(self.__dict__)
        out["length_by_class"] = [
            {"road_class": k, "length_m": round(v, 1)}
            for k, v in sorted(self.length_by_class.items(), key=lambda kv: -kv[1])
        ]
        return out


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road network of one mode: nodes and edges as aligned arrays, in a metric CRS.

    Edges run from ``edge_u`` to ``edge_v`` along ``edge_geometry``; a one-way edge
    (``edge_oneway``) is travelled only that way. Parallel edges and self-loops are
    kept. ``edge_way`` is the row of the roads frame each edge comes from.
    """

    mode: str
    crs: CRS | None
    node_xy: np.ndarray
    node_osm_id: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_oneway: np.ndarray
    edge_length_m: np.ndarray
    edge_speed_kmh: np.ndarray
    edge_time_s: np.ndarray
    edge_way: np.ndarray
    edge_fid: np.ndarray
    edge_osm_id: np.ndarray
    edge_name: np.ndarray
    edge_class: np.ndarray
    edge_geometry: np.ndarray
    access_speed_kmh: float
    unreachable_distance_m: float
    report: NetworkReport
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(len(self.node_xy))

    @property
    def n_edges(self) -> int:
        """Number of edges (a two-way street is one edge)."""
        return int(len(self.edge_u))

    @property
    def directed(self) -> bool:
        """Whether one-way streets are respected (ebike, drive)."""
        return self.mode != "walk"

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """A spatial index of the edges' geometry."""
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def main_edges(self) -> np.ndarray:
        """Indices of the edges on the largest component."""
        out: np.ndarray = np.flatnonzero(self.component[self.edge_u] == 0)
        return out

    @cached_property
    def main_edge_tree(self) -> shapely.STRtree:
        """A spatial index of the largest component's edges (in the order of :attr:`main_edges`)."""
        return shapely.STRtree(self.edge_geometry[self.main_edges])

    @cached_property
    def component(self) -> np.ndarray:
        """Weakly connected component of each node, 0 the largest by length of its edges."""
        n = self.n_nodes
        if not n:
            return np.zeros(0, dtype=np.int64)
        adj = sp.coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(n, n))
        _, label = connected_components(adj, directed=True, connection="weak")
        length = np.bincount(label[self.edge_u], weights=self.edge_length_m, minlength=label.max() + 1)
        rank = np.empty_like(length, dtype=np.int64)
        rank[np.lexsort((np.arange(len(length)), -length))] = np.arange(len(length))
        out: np.ndarray = rank[label]
        return out

    def arcs(self, weight: Weight = "time") -> sp.csr_matrix:
        """The network as a sparse matrix of arcs (u → v, and v → u unless one-way), parallel arcs at their minimum.

        Examples
        --------
        >>> from shapely.geometry import LineString
        >>> roads = gpd.GeoDataFrame({"highway": ["residential"], "oneway": ["yes"]},
        ...                          geometry=[LineString([(0, 0), (50, 0)])], crs="EPSG:32632")
        >>> build_network(roads, mode="drive").arcs("length").toarray().tolist()
        [[0.0, 50.0], [0.0, 0.0]]
        """
        key = f"arcs_{weight}"
        if key not in self._cache:
            w = self.edge_time_s if weight == "time" else self.edge_length_m
            two = ~self.edge_oneway
            u = np.concatenate([self.edge_u, self.edge_v[two]])
            v = np.concatenate([self.edge_v, self.edge_u[two]])
            cost = np.concatenate([w, w[two]])
            self._cache[key] = _min_matrix(u, v, cost, self.n_nodes)
        out: sp.csr_matrix = self._cache[key]
        return out


def _min_matrix(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """A CSR matrix of arcs keeping the cheapest of parallel arcs (scipy would add them up)."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return sp.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def _levels(roads: pd.DataFrame) -> np.ndarray:
    layer = pd.to_numeric(roads["layer"], errors="coerce") if "layer" in roads.columns else None
    bridge = ~_isin(_text(roads, "bridge"), (None, "no"))
    tunnel = ~_isin(_text(roads, "tunnel"), (None, "no"))
    level = np.where(bridge, 1, np.where(tunnel, -1, 0)).astype(np.int64)
    if layer is not None:
        has = layer.notna().to_numpy()
        level[has] = layer.to_numpy()[has].astype(np.int64)
    return level


def _snap_line_ends(lines: np.ndarray, tol: float) -> tuple[np.ndarray, int, int]:
    """Join line ends within ``tol`` (the tolerance rule): ends to ends, then a lone end to another line.

    Returns the new lines and how many ends were moved to another end and onto another line.
    """
    if tol <= 0 or not len(lines):
        return lines, 0, 0
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(owner, minlength=len(lines))
    first = np.cumsum(counts) - counts
    last = first + counts - 1
    ends = np.concatenate([first, last])
    end_xy = coords[ends]
    tree = cKDTree(end_xy)
    pairs = tree.query_pairs(tol, output_type="ndarray")
    joined = 0
    if len(pairs):
        ne = len(ends)
        adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(ne, ne))
        _, label = connected_components(adj, directed=False)
        sizes = np.bincount(label)
        mean = np.column_stack(
            [np.bincount(label, weights=end_xy[:, k]) / sizes for k in range(2)]
        )  # the ends of one cluster meet at their mean
        moved = sizes[label] > 1
        moved &= np.hypot(*(mean[label] - end_xy).T) > 0
        joined = int(moved.sum())
        coords[ends] = mean[label]
        lonely = sizes[label] == 1
    else:
        lonely = np.ones(len(ends), dtype=bool)
    # An end that met no other end may touch another line: at one of its vertices, else inside a segment.
    key = np.round(coords, 2)
    _, loc = np.unique(key, axis=0, return_inverse=True)
    loc = loc.ravel()
    lines_at_loc = pd.Series(owner).groupby(loc).nunique().to_numpy()
    lonely &= lines_at_loc[loc[ends]] == 1
    snapped = 0
    inserts: dict[int, list[tuple[float, np.ndarray]]] = {}
    cand = np.flatnonzero(lonely)
    if len(cand):
        vtree = cKDTree(coords)
        ltree = shapely.STRtree(lines)
        for e in cand:
            vi = ends[e]
            me = owner[vi]
            p = coords[vi]
            near = [j for j in vtree.query_ball_point(p, tol) if owner[j] != me]
            if near:
                j = min(near, key=lambda j: (float(np.hypot(*(coords[j] - p))), j))
                coords[vi] = coords[j]
                snapped += 1
                continue
            pt = shapely.Point(p)
            hits = [int(h) for h in ltree.query(pt, predicate="dwithin", distance=tol) if h != me]
            if not hits:
                continue
            h = min(hits, key=lambda h: (shapely.distance(lines[h], pt), h))
            along = float(shapely.line_locate_point(lines[h], pt))
            on = np.asarray(shapely.get_coordinates(shapely.line_interpolate_point(lines[h], along)))[0]
            coords[vi] = on
            inserts.setdefault(h, []).append((along, on))
            snapped += 1
    out = shapely.linestrings(coords, indices=owner)
    for h, points in inserts.items():
        out[h] = _insert_vertices(out[h], points)
    return out, joined, snapped


def _insert_vertices(line: shapely.LineString, points: list[tuple[float, np.ndarray]]) -> shapely.LineString:
    xy = shapely.get_coordinates(line)
    seg = np.hypot(*np.diff(xy, axis=0).T)
    at = np.concatenate([[0.0], np.cumsum(seg)])
    pos = np.concatenate([at, [a for a, _ in points]])
    pts = np.vstack([xy, np.array([p for _, p in points])])
    order = np.argsort(pos, kind="stable")
    return shapely.LineString(pts[order])


def build_network(
    roads: gpd.GeoDataFrame,
    *,
    mode: Mode,
    rules: Rules = DEFAULT_RULES,
    crs: CRS | str | None = None,
) -> RoadNetwork:
    """Build the road network of one mode.

    Parameters
    ----------
    roads
        The roads layer: lines with ``highway``, ``oneway``, ``maxspeed``, ``access``,
        ``foot``, ``motor_vehicle``, ``junction``, ``name``, ``fid``, ``osm_id`` and
        ``node_ids`` where known (missing columns count as untagged).
    mode
        ``walk``, ``ebike`` or ``drive``.
    rules
        Speeds, exclusions, join tolerance (``rules.network``).
    crs
        The metric CRS to work in; roads in another CRS are projected to it. None:
        the roads' CRS when projected, else the one :func:`geo.crs.choose_metric_crs` picks.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    RoadClassError
        A class in the data has no speed in the mode and is not excluded.
    InputError
        An unknown mode.
    """
    t0 = time.perf_counter()
    if mode not in MODES:
        raise InputError(
            f"Unknown network mode {mode!r} (modes: {', '.join(MODES)})",
            detail_zh=f"未知的路网方式 {mode!r}（可选：{', '.join(MODES)}）",
            mode=mode,
        )
    # Only the vertices are projected (below), not the frame: a copy of every column and geometry of a
    # province's roads would cost more than the rest of the build.
    metric_crs, transformer = _metric(roads, crs)
    net_rules = rules.network
    m: ModeRules = getattr(net_rules, mode)
    sel = select_ways(roads, mode=mode, rules=rules)
    geoms = roads.geometry.to_numpy()
    is_line = np.isin(shapely.get_type_id(geoms), (1, 5))  # LineString, MultiLineString
    used = np.flatnonzero(sel.used & is_line)
    # Multi-lines (a county's file) become one way per part.
    if (shapely.get_type_id(geoms[used]) == 1).all():
        parts, part_row = geoms[used], np.arange(len(used))
    else:
        parts, part_row = shapely.get_parts(geoms[used], return_index=True)
    keep = shapely.get_type_id(parts) == 1
    single = (np.bincount(part_row, minlength=len(used)) == 1)[part_row[keep]]
    parts, rows = parts[keep], used[part_row[keep]]

    # OSM node ids decide the junctions when every way has them, aligned with its vertices.
    join_rule, fallback = JOIN_TOLERANCE, None
    ids_flat = None
    if "node_ids" in roads.columns and len(rows):
        texts = roads["node_ids"].to_numpy(dtype=object)[rows]
        has = np.array([isinstance(t, str) and bool(t.strip()) for t in texts])
        if has.all() and single.all():
            try:
                ids_flat, id_counts = decode_node_ids(texts)
            except ValueError:
                ids_flat, id_counts = None, np.zeros(0, dtype=np.int64)
            if ids_flat is not None and np.array_equal(id_counts, shapely.get_num_coordinates(parts)):
                join_rule = JOIN_NODE_IDS
            else:
                fallback = "node ids do not match the vertices of some ways"
                ids_flat = None
        elif has.any():
            fallback = f"{int((~has).sum())} of {len(has)} ways have no node ids"
    joined = snapped = 0
    if join_rule == JOIN_TOLERANCE:
        if transformer is not None:
            parts = shapely.transform(parts, lambda xy: _project(xy, transformer))
        parts, joined, snapped = _snap_line_ends(parts, net_rules.join_tolerance_m)
        coords, owner = shapely.get_coordinates(parts, return_index=True)
    else:
        coords, owner = shapely.get_coordinates(parts, return_index=True)
        if transformer is not None:
            coords = _project(coords, transformer)
    counts = np.bincount(owner, minlength=len(parts))
    starts = np.cumsum(counts) - counts
    # Ways against their drawing direction are turned round, so every one-way edge runs u -> v.
    flip = sel.reverse[rows]
    order = np.arange(len(coords))
    if flip.any():
        pos_in_way = order - starts[owner]
        fl = flip[owner]
        order[fl] = starts[owner[fl]] + counts[owner[fl]] - 1 - pos_in_way[fl]
    coords = coords[order]
    if ids_flat is not None:
        keys = ids_flat[order]
    else:
        keys = _tolerance_keys(coords, owner, starts, counts, _levels(roads)[rows])
    # Consecutive repeats of one node are one vertex.
    dup = np.zeros(len(keys), dtype=bool)
    dup[1:] = (keys[1:] == keys[:-1]) & (owner[1:] == owner[:-1])
    coords, keys, owner = coords[~dup], keys[~dup], owner[~dup]
    counts = np.bincount(owner, minlength=len(parts))
    way_ok = counts >= 2
    vok = way_ok[owner]
    coords, keys, owner = coords[vok], keys[vok], owner[vok]
    counts = np.bincount(owner, minlength=len(parts))
    starts = np.cumsum(counts) - counts

    uniq_keys, kidx = np.unique(keys, return_inverse=True)
    kidx = kidx.ravel()
    nk = len(uniq_keys)
    seg = np.flatnonzero(owner[1:] == owner[:-1])  # segment i runs from vertex i to i + 1
    a, b = kidx[seg], kidx[seg + 1]
    seg_way = owner[seg]
    seg_oneway = sel.oneway[rows][seg_way]
    endpoint = _endpoints(a, b, seg_way, seg_oneway, nk)

    # Closed ways whose closing vertex is interstitial start at their first real node instead; a way with
    # none is an isolated ring, kept as a self-loop at its first vertex.
    first_v, last_v = starts, starts + counts - 1
    closed = np.flatnonzero((counts >= 3) & (kidx[first_v] == kidx[last_v]) & ~endpoint[kidx[first_v]])
    vorder = np.arange(len(coords))
    rings = 0
    for w in closed:
        s0, n0 = first_v[w], counts[w]
        inner = np.flatnonzero(endpoint[kidx[s0 + 1 : s0 + n0 - 1]])
        if not len(inner):
            endpoint[kidx[s0]] = True
            rings += 1
            continue
        j = int(inner[0]) + 1
        rot = np.concatenate([np.arange(s0 + j, s0 + n0), np.arange(s0 + 1, s0 + j + 1)])
        vorder[s0 : s0 + n0] = rot
    coords, kidx = coords[vorder], kidx[vorder]

    step = np.zeros(len(coords))
    same = owner[1:] == owner[:-1]
    step[1:] = np.where(same, np.hypot(*np.diff(coords, axis=0).T), 0.0)
    along = np.cumsum(step)
    cut = endpoint[kidx].copy()
    cut[first_v] = True
    cut[last_v] = True
    cuts = np.flatnonzero(cut)
    pair = owner[cuts[1:]] == owner[cuts[:-1]]
    e_start, e_end = cuts[:-1][pair], cuts[1:][pair]
    e_way_part = owner[e_start]
    on_cut = np.zeros(nk, dtype=bool)
    on_cut[kidx[cuts]] = True
    node_keys = np.flatnonzero(on_cut)  # the keys of the nodes that stay, in order (np.unique without a sort)
    node_index = np.full(nk, -1, dtype=np.int64)
    node_index[node_keys] = np.arange(len(node_keys))
    first_at = np.full(nk, -1, dtype=np.int64)
    first_at[kidx[cuts][::-1]] = cuts[::-1]  # the first vertex that carries each node, for its position
    node_xy = coords[first_at[node_keys]]
    node_osm = uniq_keys[node_keys] if ids_flat is not None else np.full(len(node_keys), -1, dtype=np.int64)

    lengths = along[e_end] - along[e_start]
    nv = e_end - e_start + 1
    idx = np.repeat(e_start, nv) + (np.arange(nv.sum()) - np.repeat(np.cumsum(nv) - nv, nv))
    geometry = shapely.from_ragged_array(
        shapely.GeometryType.LINESTRING, np.ascontiguousarray(coords[idx]), (np.concatenate([[0], np.cumsum(nv)]),)
    )
    way_rows = rows[e_way_part]
    speed = sel.speed_kmh[way_rows]

    def column(c: str) -> np.ndarray:
        if c not in roads.columns:
            return np.full(len(way_rows), None, dtype=object)
        out: np.ndarray = roads[c].to_numpy(dtype=object)[way_rows]
        return out

    if "osm_id" in roads.columns and roads["osm_id"].dtype.kind in "iu" and not roads["osm_id"].hasnans:
        osm_ids = roads["osm_id"].to_numpy(dtype=np.int64)[way_rows]
    else:  # a county's file: ids as text, or none
        osm_ids = pd.to_numeric(pd.Series(column("osm_id")), errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    fids = column("fid")
    if "fid" not in roads.columns:
        fids = np.array([str(r) for r in roads.index.to_numpy()[way_rows]], dtype=object)
    edge_u = node_index[kidx[e_start]]
    edge_v = node_index[kidx[e_end]]
    oneway = sel.oneway[way_rows]
    length_by_class = pd.Series(lengths).groupby(sel.road_class[way_rows]).sum().round(1).to_dict()
    net = RoadNetwork(
        mode=mode,
        crs=metric_crs,
        node_xy=node_xy,
        node_osm_id=node_osm,
        edge_u=edge_u,
        edge_v=edge_v,
        edge_oneway=oneway,
        edge_length_m=lengths,
        edge_speed_kmh=speed,
        edge_time_s=lengths / (speed / 3.6),
        edge_way=way_rows,
        edge_fid=fids,
        edge_osm_id=osm_ids,
        edge_name=column("name"),
        edge_class=sel.road_class[way_rows],
        edge_geometry=geometry,
        access_speed_kmh=m.access_speed_kmh,
        unreachable_distance_m=net_rules.unreachable_distance_m,
        report=None,  # type: ignore[arg-type]  # filled in below, once the components are known
    )
    comp = net.component
    total = float(lengths.sum())
    largest = float(lengths[comp[edge_u] == 0].sum()) if len(lengths) else 0.0
    report = NetworkReport(
        mode=mode,
        nodes=net.n_nodes,
        edges=net.n_edges,
        length_m=round(total, 1),
        components=int(comp.max() + 1) if len(comp) else 0,
        largest_component_share=round(largest / total, 4) if total else 0.0,
        join_rule=join_rule,
        join_tolerance_m=net_rules.join_tolerance_m if join_rule == JOIN_TOLERANCE else None,
        ways=int(len(np.unique(way_rows))),
        ways_excluded=sel.excluded,
        length_by_class={str(k): float(v) for k, v in length_by_class.items()},
        oneway_edges=int(oneway.sum()),
        rings=rings,
        class_missing=sel.class_missing,
        maxspeed_parsed=sel.maxspeed_parsed,
        maxspeed_ignored=sel.maxspeed_ignored,
        maxspeed_ignored_values=sel.maxspeed_ignored_values,
        endpoints_joined=joined,
        endpoints_snapped_to_lines=snapped,
        join_fallback=fallback,
        seconds=round(time.perf_counter() - t0, 3),
    )
    object.__setattr__(net, "report", report)
    return net


def _metric(roads: gpd.GeoDataFrame, crs: CRS | str | None) -> tuple[CRS | None, Transformer | None]:
    """The CRS a network is built in, and the transformer from the roads' CRS to it (None: already there)."""
    if crs is not None:
        if roads.crs is not None and roads.crs.equals(crs):
            return roads.crs, None
        if roads.crs is None:
            roads.geometry.values.to_crs(crs)  # raises geopandas' own error about naive geometries
        target = CRS.from_user_input(crs)
        return target, _transformer(roads.crs, target)
    if roads.crs is not None and roads.crs.is_geographic:
        from geo.crs import choose_metric_crs

        target = CRS.from_user_input(
            choose_metric_crs(gpd.GeoSeries([shapely.box(*roads.total_bounds)], crs=roads.crs))
        )
        return target, _transformer(roads.crs, target)
    return roads.crs, None


@lru_cache(maxsize=32)
def _transformer(source: CRS, target: CRS) -> Transformer:
    """A transformer per pair of CRSs, made once (as geopandas' ``to_crs`` does; pyproj's are thread-safe)."""
    return Transformer.from_crs(source, target, always_xy=True)


def _project(xy: np.ndarray, transformer: Transformer) -> np.ndarray:
    """Project an (n, 2) array of coordinates (heights, if any, are not part of a road network)."""
    if not len(xy):
        return xy
    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _tolerance_keys(
    coords: np.ndarray, owner: np.ndarray, starts: np.ndarray, counts: np.ndarray, level: np.ndarray
) -> np.ndarray:
    """Node keys without node ids: one per location (to the centimetre); interior vertices also by level."""
    if not len(coords):
        return np.zeros(0, dtype=np.int64)
    _, loc = np.unique(np.round(coords, 2), axis=0, return_inverse=True)
    loc = loc.ravel().astype(np.int64)
    is_end = np.zeros(len(coords), dtype=bool)
    is_end[starts] = True
    is_end[starts + counts - 1] = True
    end_loc = np.zeros(loc.max() + 1 if len(loc) else 0, dtype=bool)
    end_loc[loc[is_end]] = True
    lv = level[owner]
    lv_code = lv - lv.min() + 1 if len(lv) else lv
    span = int(lv_code.max()) + 1 if len(lv) else 1
    # Where a line ends, every line there joins; elsewhere, only lines on the same level.
    out: np.ndarray = loc * span + np.where(end_loc[loc], 0, lv_code)
    return out


def _endpoints(a: np.ndarray, b: np.ndarray, seg_way: np.ndarray, seg_oneway: np.ndarray, nk: int) -> np.ndarray:
    """OSMnx's endpoint rules on segments (a -> b), plus: a node where two ways meet is kept."""
    deg = np.bincount(a, minlength=nk) + np.bincount(b, minlength=nk)
    endpoint = deg != 2
    inc_key = np.concatenate([a, b])
    inc_other = np.concatenate([b, a])
    inc_way = np.concatenate([seg_way, seg_way])
    two = ~seg_oneway
    inc_out = np.concatenate([np.ones(len(a), dtype=np.int64), two.astype(np.int64)])
    inc_in = np.concatenate([two.astype(np.int64), np.ones(len(a), dtype=np.int64)])
    # A node of degree two has two incidences: its first and its last (no sort needed to find them).
    at = np.arange(len(inc_key))
    first = np.full(nk, len(inc_key))
    np.minimum.at(first, inc_key, at)
    last = np.full(nk, -1)
    np.maximum.at(last, inc_key, at)
    mid = np.flatnonzero(deg == 2)
    p, q = first[mid], last[mid]
    n_in = inc_in[p] + inc_in[q]
    n_out = inc_out[p] + inc_out[q]
    d = n_in + n_out
    interstitial = (
        (inc_way[p] == inc_way[q]) & (inc_other[p] != inc_other[q]) & (n_in > 0) & (n_out > 0) & np.isin(d, (2, 4))
    )
    endpoint[mid] = ~interstitial
    out: np.ndarray = endpoint
    return out


def network_for_area(area: Any, *, mode: Mode, rules: Rules = DEFAULT_RULES) -> RoadNetwork:
    """Build a study area's network of one mode, in the area's metric CRS.

    Parameters
    ----------
    area
        A :class:`geo.area.StudyArea`.
    """
    roads = area.layer("roads")
    if not len(roads):
        raise EmptyLayerError(
            f"Study area {area.name!r} has no roads", detail_zh=f"研究区 {area.name!r} 没有道路", area=area.name
        )
    return build_network(roads, mode=mode, rules=rules, crs=area.metric_crs)


# --------------------------------------------------------------------------- entrances and shortest paths


@dataclass(frozen=True)
class Entrances:
    """Where geometries meet a network: each one's entrance point on its nearest edge.

    ``edge`` is -1 for an empty geometry. ``offset_m`` is measured along the edge from
    its start node ``edge_u``; ``distance_m`` from the geometry to the entrance point.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    distance_m: np.ndarray
    point: np.ndarray

    def __len__(self) -> int:
        return int(len(self.edge))


def snap_to_edges(
    net: RoadNetwork,
    geometries: Sequence[Any] | np.ndarray | gpd.GeoSeries,
    *,
    largest_component: bool = True,
) -> Entrances:
    """Find the entrance point of each geometry: the nearest point of its nearest edge.

    For a polygon (a building) the distance is from its outline (0 when an edge
    touches it), so a large building meets the street at the wall nearest to it.
    Ties go to the lowest edge index.

    Parameters
    ----------
    largest_component
        Snap to the edges of the network's largest component only (the default), as
        routing engines do (OSRM avoids small components): a building beside a
        fragment of private service road is entered from the street network, not
        stranded on the fragment. False: the nearest edge of any component.

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (100, 0)])],
    ...                          crs="EPSG:32632")
    >>> e = snap_to_edges(build_network(roads, mode="walk"), [Point(30, 12)])
    >>> int(e.edge[0]), float(e.offset_m[0]), float(e.distance_m[0])
    (0, 30.0, 12.0)
    """
    geoms = np.asarray(geometries.to_numpy() if isinstance(geometries, gpd.GeoSeries) else geometries, dtype=object)
    n = len(geoms)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    point = np.full(n, None, dtype=object)
    ok = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if not len(ok) or not net.n_edges:
        return Entrances(edge, offset, dist, point)
    tree, index = (net.main_edge_tree, net.main_edges) if largest_component else (net.edge_tree, None)
    (gi, ei), d = tree.query_nearest(geoms[ok], all_matches=True, return_distance=True)
    if index is not None:
        ei = index[ei]
    order = np.lexsort((ei, gi))
    gi, ei, d = gi[order], ei[order], d[order]
    firsts = np.ones(len(gi), dtype=bool)
    firsts[1:] = gi[1:] != gi[:-1]
    gi, ei, d = gi[firsts], ei[firsts], d[firsts]
    target = ok[gi]
    lines = net.edge_geometry[ei]
    shortest = shapely.shortest_line(geoms[target], lines)
    at = shapely.get_point(shortest, 1)
    edge[target] = ei
    offset[target] = shapely.line_locate_point(lines, at)
    dist[target] = d
    point[target] = shapely.line_interpolate_point(lines, offset[target])
    return Entrances(edge, offset, dist, point)


@dataclass(frozen=True)
class Reach:
    """Costs from the nearest source (seconds for ``time``, metres for ``length``; inf when unreachable).

    ``node_source`` / ``target_source`` name the source each node / target was reached
    from (its index in the sources, -1 when unreachable).
    """

    weight: str
    node_cost: np.ndarray
    node_source: np.ndarray
    target_cost: np.ndarray
    target_source: np.ndarray


def _along(net: RoadNetwork, ent: Entrances, weight: Weight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of each entrance's edge before it, the edge's cost, and the entrance's access cost."""
    e = ent.edge
    length = net.edge_length_m[e]
    frac = np.divide(ent.offset_m, length, out=np.zeros(len(e)), where=length > 0)
    frac = np.clip(frac, 0.0, 1.0)
    w = (net.edge_time_s if weight == "time" else net.edge_length_m)[e]
    access = ent.distance_m / (net.access_speed_kmh / 3.6) if weight == "time" else ent.distance_m.copy()
    return frac, w, access


def travel_costs(
    net: RoadNetwork,
    sources: Entrances,
    *,
    targets: Entrances | None = None,
    weight: Weight = "time",
    limit: float = np.inf,
) -> Reach:
    """Travel from the nearest of several sources to every node and every target entrance.

    A source leaves its entrance point along its edge (toward the end node, and toward
    the start node unless the edge is one-way), after walking its ``distance_m`` at the
    mode's access speed (``weight="time"``; with ``"length"`` costs are metres and the
    access distance counts as it is). A target is reached through either end of its
    edge, or straight along the edge from a source on the same edge, plus its own
    access. One Dijkstra over the network with one virtual node per source
    (``scipy.sparse.csgraph.dijkstra``, ``min_only``).

    Parameters
    ----------
    limit
        Stop exploring beyond this cost (an isochrone): farther costs are inf.

    Examples
    --------
    A 100 m street with a source 20 m along it and a target 70 m along it, both
    4 m off the street; walking 4 km/h:

    >>> from shapely.geometry import LineString, Point
    >>> roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (100, 0)])],
    ...                          crs="EPSG:32632")
    >>> net = build_network(roads, mode="walk")
    >>> reach = travel_costs(net, snap_to_edges(net, [Point(20, 4)]),
    ...                      targets=snap_to_edges(net, [Point(70, -4)]), weight="length")
    >>> reach.node_cost.round(6).tolist(), reach.target_cost.round(6).tolist()
    ([24.0, 84.0], [58.0])
    """
    n = net.n_nodes
    ok = np.flatnonzero(sources.edge >= 0)
    k = len(ok)
    node_cost = np.full(n, np.inf)
    node_source = np.full(n, -1, dtype=np.int64)
    m = len(targets) if targets is not None else 0
    target_cost = np.full(m, np.inf)
    target_source = np.full(m, -1, dtype=np.int64)
    if not k or not n:
        return Reach(weight, node_cost, node_source, target_cost, target_source)
    s_edge = sources.edge[ok]
    sub = Entrances(s_edge, sources.offset_m[ok], sources.distance_m[ok], sources.point[ok])
    frac, w, access = _along(net, sub, weight)
    two = ~net.edge_oneway[s_edge]
    virt = n + np.arange(k)
    su = np.concatenate([virt, virt[two]])
    sv = np.concatenate([net.edge_v[s_edge], net.edge_u[s_edge][two]])
    sw = np.concatenate([access + (1 - frac) * w, (access + frac * w)[two]])
    base = net.arcs(weight).tocoo()
    matrix = _min_matrix(
        np.concatenate([base.row, su]), np.concatenate([base.col, sv]), np.concatenate([base.data, sw]), n + k
    )
    dist, _, src = dijkstra(matrix, directed=True, indices=virt, min_only=True, limit=limit, return_predecessors=True)
    node_cost = dist[:n]
    node_source = np.where(np.isfinite(node_cost), ok[np.clip(src[:n] - n, 0, k - 1)], -1)
    if targets is None or not m:
        return Reach(weight, node_cost, node_source, target_cost, target_source)
    tok = np.flatnonzero(targets.edge >= 0)
    t_edge = targets.edge[tok]
    tsub = Entrances(t_edge, targets.offset_m[tok], targets.distance_m[tok], targets.point[tok])
    tfrac, tw, taccess = _along(net, tsub, weight)
    u, v = net.edge_u[t_edge], net.edge_v[t_edge]
    via_u = node_cost[u] + tfrac * tw
    via_v = np.where(net.edge_oneway[t_edge], np.inf, node_cost[v] + (1 - tfrac) * tw)
    best = np.minimum(via_u, via_v)
    who = np.where(via_u <= via_v, node_source[u], node_source[v])
    # A source on the target's own edge may reach it without passing a node.
    by_edge = pd.Series(np.arange(k)).groupby(s_edge).apply(list).to_dict()
    for i in np.flatnonzero(np.isin(t_edge, s_edge)):
        e = int(t_edge[i])
        for j in by_edge[e]:
            ahead = tfrac[i] >= frac[j]
            if not ahead and net.edge_oneway[e]:
                continue
            c = access[j] + abs(tfrac[i] - frac[j]) * tw[i]
            if c < best[i]:
                best[i], who[i] = c, ok[j]
    total = best + taccess
    total[total > limit] = np.inf
    target_cost[tok] = total
    target_source[tok] = np.where(np.isfinite(total), who, -1)
    return Reach(weight, node_cost, node_source, target_cost, target_source)


def nearest_by_road(
    net: RoadNetwork, source: shapely.Geometry, targets: Sequence[Any] | np.ndarray
) -> tuple[int, float] | None:
    """Which target geometry is nearest to ``source`` along the network: (index, metres), or None if none is reachable.

    Both ends meet the network at the nearest point of their nearest edge, on whatever
    component it lies (a place cut off from the main network is not attached through
    it); the distance is the two access distances plus the way between them.

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> roads = gpd.GeoDataFrame({"highway": ["track", "track"]},
    ...     geometry=[LineString([(0, 0), (0, 100), (100, 100)]), LineString([(500, 0), (500, 100)])],
    ...     crs="EPSG:32632")
    >>> net = build_network(roads, mode="walk")
    >>> nearest_by_road(net, Point(10, 0), [Point(400, 0), Point(100, 90)])  # the first is nearer, but not by road
    (1, 220.0)
    """
    src = snap_to_edges(net, [source], largest_component=False)
    tgt = snap_to_edges(net, targets, largest_component=False)
    reach = travel_costs(net, src, targets=tgt, weight="length")
    if not np.isfinite(reach.target_cost).any():
        return None
    i = int(np.argmin(reach.target_cost))
    return i, float(reach.target_cost[i])


# --------------------------------------------------------------------------- buildings, summary, frames


def building_entrances(net: RoadNetwork, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each building's entrance point on the network and whether the network reaches it.

    The entrance point is on the largest component's nearest edge (:func:`snap_to_edges`).
    A building is **unreachable** when that point is farther than the rules'
    ``unreachable_distance_m`` from its footprint: it lies on no street of the network
    (an alpine hut, a building on an island of the network, a pier).
    ``other_component_nearer`` flags buildings whose nearest edge of all is on another,
    smaller component (a fragment of private road, say): they are entered from the
    main network all the same.

    Returns
    -------
    GeoDataFrame
        Indexed like ``buildings``: ``edge``, ``offset_m``, ``distance_m``,
        ``reachable``, ``other_component_nearer`` and the entrance point as geometry
        (the network's CRS).
    """
    geoms = buildings.geometry
    if net.crs is not None and buildings.crs is not None and not CRS(buildings.crs).equals(net.crs):
        geoms = geoms.to_crs(net.crs)
    ent = snap_to_edges(net, geoms)
    anywhere = snap_to_edges(net, geoms, largest_component=False)
    dist = np.nan_to_num(ent.distance_m, nan=np.inf)
    reachable = (ent.edge >= 0) & (dist <= net.unreachable_distance_m)
    nearer = np.nan_to_num(anywhere.distance_m, nan=np.inf) < dist
    return gpd.GeoDataFrame(
        {
            "edge": ent.edge,
            "offset_m": ent.offset_m,
            "distance_m": ent.distance_m,
            "reachable": reachable,
            "other_component_nearer": nearer,
        },
        geometry=gpd.GeoSeries(ent.point, crs=net.crs),
        index=buildings.index,
    )


def network_summary(net: RoadNetwork, buildings: gpd.GeoDataFrame | None = None) -> dict[str, Any]:
    """The network's report as a summary; with buildings, how many of them it does not reach.

    Examples
    --------
    >>> from shapely.geometry import LineString, Point
    >>> roads = gpd.GeoDataFrame({"highway": ["residential", "footway"]},
    ...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(0, 500), (10, 500)])], crs="EPSG:32632")
    >>> houses = gpd.GeoDataFrame(geometry=[Point(50, 5).buffer(3), Point(5, 505).buffer(3)], crs="EPSG:32632")
    >>> s = network_summary(build_network(roads, mode="walk"), houses)
    >>> s["components"], s["largest_component_share"], s["buildings_unreachable"], s["buildings_nearer_other_component"]
    (2, 0.9091, 1, 1)
    """
    out = net.report.as_dict()
    out["buildings"] = None
    out["buildings_unreachable"] = None
    out["buildings_nearer_other_component"] = None
    out["entrance_distance_median_m"] = None
    if buildings is not None:
        ent = building_entrances(net, buildings)
        out["buildings"] = int(len(ent))
        out["buildings_unreachable"] = int((~ent["reachable"]).sum())
        out["buildings_nearer_other_component"] = int(ent["other_component_nearer"].sum())
        out["entrance_distance_median_m"] = (
            round(float(np.nanmedian(ent["distance_m"])), 1) if ent["distance_m"].notna().any() else None
        )
    return out


def network_frames(net: RoadNetwork) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The network as two GeoDataFrames, nodes and edges, for QGIS (written by :mod:`geo.io.networks`)."""
    deg = np.bincount(net.edge_u, minlength=net.n_nodes) + np.bincount(net.edge_v, minlength=net.n_nodes)
    nodes = gpd.GeoDataFrame(
        {
            "node": np.arange(net.n_nodes),
            "osm_id": net.node_osm_id,
            "degree": deg,
            "component": net.component,
        },
        geometry=shapely.points(net.node_xy) if net.n_nodes else gpd.GeoSeries([]),
        crs=net.crs,
    )
    edges = gpd.GeoDataFrame(
        {
            "edge": np.arange(net.n_edges),
            "u": net.edge_u,
            "v": net.edge_v,
            "way_fid": net.edge_fid,
            "osm_id": net.edge_osm_id,
            "name": net.edge_name,
            "road_class": net.edge_class,
            "oneway": net.edge_oneway,
            "length_m": net.edge_length_m.round(2),
            "speed_kmh": net.edge_speed_kmh,
            "travel_time_s": net.edge_time_s.round(2),
            "component": net.component[net.edge_u] if net.n_edges else np.zeros(0, dtype=np.int64),
        },
        geometry=net.edge_geometry,
        crs=net.crs,
    )
    return nodes, edges


def to_networkx(net: RoadNetwork) -> nx.MultiDiGraph | nx.MultiGraph:
    """The network as a networkx graph, for consumers that need one (a MultiGraph for walking).

    Arcs carry ``edge`` (the edge index), ``length`` (m) and ``travel_time`` (s).
    """
    g: nx.MultiDiGraph | nx.MultiGraph = nx.MultiDiGraph() if net.directed else nx.MultiGraph()
    g.graph.update(mode=net.mode, crs=net.crs)
    g.add_nodes_from((i, {"x": float(x), "y": float(y)}) for i, (x, y) in enumerate(net.node_xy))
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        data = {"edge": e, "length": float(net.edge_length_m[e]), "travel_time": float(net.edge_time_s[e])}
        g.add_edge(u, v, **data)
        if net.directed and not net.edge_oneway[e]:
            g.add_edge(v, u, **data)
    return g
