"""Response reach: how fast the nearest duty point gets to every node, building entrance and street.

DOMAIN §6: police response is planned in 1/3/5-minute circles on the real road
network. One multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra``,
``min_only``) from every duty point at once gives each node its arrival time and
the duty point that gets there first.

**Where a duty point starts.** It enters the network at its entrance point
(:func:`geo.networks.snap_to_edges`, the one definition every job uses): a
virtual node per duty point with arcs along its edge to the edge's end (and to
its start unless the edge is one-way), costing its **readiness** (the minutes
before it can leave), the walk to the entrance at the mode's access speed, and
the share of the edge it drives. scipy's Dijkstra takes no initial costs, so the
readiness rides on those virtual arcs.

**Junction delays** (``response.junction_delay_s``, off by default): each arc
leaving a node where three or more street ends meet costs that much more, so a
route pays for every junction it passes; a node's own time is its arrival time.

**Where a building is reached** is its entrance point: through either end of its
edge (the start end only on a one-way edge), or straight along the edge from a
duty point on the same edge, plus the walk from the entrance to the building at
the access speed. Household shares count these times; the band areas
(:func:`reached_pieces`, :func:`band_areas`) only draw them: the street pieces
reached within each band, cut where time runs out, and around them every place
within the buffer given to the band and duty point of its nearest reached street.

Examples
--------
A 100 m street and a one-way 200 m street on from it, a duty point 20 m along the
first (readiness 30 s), driving at 36 km/h (10 m/s)::

    A (0,0) ---- street ---- B (100,0) ==== one-way ====> C (300,0)

>>> from shapely.geometry import LineString, Point
>>> from geo.networks import build_network, snap_to_edges
>>> from geo.rules import rules_from_dict
>>> r = rules_from_dict({"network": {"drive": {"speeds_kmh": {"residential": 36.0}}}})
>>> roads = gpd.GeoDataFrame({"highway": ["residential", "residential"], "oneway": [None, "yes"]},
...     geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (300, 0)])], crs="EPSG:32632")
>>> graph = ReachGraph.of(build_network(roads, mode="drive", rules=r))
>>> origins = Origins.at(graph, snap_to_edges(graph.net, [Point(20, 0)]), delay_s=[30.0])
>>> reach = multi_source_reach(graph, origins)
>>> reach.node_time_s.round(3).tolist()   # A, B, C
[32.0, 38.0, 58.0]
>>> t, who = entrance_times(graph, reach, snap_to_edges(graph.net, [Point(200, 10)]))
>>> round(float(t[0]), 1), int(who[0])   # 38 s to B, 10 s along, 10 m walked at 4 km/h
(57.0, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import contourpy
import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy import ndimage
from scipy.sparse.csgraph import dijkstra

from geo.networks import Entrances, RoadNetwork


@dataclass(frozen=True, eq=False)
class ReachGraph:
    """A network's arcs in seconds, junction delays included, ready for many reach queries.

    ``arcs`` is ``net.arcs("time")`` with ``junction_delay_s[u]`` added to every
    arc leaving node ``u``. Build it once per network and rules (the service
    keeps it in the area cache).
    """

    net: RoadNetwork
    arcs: sp.csr_matrix
    junction_delay_s: np.ndarray

    @classmethod
    def of(cls, net: RoadNetwork, *, junction_delay_s: float = 0.0) -> ReachGraph:
        """The reach graph of a network, with a delay at every junction of three or more street ends."""
        base = net.arcs("time")
        delay = (
            np.where(junction_nodes(net), float(junction_delay_s), 0.0) if junction_delay_s else np.zeros(net.n_nodes)
        )
        if junction_delay_s:
            base = base.copy()
            base.data = base.data + np.repeat(delay, np.diff(base.indptr))
        base.sort_indices()
        return cls(net, base, delay)

    @property
    def n_nodes(self) -> int:
        """Number of nodes of the network."""
        return self.net.n_nodes


def junction_nodes(net: RoadNetwork) -> np.ndarray:
    """Whether each node is a junction: three or more street ends meet there (a self-loop counts twice).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> from geo.networks import build_network
    >>> roads = gpd.GeoDataFrame({"highway": ["residential"] * 3},
    ...     geometry=[LineString([(0, 0), (50, 0)]), LineString([(50, 0), (100, 0)]), LineString([(50, 0), (50, 60)])],
    ...     crs="EPSG:32632")
    >>> junction_nodes(build_network(roads, mode="walk")).tolist()
    [False, True, False, False]
    """
    deg = np.bincount(net.edge_u, minlength=net.n_nodes) + np.bincount(net.edge_v, minlength=net.n_nodes)
    out: np.ndarray = deg >= 3
    return out


@dataclass(frozen=True)
class Origins:
    """Where duty points (or candidate sites) enter the network, and when they get there.

    ``edge`` is each origin's entrance edge (-1: none), ``frac`` how far along it
    the entrance lies (0 at ``edge_u``, 1 at ``edge_v``), ``start_s`` the time at
    the entrance point: readiness plus the walk from the origin to it.
    """

    edge: np.ndarray
    frac: np.ndarray
    start_s: np.ndarray
    # The arcs matrix with these origins' virtual nodes, per reach graph: built at the first query from them,
    # so every later query (the service asks twice, the siting and the benchmarks many times) is one csgraph call.
    _prepared: dict[ReachGraph, _Prepared] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(len(self.edge))

    @classmethod
    def at(
        cls, graph: ReachGraph, entrances: Entrances, *, delay_s: Sequence[float] | np.ndarray | None = None
    ) -> Origins:
        """Origins at entrance points (:func:`geo.networks.snap_to_edges`), each leaving after ``delay_s``."""
        net = graph.net
        e = entrances.edge
        ok = e >= 0
        length = np.where(ok, net.edge_length_m[np.where(ok, e, 0)], 1.0)
        along = np.nan_to_num(entrances.offset_m)
        frac = np.clip(np.divide(along, length, where=length > 0, out=np.zeros(len(e))), 0, 1)
        delay = np.zeros(len(e)) if delay_s is None else np.asarray(delay_s, dtype=float)
        start = delay + np.nan_to_num(entrances.distance_m, nan=np.inf) / (net.access_speed_kmh / 3.6)
        return cls(e.astype(np.int64), frac, np.where(ok, start, np.inf))

    @classmethod
    def at_nodes(cls, graph: ReachGraph, nodes: np.ndarray, *, delay_s: float = 0.0) -> Origins:
        """Origins standing on network nodes (junctions), leaving after ``delay_s``.

        A node becomes the start (or, for a node that only ends edges, the end) of one of its edges.
        """
        net = graph.net
        nodes = np.asarray(nodes, dtype=np.int64)
        edge = np.full(len(nodes), -1, dtype=np.int64)
        frac = np.zeros(len(nodes))
        # The first edge starting at each node, else the first ending there (frac 1: at its end node).
        first_out = np.full(net.n_nodes, -1, dtype=np.int64)
        first_out[net.edge_u[::-1]] = np.arange(net.n_edges)[::-1]
        first_in = np.full(net.n_nodes, -1, dtype=np.int64)
        first_in[net.edge_v[::-1]] = np.arange(net.n_edges)[::-1]
        out_e = first_out[nodes]
        edge = np.where(out_e >= 0, out_e, first_in[nodes])
        frac = np.where(out_e >= 0, 0.0, 1.0)
        return cls(edge, frac, np.where(edge >= 0, float(delay_s), np.inf))


@dataclass(frozen=True, eq=False)
class Reach:
    """Arrival times from the nearest origin: per node, seconds (inf: not reached) and which origin (-1)."""

    node_time_s: np.ndarray
    node_origin: np.ndarray
    origins: Origins


@dataclass(frozen=True, eq=False)
class _Prepared:
    """The arcs matrix with one virtual node per usable origin appended (arcs out of it only), ready for csgraph.

    ``ok`` are the usable origins (an entrance edge and a finite start), ``virtual`` their nodes (after the
    network's), ``origin_of`` the origin of each node index when it is a virtual node (-1 for a network node).
    """

    matrix: sp.csr_matrix
    ok: np.ndarray
    virtual: np.ndarray
    origin_of: np.ndarray


def _prepared(graph: ReachGraph, origins: Origins) -> _Prepared:
    """The origins' matrix on this graph, built once per (graph, origins) and kept on the origins."""
    got = origins._prepared.get(graph)
    if got is None:
        matrix, ok = _origin_arcs(graph, origins)
        n = graph.n_nodes
        origin_of = np.full(n + len(ok), -1, dtype=np.int64)
        origin_of[n:] = ok
        got = _Prepared(matrix, ok, n + np.arange(len(ok)), origin_of)
        origins._prepared[graph] = got
    return got


def _origin_arcs(graph: ReachGraph, origins: Origins) -> tuple[sp.csr_matrix, np.ndarray]:
    """The graph with one virtual node per usable origin appended (arcs out of it only), and their indices."""
    net = graph.net
    n = graph.n_nodes
    ok = np.flatnonzero((origins.edge >= 0) & np.isfinite(origins.start_s))
    e = origins.edge[ok]
    f = origins.frac[ok]
    w = net.edge_time_s[e]
    start = origins.start_s[ok]
    u, v = net.edge_u[e], net.edge_v[e]
    two = ~net.edge_oneway[e]
    to_v = start + (1 - f) * w
    # Backwards only on a two-way edge, or from a duty point standing on the edge's start node.
    to_u = np.where(two | (f == 0), start + f * w, np.inf)
    # A self-loop's two arcs lead to one node: keep the cheaper (scipy would keep both, harmlessly, but be plain).
    loop = u == v
    to_v = np.where(loop, np.minimum(to_v, to_u), to_v)
    has_u = np.isfinite(to_u) & ~loop
    k = len(ok)
    counts = 1 + has_u.astype(np.int64)
    cols = np.empty(int(counts.sum()), dtype=np.int32)
    data = np.empty(len(cols))
    firsts = np.cumsum(counts) - counts
    cols[firsts] = v
    data[firsts] = to_v
    cols[firsts[has_u] + 1] = u[has_u]
    data[firsts[has_u] + 1] = to_u[has_u]
    base = graph.arcs
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
    matrix = sp.csr_matrix(
        (np.concatenate([base.data, data]), np.concatenate([base.indices, cols]), indptr), shape=(n + k, n + k)
    )
    return matrix, ok


def multi_source_reach(graph: ReachGraph, origins: Origins, *, limit_s: float = np.inf) -> Reach:
    """Arrival time at every node from the nearest origin (one Dijkstra from all of them).

    The arcs matrix with the origins' virtual nodes is built at the first query from these origins on this
    graph and kept on them: a query is then one csgraph call.

    Parameters
    ----------
    limit_s
        Explore no farther than this (seconds): nodes beyond are not reached (inf).
    """
    n = graph.n_nodes
    prep = _prepared(graph, origins)
    if not len(prep.ok) or not n:
        return Reach(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), origins)
    dist, _, src = dijkstra(
        prep.matrix, directed=True, indices=prep.virtual, min_only=True, limit=limit_s, return_predecessors=True
    )
    # Unreached nodes have source -9999: clipped to node 0, a network node, whose origin_of is -1.
    return Reach(dist[:n], np.take(prep.origin_of, src[:n], mode="clip"), origins)


