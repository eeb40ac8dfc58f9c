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
reached within each band, cut where time runs out, buffered, and split between
duty points where their areas meet.

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

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
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
    who = np.concatenate([np.arange(m), owner[inside], np.arange(m)])
    pos = np.concatenate([start_m, along[inside], end_m])
    xy = np.vstack([p0, coords[inside], p1])
    order = np.lexsort((pos, who))
    out: np.ndarray = shapely.linestrings(xy[order], indices=who[order])
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
    rows: list[pd.DataFrame] = []
    for m in sorted(set(int(x) for x in minutes)):
        limit = m * 60.0
        with np.errstate(invalid="ignore"):
            from_u = np.clip(np.where(np.isfinite(leave_u), (limit - leave_u) / rate, 0.0), 0, length)
            from_v = np.clip(np.where(np.isfinite(leave_v), (limit - leave_v) / rate, 0.0), 0, length)
        end_u = np.minimum(from_u, meet)
        start_v = np.maximum(length - from_v, meet)
        a = np.flatnonzero(end_u > 0)
        b = np.flatnonzero(start_v < length)
        parts = [
            pd.DataFrame({"edge": a, "start_m": 0.0, "end_m": end_u[a], "origin": reach.node_origin[u[a]]}),
            pd.DataFrame({"edge": b, "start_m": start_v[b], "end_m": length[b], "origin": reach.node_origin[v[b]]}),
        ]
        frame = pd.concat(parts, ignore_index=True)
        if len(live):
            # Edges holding a duty point: who gets where first along them, exactly (few edges, one loop each).
            own = np.unique(o.edge[live])
            frame = frame[~np.isin(frame["edge"].to_numpy(), own)]
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
                frame = pd.concat(
                    [frame, pd.DataFrame(rows_own, columns=["edge", "start_m", "end_m", "origin"])], ignore_index=True
                )
        frame = frame[frame["end_m"] - frame["start_m"] > 1e-6]
        frame.insert(0, "minutes", m)
        rows.append(frame)
    pieces = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({"minutes": [], "edge": [], "start_m": [], "end_m": [], "origin": []})
    )
    edges = pieces["edge"].to_numpy(dtype=np.int64)
    geometry = _substrings(
        net.edge_geometry[edges], pieces["start_m"].to_numpy(dtype=float), pieces["end_m"].to_numpy(dtype=float)
    )
    return gpd.GeoDataFrame(pieces.reset_index(drop=True), geometry=geometry, crs=net.crs)


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


def band_areas(pieces: gpd.GeoDataFrame, *, buffer_m: float) -> gpd.GeoDataFrame:
    """The area of each band around the reached pieces, one polygon per band and duty point.

    The pieces of one duty point within one band are buffered by ``buffer_m`` and
    joined; where two duty points' areas overlap, the overlap goes to the one whose
    reached street is nearer (a Voronoi split of points along both sides' streets),
    so the areas of one band never overlap.

    Returns
    -------
    GeoDataFrame
        ``minutes``, ``origin``, ``area_m2`` and the polygon (the pieces' CRS), by band then origin.
    """
    out: list[dict[str, object]] = []
    for m, band in pieces.groupby("minutes", sort=True):
        owners = sorted(int(x) for x in band["origin"].unique())
        geoms = band.geometry.to_numpy()
        who = band["origin"].to_numpy()
        lines = {o: shapely.multilinestrings(geoms[who == o]) for o in owners}
        # Each piece buffered on its own, then joined: GEOS buffers a multi-line twenty times slower. The pieces
        # are simplified to 2 m first: invisible under a tens-of-metres buffer, and a third fewer vertices.
        areas = {
            o: shapely.union_all(shapely.buffer(shapely.simplify(geoms[who == o], 2.0), buffer_m, quad_segs=4))
            for o in owners
        }
        _split_overlaps(areas, lines, buffer_m)
        for o in owners:
            geom = polygonal(areas[o])
            if geom is not None and not geom.is_empty:
                out.append({"minutes": int(m), "origin": o, "area_m2": round(float(geom.area), 1), "geometry": geom})
    if not out:
        return gpd.GeoDataFrame({"minutes": [], "origin": [], "area_m2": []}, geometry=[], crs=pieces.crs)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=pieces.crs)


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


def _split_overlaps(areas: dict[int, shapely.Geometry], lines: dict[int, shapely.Geometry], buffer_m: float) -> None:
    """Give each overlap of two duty points' areas to the side whose reached street is nearer (in place)."""
    owners = list(areas)
    if len(owners) < 2:
        return
    geoms = np.array([areas[o] for o in owners], dtype=object)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    spacing = max(buffer_m / 10.0, 1.0)
    for i, j in zip(left, right):
        if i >= j:
            continue
        a, b = owners[i], owners[j]
        overlap = shapely.intersection(areas[a], areas[b])
        if overlap.is_empty or overlap.area < 1e-6:
            continue
        near = shapely.buffer(overlap, buffer_m)
        pts = []
        labels = []
        for k, o in enumerate((a, b)):
            xy = shapely.get_coordinates(shapely.segmentize(shapely.intersection(lines[o], near), spacing))
            pts.append(xy)
            labels.append(np.full(len(xy), k))
        xy = np.vstack(pts)
        label = np.concatenate(labels)
        if not len(xy):
            continue
        xy, first = np.unique(np.round(xy, 3), axis=0, return_index=True)
        label = label[first]
        if (label == 0).all() or (label == 1).all():
            keep_a = bool((label == 0).all())
        else:
            cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=near, ordered=True))
            side_a = shapely.intersection(overlap, shapely.union_all(cells[label == 0]))
            areas[a] = shapely.difference(areas[a], shapely.difference(overlap, side_a))
            areas[b] = shapely.difference(areas[b], side_a)
            continue
        if keep_a:
            areas[b] = shapely.difference(areas[b], overlap)
        else:
            areas[a] = shapely.difference(areas[a], overlap)