def each_origin_times(graph: ReachGraph, origins: Origins, *, limit_s: float = np.inf) -> np.ndarray:
    """Arrival time at every node from each origin on its own: an (origins × nodes) array (inf: not reached)."""
    n = graph.n_nodes
    out = np.full((len(origins), n), np.inf)
    prep = _prepared(graph, origins)
    if len(prep.ok) and n:
        dist = dijkstra(prep.matrix, directed=True, indices=prep.virtual, limit=limit_s)
        out[prep.ok] = dist[:, :n]
    return out


def _target_parts(graph: ReachGraph, targets: Entrances) -> tuple[np.ndarray, ...]:
    net = graph.net
    e = np.where(targets.edge >= 0, targets.edge, 0)
    length = net.edge_length_m[e]
    frac = np.clip(np.divide(np.nan_to_num(targets.offset_m), length, where=length > 0, out=np.zeros(len(e))), 0, 1)
    w = net.edge_time_s[e]
    access = np.where(targets.edge >= 0, np.nan_to_num(targets.distance_m, nan=np.inf), np.inf) / (
        net.access_speed_kmh / 3.6
    )
    u, v = net.edge_u[e], net.edge_v[e]
    oneway = net.edge_oneway[e]
    return e, frac, w, access, u, v, oneway


def entrance_times(graph: ReachGraph, reach: Reach, targets: Entrances) -> tuple[np.ndarray, np.ndarray]:
    """Time from the nearest origin to each target (seconds, inf when unreached), and that origin (-1).

    The time to the target's entrance point through either end of its edge (or from an
    origin on the same edge), plus the walk from the entrance to the target.
    """
    e, frac, w, access, u, v, oneway = _target_parts(graph, targets)
    jd = graph.junction_delay_s
    t = reach.node_time_s
    via_u = t[u] + jd[u] + frac * w
    via_v = np.where(oneway, np.inf, t[v] + jd[v] + (1 - frac) * w)
    best = np.minimum(via_u, via_v)
    who = np.where(via_u <= via_v, reach.node_origin[u], reach.node_origin[v])
    o = reach.origins
    valid = targets.edge >= 0
    for j in np.flatnonzero((o.edge >= 0) & np.isfinite(o.start_s)):
        on = np.flatnonzero(valid & (e == o.edge[j]))
        if not len(on):
            continue
        ahead = frac[on] >= o.frac[j]
        c = o.start_s[j] + np.abs(frac[on] - o.frac[j]) * w[on]
        c = np.where(ahead | ~oneway[on], c, np.inf)
        better = c < best[on]
        best[on[better]] = c[better]
        who[on[better]] = j
    total = np.where(valid, best + access, np.inf)
    return total, np.where(np.isfinite(total), who, -1)


def entrance_times_each(graph: ReachGraph, origins: Origins, node_times: np.ndarray, targets: Entrances) -> np.ndarray:
    """Time from each origin on its own to each target: an (origins × targets) array (inf: unreached).

    ``node_times`` is :func:`each_origin_times` of the same origins.
    """
    e, frac, w, access, u, v, oneway = _target_parts(graph, targets)
    jd = graph.junction_delay_s
    via_u = node_times[:, u] + (jd[u] + frac * w)
    via_v = np.where(oneway, np.inf, node_times[:, v] + (jd[v] + (1 - frac) * w))
    best = np.minimum(via_u, via_v)
    valid = targets.edge >= 0
    for j in np.flatnonzero((origins.edge >= 0) & np.isfinite(origins.start_s)):
        on = np.flatnonzero(valid & (e == origins.edge[j]))
        if not len(on):
            continue
        ahead = frac[on] >= origins.frac[j]
        c = origins.start_s[j] + np.abs(frac[on] - origins.frac[j]) * w[on]
        c = np.where(ahead | ~oneway[on], c, np.inf)
        best[j, on] = np.minimum(best[j, on], c)
    out: np.ndarray = np.where(valid, best + access, np.inf)
    return out


# --------------------------------------------------------------------------- households by band


def households_within(time_s: np.ndarray, households: np.ndarray, minutes: Sequence[int]) -> dict[str, float]:
    """Share of households reached within each number of minutes, keyed by the minutes as text.

    Examples
    --------
    >>> households_within(np.array([30.0, 100.0, np.inf]), np.array([2.0, 1.0, 1.0]), [1, 3])
    {'1': 0.5, '3': 0.75}
    """
    total = float(households.sum())
    return {str(m): (round(float(households[time_s <= m * 60.0].sum()) / total, 4) if total else 0.0) for m in minutes}


def band_of(time_s: np.ndarray, minutes: Sequence[int]) -> np.ndarray:
    """The smallest band (minutes) each time falls in, 0 beyond the last band.

    Examples
    --------
    >>> band_of(np.array([10.0, 60.0, 61.0, 400.0, np.inf]), [1, 3, 5]).tolist()
    [1, 1, 3, 0, 0]
    """
    bands = np.sort(np.asarray(list(minutes), dtype=np.int64))
    pos = np.searchsorted(bands * 60.0, time_s, side="left")
    out: np.ndarray = np.where(pos < len(bands), bands[np.minimum(pos, len(bands) - 1)], 0)
    return out


def tabulate(
    time_s: np.ndarray,
    households: np.ndarray,
    groups: pd.Series,
    minutes: Sequence[int],
    *,
    target_s: np.ndarray | None = None,
) -> pd.DataFrame:
    """Households per group: in total, within each band (cumulative, ``within_<m>``), and within the target.

    Returns one row per group (the index): ``buildings``, ``households``, ``within_<m>`` for each
    minute, and with ``target_s`` (per building) ``within_target``.
    """
    frame = pd.DataFrame({"g": groups.to_numpy(), "h": households, "b": 1})
    for m in minutes:
        frame[f"within_{m}"] = np.where(time_s <= m * 60.0, households, 0.0)
    if target_s is not None:
        frame["within_target"] = np.where(time_s <= target_s, households, 0.0)
    out = frame.groupby("g", sort=True).sum()
    return out.rename(columns={"h": "households", "b": "buildings"})


# --------------------------------------------------------------------------- band areas (display)


def _substrings(lines: np.ndarray, start_m: np.ndarray, end_m: np.ndarray) -> np.ndarray:
    """The part of each line between two distances along it (vectorised ``shapely.ops.substring``)."""
    if not len(lines):
        return np.zeros(0, dtype=object)
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    step = np.zeros(len(coords))
    same = owner[1:] == owner[:-1]
    step[1:] = np.where(same, np.hypot(*np.diff(coords, axis=0).T), 0.0)
    cum = np.cumsum(step)
    counts = np.bincount(owner, minlength=len(lines))
    first = np.cumsum(counts) - counts
    along = cum - cum[first][owner]
    inside = (along > start_m[owner]) & (along < end_m[owner])
    # The cut points, interpolated on the cumulative lengths (GEOS walks each line again for each point).
    m = len(lines)
    last = first + np.maximum(counts, 1) - 1
    line = np.concatenate([np.arange(m), np.arange(m)])
    target = cum[first[line]] + np.clip(np.concatenate([start_m, end_m]), 0.0, (cum[last] - cum[first])[line])
    i = np.clip(np.searchsorted(cum, target, side="right") - 1, first[line], np.maximum(last[line] - 1, first[line]))
    j = np.minimum(i + 1, last[line])
    seg = cum[j] - cum[i]
    t = np.divide(target - cum[i], seg, out=np.zeros(len(seg)), where=seg > 0)
    p0, p1 = np.split(coords[i] + t[:, None] * (coords[j] - coords[i]), 2)
    # Each piece: its start, the line's vertices inside it (in order already), its end - placed, not sorted.
    held = owner[inside]
    n_in = np.bincount(held, minlength=m)
    size = n_in + 2
    at = np.cumsum(size) - size
    xy = np.empty((int(size.sum()), 2))
    xy[at] = p0
    xy[at + size - 1] = p1
    xy[at[held] + 1 + np.arange(len(held)) - (np.cumsum(n_in) - n_in)[held]] = coords[inside]
    out: np.ndarray = shapely.linestrings(xy, indices=np.repeat(np.arange(m), size))
    return out


def reached_pieces(graph: ReachGraph, reach: Reach, minutes: Sequence[int]) -> gpd.GeoDataFrame:
    """The street pieces reached within each band, cut where time runs out, each owned by the first duty point there.

    An edge reached from both ends is split where the two arrivals meet; an origin's
    own edge is reached from its entrance point. Bands are cumulative: the 5-minute
    pieces include the 3-minute ones.

    Returns
    -------
    GeoDataFrame
        ``minutes``, ``origin`` (index of the duty point), ``edge``, ``start_m``, ``end_m``
        (along the edge from its start node) and the piece as geometry (the network's CRS).
    """
    net = graph.net
    t = reach.node_time_s
    jd = graph.junction_delay_s
    u, v = net.edge_u, net.edge_v
    length = net.edge_length_m
    rate = np.divide(net.edge_time_s, length, out=np.zeros(net.n_edges), where=length > 0)  # seconds per metre
    leave_u = t[u] + jd[u]
    leave_v = np.where(net.edge_oneway, np.inf, t[v] + jd[v])
    with np.errstate(invalid="ignore"):
        meet = np.clip((leave_v - leave_u + length * rate) / (2 * rate), 0, length)
    meet = np.where(np.isinf(leave_v), length, np.where(np.isinf(leave_u), 0.0, meet))
    o = reach.origins
    live = np.flatnonzero((o.edge >= 0) & np.isfinite(o.start_s))
    own = np.unique(o.edge[live])
    plain = ~np.isin(np.arange(net.n_edges), own)
    # Numpy columns per band, one frame at the end (a frame per band and side cost more than the cutting).
    cols: list[tuple[np.ndarray, ...]] = []
    for m in sorted(set(int(x) for x in minutes)):
        limit = m * 60.0
        with np.errstate(invalid="ignore"):
            from_u = np.clip(np.where(np.isfinite(leave_u), (limit - leave_u) / rate, 0.0), 0, length)
            from_v = np.clip(np.where(np.isfinite(leave_v), (limit - leave_v) / rate, 0.0), 0, length)
        end_u = np.minimum(from_u, meet)
        start_v = np.maximum(length - from_v, meet)
        # Edges holding a duty point are cut below, exactly (few edges, one loop each).
        a = np.flatnonzero((end_u > 0) & plain)
        b = np.flatnonzero((start_v < length) & plain)
        cols.append((a, np.zeros(len(a)), end_u[a], reach.node_origin[u[a]], np.full(len(a), m)))
        cols.append((b, start_v[b], length[b], reach.node_origin[v[b]], np.full(len(b), m)))
        rows_own = []
        for e in own.tolist():
            here = live[o.edge[live] == e]
            sources = [(0.0, float(leave_u[e]), 1, int(reach.node_origin[u[e]]))]
            if not net.edge_oneway[e]:
                sources.append((float(length[e]), float(leave_v[e]), -1, int(reach.node_origin[v[e]])))
            for j in here.tolist():
                at = float(o.frac[j] * length[e])
                sources.append((at, float(o.start_s[j]), 1, j))
                if not net.edge_oneway[e] or o.frac[j] == 0:
                    sources.append((at, float(o.start_s[j]), -1, j))
            for lo, hi, who in _envelope(float(length[e]), float(rate[e]), sources, limit):
                rows_own.append((e, lo, hi, who))
        if rows_own:
            e_, lo_, hi_, who_ = (np.array(x) for x in zip(*rows_own))
            cols.append((e_, lo_, hi_, who_, np.full(len(e_), m)))
    edge, start_m, end_m, origin, band = (np.concatenate(c) for c in zip(*cols)) if cols else (np.zeros(0),) * 5
    keep = end_m - start_m > 1e-6
    pieces = pd.DataFrame(
        {
            "minutes": band[keep].astype(np.int64),
            "edge": edge[keep].astype(np.int64),
            "start_m": start_m[keep].astype(float),
            "end_m": end_m[keep].astype(float),
            "origin": origin[keep].astype(np.int64),
        }
    )
    edges = pieces["edge"].to_numpy(dtype=np.int64)
    geometry = _substrings(
        net.edge_geometry[edges], pieces["start_m"].to_numpy(dtype=float), pieces["end_m"].to_numpy(dtype=float)
    )
    return gpd.GeoDataFrame(pieces, geometry=geometry, crs=net.crs)


def _envelope(
    length: float, rate: float, sources: list[tuple[float, float, int, int]], limit: float
) -> list[tuple[float, float, int]]:
    """Along one edge, who arrives first where, and the stretches each reaches within ``limit``.

    ``sources`` are (position m, time s there, direction +1 forward / -1 backward, owner); a
    source's time grows by ``rate`` seconds per metre in its direction and is undefined behind
    it. Returns (start m, end m, owner) stretches, joined where one owner continues.

    Examples
    --------
    A 100 m edge at 0.1 s/m: from its start at 10 s, from its end (backwards) at 4 s:

    >>> _envelope(100.0, 0.1, [(0.0, 10.0, 1, 0), (100.0, 4.0, -1, 1)], 60.0)
    [(0.0, 20.0, 0), (20.0, 100.0, 1)]
    >>> _envelope(100.0, 0.1, [(50.0, 0.0, 1, 7), (50.0, 0.0, -1, 7)], 3.0)
    [(20.0, 80.0, 7)]
    """
    live = [s for s in sources if np.isfinite(s[1]) and s[3] >= 0]
    if not live or rate <= 0 or length <= 0:
        return []
    cuts = {0.0, length}
    cuts.update(p for p, _, _, _ in live if 0 < p < length)
    for pf, tf, df, _ in live:
        for pb, tb, db, _ in live:
            if df == 1 and db == -1:
                x = (tb - tf + rate * (pf + pb)) / (2 * rate)
                if 0 < x < length:
                    cuts.add(x)

    def time_at(src: tuple[float, float, int, int], x: float) -> float:
        p, t, d, _ = src
        ahead = (x - p) * d
        return t + rate * ahead if ahead >= -1e-9 else np.inf

    points = sorted(cuts)
    out: list[tuple[float, float, int]] = []
    for a, b in zip(points[:-1], points[1:]):
        if b - a <= 1e-9:
            continue
        mid = (a + b) / 2
        best = min(live, key=lambda s: (time_at(s, mid), s[3]))
        if not np.isfinite(time_at(best, mid)):
            continue  # nobody drives this stretch (behind a one-way start)
        # Within the stretch the time is linear in the owner's direction: keep what lies within the limit.
        if best[2] == 1:
            lo, hi = a, min(b, a + (limit - time_at(best, a)) / rate)
        else:
            lo, hi = max(a, b - (limit - time_at(best, b)) / rate), b
        if hi - lo <= 1e-9:
            continue
        if out and out[-1][2] == best[3] and abs(out[-1][1] - lo) < 1e-9:
            out[-1] = (out[-1][0], hi, best[3])
        else:
            out.append((lo, hi, best[3]))
    return [(round(lo, 9), round(hi, 9), who) for lo, hi, who in out]


BAND_PIXELS = 80_000  # the band grid: about this many pixels over the pieces' extent, each buffer / 10 to buffer / 2


def band_areas(pieces: gpd.GeoDataFrame, *, buffer_m: float, pixel_m: float | None = None) -> gpd.GeoDataFrame:
    """The area of each band around the reached pieces, one (multi)polygon per band and duty point.

    A place belongs to the band and the duty point of its **nearest reached street** when that street is within
    ``buffer_m``: the reached pieces buffered, each place given to the piece nearest to it. So the areas of one
    band never overlap and meet halfway between two duty points' streets, and a band's area ends where a street
    reached only later is nearer (across the street where time runs out, not in a round cap beyond it), as a
    building takes the time of its entrance on its nearest street. Bands are cumulative, as the pieces are; the
    streets of the later bands asked for are what bounds a band's area (and nothing beyond the last band does).

    Drawn on a grid, not by buffering and joining polygons: on the demo areas GEOS's union of the buffered pieces
    alone takes longer than OSMnx-style convex hulls. The pieces are sampled every half pixel, each sample labelled
    by its duty point and the first band whose pieces hold it (found on their edges when the pieces carry
    ``edge``, ``start_m`` and ``end_m``, as :func:`reached_pieces`' do; else each piece's own band). One Euclidean
    distance transform gives every pixel its nearest sample; an area is where the larger of two levels is at most
    0, filled by contourpy: the distance to that sample less ``buffer_m``, and, on pixels where a pixel up to two
    steps away carries another label, the distance to the nearest sample in the area less the distance to the
    nearest one outside it (both among those pixels' samples). That difference is 0 on
    the bisector of the two samples and is the same number with the sign turned for the area across, so two duty
    points' areas share their border; where three meet the areas can leave a sliver of a pixel between them but
    never overlap. Near the outline the distance is measured again to the street's segments around the nearest
    sample, so the outline lies on average within about a metre of the exact buffer at the default pixel (on the
    demo areas' 5-minute bands 0.4 m in Monaco at 10 m pixels, 1.4 m in Liechtenstein at 25 m), and within a
    pixel where two streets' buffers meet in a notch.

    Parameters
    ----------
    pixel_m
        The grid's pixel (metres). Default: about :data:`BAND_PIXELS` pixels over the pieces' extent, between
        ``buffer_m / 10`` and ``buffer_m / 2``.

    Returns
    -------
    GeoDataFrame
        ``minutes``, ``origin``, ``area_m2`` and the polygon (the pieces' CRS), by band then origin.

    Examples
    --------
    Two duty points at the ends of a 1 km street, everything reached within a minute: the street's 20 m
    buffer, split down the middle.

    >>> pieces = gpd.GeoDataFrame({"minutes": [1, 1], "origin": [0, 1]},
    ...     geometry=[shapely.LineString([(0, 0), (500, 0)]), shapely.LineString([(500, 0), (1000, 0)])])
    >>> areas = band_areas(pieces, buffer_m=20.0)
    >>> [(int(o), round(a / (500 * 40 + 3.1416 * 400 / 2), 2)) for o, a in zip(areas["origin"], areas["area_m2"])]
    [(0, 1.0), (1, 1.0)]
    """
    geoms = pieces.geometry.to_numpy()
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    if not keep.any():
        return _no_areas(pieces.crs)
    frame, geoms = (pieces, geoms) if keep.all() else (pieces[keep], geoms[keep])
    bands, band_idx = np.unique(frame["minutes"].to_numpy().astype(np.int64), return_inverse=True)
    owners, owner_idx = np.unique(frame["origin"].to_numpy().astype(np.int64), return_inverse=True)
    n_owners, n_labels = len(owners), len(bands) * len(owners)
    b = float(buffer_m)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    if pixel_m is None:
        extent = (x1 - x0 + 2 * b) * (y1 - y0 + 2 * b)
        pixel_m = float(np.clip(np.sqrt(extent / BAND_PIXELS), b / 10, b / 2))
    p = float(pixel_m)
    xy, band, owner, piece = _band_samples(frame, geoms, band_idx, owner_idx, p / 2)
    label = band * n_owners + owner

    # The grid: the buffer and six pixels around the samples (neighbours two pixels off stay on it). Each pixel
    # holding samples seeds the distance transform with one of them (the outline is measured again below).
    lo = np.array([x0, y0]) - (b + 6 * p)
    nx = int(np.ceil((x1 + b + 6 * p - lo[0]) / p)) + 1
    ny = int(np.ceil((y1 + b + 6 * p - lo[1]) / p)) + 1
    ij = np.rint((xy - lo) / p).astype(np.int64)
    key = ij[:, 1] * nx + ij[:, 0]
    feature = np.full(ny * nx, -1, dtype=np.int32)
    feature[key] = np.arange(len(key))
    background = feature < 0
    rows, cols = ndimage.distance_transform_edt(background.reshape(ny, nx), return_distances=False, return_indices=True)
    # The pixels that matter: a grid cell's diagonal or less beyond the buffer (a sample lies within half a
    # diagonal of its seed's centre). Every corner of a cell an area enters is one of them.
    reach_px = b / p + 2.2
    near = (rows - np.arange(ny)[:, None]) ** 2 + (cols - np.arange(nx)[None, :]) ** 2 <= reach_px**2
    idx = np.flatnonzero(near)
    sample = np.full(ny * nx, -1, dtype=np.int32)
    sample[idx] = feature[rows.ravel()[idx] * nx + cols.ravel()[idx]]
    gx, gy = lo[0] + p * np.arange(nx), lo[1] + p * np.arange(ny)
    beyond = np.full(ny * nx, p)  # the other pixels are farther than the buffer: any positive level will do
    beyond[idx] = np.hypot(gx[idx % nx] - xy[sample[idx], 0], gy[idx // nx] - xy[sample[idx], 1]) - b
    # Near the outline the distance to the street itself, not to the nearest seed's sample: a seed stands up to
    # half a pixel's diagonal from its sample, so that sample can be a pixel and a half farther than the nearest.
    # The nearest of the samples of the pixel and its eight neighbours, then the nearest point of the segments
    # two samples either side of it on its piece.
    # (Only pixels whose level can be on either side of 0 from a neighbour's, the measured one at most a pixel and
    # a half above the true: the level changes by at most a pixel from one pixel to the next.)
    rim = idx[(beyond[idx] > -1.2 * p) & (beyond[idx] < 2.5 * p)]
    at = (gx[rim % nx] + 1j * gy[rim // nx])[:, None]
    z = xy[:, 0] + 1j * xy[:, 1]
    around8 = sample[rim[:, None] + np.array([0, 1, -1, nx, -nx])]
    d8 = np.where(around8 >= 0, np.abs(at - z[around8]), np.inf)
    nearest = d8.argmin(axis=1)
    s = around8[np.arange(len(rim)), nearest]
    sample[rim] = s
    best = d8[np.arange(len(rim)), nearest]
    at = at[:, 0]
    for step in (-2, -1, 0, 1):
        a_, b_ = np.clip(s + step, 0, len(xy) - 1), np.clip(s + step + 1, 0, len(xy) - 1)
        seg = z[b_] - z[a_]
        seg2 = seg.real**2 + seg.imag**2
        t = np.clip(np.divide(((at - z[a_]) * seg.conj()).real, seg2, out=np.zeros(len(rim)), where=seg2 > 0), 0, 1)
        best = np.minimum(best, np.where(piece[a_] == piece[b_], np.abs(at - z[a_] - t * seg), np.inf))
    beyond[rim] = best - b
    lab = np.full(ny * nx, -1, dtype=np.int32)
    lab[idx] = label[sample[idx]]

    # Pixels on a border between labels: the labels of the pixels up to two steps away (a diamond of 13) and the
    # distances to their samples (a pixel outside the near ones has none). Two neighbours thus see each other's
    # four neighbours: an area one of them is near is never missing from the other's reckoning, which keeps
    # two areas from overlapping across the pixel between them.
    # Such a pixel is one with another label among its four neighbours, or next to one: found on the grid by
    # comparing shifted views, not pixel by pixel.
    lab2d = lab.reshape(ny, nx)
    has = lab2d >= 0
    across = np.zeros((ny, nx), dtype=bool)
    for a, b_ in (
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
        ((slice(1, None),), (slice(None, -1),)),
    ):
        change = (lab2d[a] != lab2d[b_]) & has[a] & has[b_]
        across[a] |= change
        across[b_] |= change
    mixed = across.copy()
    mixed[:, 1:] |= across[:, :-1]
    mixed[:, :-1] |= across[:, 1:]
    mixed[1:] |= across[:-1]
    mixed[:-1] |= across[1:]
    m_pix = np.flatnonzero(mixed & has)
    around = m_pix[:, None] + np.array([0, 1, -1, nx, -nx, 2, -2, 2 * nx, -2 * nx, nx + 1, nx - 1, 1 - nx, -1 - nx])
    m_lab, m_sample = lab[around], sample[around]
    m_dist = np.hypot(gx[m_pix % nx][:, None] - xy[m_sample, 0], gy[m_pix // nx][:, None] - xy[m_sample, 1])
    m_dist[m_lab < 0] = np.inf
    # Each duty point's border pixels (those with one of its labels around them).
    row_of, col_of = np.nonzero(m_lab >= 0)
    present = np.zeros((n_owners, len(m_pix)), dtype=bool)
    present[m_lab[row_of, col_of] % n_owners, row_of] = True
    border_of = [np.flatnonzero(present[j]) for j in range(n_owners)]

    # Each label's samples' extent: an area is drawn on the window around its labels' samples.
    low = np.full((n_labels, 2), np.inf)
    high = np.full((n_labels, 2), -np.inf)
    by_label = np.argsort(label, kind="stable")
    present, starts = np.unique(label[by_label], return_index=True)
    low[present] = np.minimum.reduceat(xy[by_label], starts, axis=0)
    high[present] = np.maximum.reduceat(xy[by_label], starts, axis=0)
    beyond2d = beyond.reshape(ny, nx)
    label_band, label_owner = np.arange(n_labels) // n_owners, np.arange(n_labels) % n_owners
    # Deep inside or outside an area (no sample around on the other side): farther than any difference of two
    # distances to samples around a near pixel can be, so no border is drawn nearer to it than the samples say.
    deep = b + 6 * p

    lab_window = lab2d + 1  # labels shifted so that -1 (no label) indexes a set's first entry, always outside
    out: list[tuple[int, int, shapely.Geometry]] = []
    for j, o in enumerate(owners):
        # This duty point's border pixels, gathered once for its bands.
        rows_j = border_of[j]
        here, dist_j = m_lab[rows_j] + 1, m_dist[rows_j]
        pix_r, pix_c = m_pix[rows_j] // nx, m_pix[rows_j] % nx
        for k, m in enumerate(bands):
            member = np.append(False, (label_band <= k) & (label_owner == j))  # by label + 1
            if not np.isfinite(low[member[1:]]).any():
                continue
            (wx0, wy0), (wx1, wy1) = low[member[1:]].min(axis=0), high[member[1:]].max(axis=0)
            c0, c1 = max(int((wx0 - b - lo[0]) / p) - 3, 0), min(int((wx1 + b - lo[0]) / p) + 4, nx)
            r0, r1 = max(int((wy0 - b - lo[1]) / p) - 3, 0), min(int((wy1 + b - lo[1]) / p) + 4, ny)
            window_lab = lab_window[r0:r1, c0:c1]
            inside = np.where(member, -deep, deep)[window_lab]
            is_in = member[here]
            d_in = np.where(is_in, dist_j, np.inf).min(axis=1)
            d_out = np.where(~is_in & (here > 0), dist_j, np.inf).min(axis=1)
            # Only inside (or outside) samples around: deep in (or out of) the area as far as this border goes.
            level = d_in - d_out
            level = np.where(np.isfinite(level), level, np.where(d_in < np.inf, -deep, deep))
            r, c = pix_r - r0, pix_c - c0
            ok = (r >= 0) & (r < r1 - r0) & (c >= 0) & (c < c1 - c0)
            inside[r[ok], c[ok]] = level[ok]
            level = np.maximum(beyond2d[r0:r1, c0:c1], inside)
            # A border through a grid point: the point goes to its own side, so neither area leaves it out (and
            # no ring closes through a point: a region of no area).
            on = level == 0.0
            level[on] = np.where(member[window_lab[on]], -1e-9, 1e-9)
            geom = _filled(level, (gx[c0], gy[r0]), p)
            if geom is not None:
                out.append((int(m), int(o), geom))
    out.sort(key=lambda x: (x[0], x[1]))
    if not out:
        return _no_areas(pieces.crs)
    m_col, o_col, polys = zip(*out)
    area = np.round(shapely.area(np.array(polys, dtype=object)), 1)
    return gpd.GeoDataFrame({"minutes": m_col, "origin": o_col, "area_m2": area}, geometry=list(polys), crs=pieces.crs)


def _band_samples(
    frame: pd.DataFrame, geoms: np.ndarray, band_idx: np.ndarray, owner_idx: np.ndarray, spacing: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` or less along the pieces, in order along each: the first band whose pieces hold
    each point, its owner, and which line it was sampled on.

    Pieces with ``edge``, ``start_m`` and ``end_m`` are sampled once, along the last band's (which hold every
    earlier band's), and each sample takes the first band with a piece over its place on its edge; other pieces
    are sampled each with its own band.
    """
    if not {"edge", "start_m", "end_m"} <= set(frame.columns) or band_idx.max() == 0:
        xy, which, _ = _along(geoms, spacing)
        return xy, band_idx[which], owner_idx[which], which
    edge = frame["edge"].to_numpy().astype(np.int64)
    start = frame["start_m"].to_numpy().astype(float)
    end = frame["end_m"].to_numpy().astype(float)
    last = np.flatnonzero(band_idx == band_idx.max())
    xy, which, along = _along(geoms[last], spacing)
    at = last[which]
    q_edge, q_pos = edge[at], start[at] + along
    band, owner = band_idx[at].copy(), owner_idx[at].copy()
    scale = float(end.max()) + 1.0  # edge * scale + metres: one sortable key per place on the network
    for k in range(int(band_idx.max()) - 1, -1, -1):
        r = np.flatnonzero(band_idx == k)
        if not len(r):
            continue
        keys = edge[r] * scale + start[r]
        o = np.argsort(keys)
        i = np.searchsorted(keys[o], q_edge * scale + q_pos + 1e-6, side="right") - 1
        piece = r[o[np.maximum(i, 0)]]
        hit = (i >= 0) & (edge[piece] == q_edge) & (q_pos <= end[piece] + 1e-6)
        band[hit], owner[hit] = k, owner_idx[piece[hit]]
    return xy, band, owner, which


def _along(lines: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along lines no farther apart than ``spacing`` (their vertices included), the line of each, and
    how far along it each lies.

    Examples
    --------
    >>> lines = np.array([shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(0, 5), (0, 7), (3, 7)])])
    >>> xy, which, along = _along(lines, 4.0)
    >>> np.round(xy, 2).tolist(), which.tolist()
    ([[0.0, 0.0], [3.33, 0.0], [6.67, 0.0], [10.0, 0.0], [0.0, 5.0], [0.0, 7.0], [3.0, 7.0]], [0, 0, 0, 0, 1, 1, 1])
    >>> np.round(along, 2).tolist()
    [0.0, 3.33, 6.67, 10.0, 0.0, 2.0, 5.0]
    """
    coords, line = shapely.get_coordinates(lines, return_index=True)
    if len(coords) < 2:
        return coords, line, np.zeros(len(coords))
    a, b = coords[:-1], coords[1:]
    same = line[:-1] == line[1:]
    seg_len = np.where(same, np.hypot(*(b - a).T), 0.0)
    steps = np.where(same, np.ceil(seg_len / spacing), 0).astype(np.int64)
    # Each segment gives its start and the points inside it; each line's last vertex closes it.
    count = steps + ~same  # a segment's points, or the closing vertex at a line's end
    count = np.append(count, 1)
    seg = np.repeat(np.arange(len(count)), count)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    start = coords[seg]
    nxt = coords[np.minimum(seg + 1, len(coords) - 1)]
    frac = np.where(seg < len(steps), k / np.maximum(np.append(steps, 1)[seg], 1), 0.0)
    frac = np.where(np.append(same, False)[seg], frac, 0.0)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])  # along all lines, a line's first vertex starting it
    starts = np.append(True, ~same)
    vertex_along = cum - cum[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    along = vertex_along[seg] + frac * np.append(seg_len, 0.0)[seg]
    return start + frac[:, None] * (nxt - start), line[seg], along


def _filled(level: np.ndarray, origin: tuple[float, float], pixel: float) -> shapely.Geometry | None:
    """Where a grid's level is at most 0, as a valid (multi)polygon (None when empty).

    ``level[r, c]`` is the level at ``origin + pixel * (c, r)``. contourpy's generator is built directly: its
    ``contour_generator`` checks and masks the grid in numpy first, which costs more than the contouring.
    """
    # Close every contour: the window's border is outside. (No level may be exactly 0: a ring would close through
    # that grid point, a region of no area; the caller gives such points to a side.)
    level[[0, -1], :] = np.maximum(level[[0, -1], :], 1.0)
    level[:, [0, -1]] = np.maximum(level[:, [0, -1]], 1.0)
    index = np.indices(level.shape, dtype=np.float64)
    no_mask: Any = None  # the stubs want a mask array; None is what contour_generator passes for none
    filled = contourpy.SerialContourGenerator(
        index[1],
        index[0],
        np.ascontiguousarray(level, dtype=np.float64),
        no_mask,
        corner_mask=True,
        line_type=contourpy.LineType.Separate,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,  # one chunk: all rings in three arrays
        quad_as_tri=False,
        z_interp=contourpy.ZInterp.Linear,
    ).filled(-1e300, 0.0)
    points, offsets, outer = (chunks[0] for chunks in cast(tuple[list[np.ndarray], ...], filled))
    if points is None or not len(points):
        return None
    coords = points * pixel + np.asarray(origin)
    ring_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    poly_of = np.repeat(np.arange(len(outer) - 1), np.diff(outer))
    polys = shapely.polygons(shapely.linearrings(coords, indices=ring_of), indices=poly_of)
    # The regions of one level are disjoint: the multipolygon is valid when each polygon is.
    if not shapely.is_valid(polys).all():
        polys = shapely.get_parts(polygonal(shapely.make_valid(shapely.multipolygons(polys))))
    return shapely.multipolygons(polys) if len(polys) > 1 else polys[0]


def _no_areas(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"minutes": [], "origin": [], "area_m2": []}, geometry=[], crs=crs)


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """A geometry made valid and kept to its polygons (overlay leftovers: slivers of lines and points dropped).

    Examples
    --------
    >>> bow = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # a bow tie: invalid
    >>> g = polygonal(bow)
    >>> g.geom_type, g.is_valid, g.area
    ('MultiPolygon', True, 2.0)
    """
    parts = shapely.get_parts(shapely.make_valid(geom))
    polys = [q for q in parts if q.geom_type in ("Polygon", "MultiPolygon")]
    flat = [x for q in polys for x in shapely.get_parts(q)]
    return shapely.MultiPolygon(flat) if len(flat) != 1 else flat[0]
