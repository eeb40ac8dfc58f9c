"""Patrol routes as postman problems: the shortest closed walk over every required street, and k balanced ones.

A grid worker's route (DOMAIN §5) starts at the grid office, walks every
required street at least once, passes every required stop (key places) and
comes back. On the walking network (undirected) that is:

**Chinese postman** when the required streets, the stops and the start form one
connected piece: the route is the required edges plus a minimum-weight
*T-join* of their odd-degree nodes (the repeated walking), found exactly by a
minimum-weight perfect matching (pymatching's sparse blossom) on the network
itself with integer millimetre weights. The repeated walking may use any
street of the network, inside the grid or not.

**Rural postman** (the general routing problem) when they form several
pieces: the pieces must be joined by streets that need not be walked for
themselves. An upper bound comes from joining the pieces by a minimum spanning
tree of the shortest ways between them, then a T-join. The exact answer comes
from HiGHS: an integer model of how often each street is walked again
(0, 1 or 2 times: a third pass can always be dropped with the first), with
parity at every node and connectivity cuts added as they are violated, over
the streets no farther from the required nodes than half the upper bound's
repeated walking (no optimal route can reach farther). Within the time limit
it is proven optimal; beyond, the best route found is kept with the model's
lower bound and the gap.

The route itself is an Euler tour (Hierholzer) of the walked multigraph from
the start. Points that are not network nodes (an office, a key place) split
their edge, so a route starts and passes exactly there.

**k balanced routes** (police and joint patrols): route first, cluster second —
the single optimal tour from the base is cut into k consecutive pieces that
minimise the longest closed route (a dynamic programme over the tour's nodes,
each piece closed by the shortest ways from and back to the base), each
piece's streets are then routed again on their own, and streets move between
routes while the longest gets shorter. The lower bound is the larger of the
single optimum (or its lower bound) ÷ k and the longest out-and-back to one
required street.

Examples
--------
A 100 × 100 m square of streets with a 50 m spur: every node of the square
has degree 2 except the spur's foot, so the spur is walked twice.

>>> from shapely.geometry import LineString, Point
>>> from geo.networks import build_network
>>> roads = gpd.GeoDataFrame({"highway": ["residential"] * 5}, geometry=[
...     LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 100)]),
...     LineString([(100, 100), (0, 100)]), LineString([(0, 100), (0, 0)]),
...     LineString([(100, 0), (150, 0)])], crs="EPSG:32632")
>>> net = build_network(roads, mode="walk")
>>> route = postman_route(net, np.arange(net.n_edges), start=Point(0, 0))
>>> route.length_m, route.required_length_m, route.optimal, route.method
(500.0, 450.0, True, 'chinese_postman')
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import geopandas as gpd  # noqa: F401 - the examples build their roads with it
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from geo.errors import DisconnectedStreetsError, NoStreetsError, OfficeOffNetworkError
from geo.networks import RoadNetwork, snap_to_edges
from geo.solver import quiet_stdout

Method = Literal["chinese_postman", "rural_postman"]
_MM = 1000.0  # weights for the matching are whole millimetres: exact sums, no float ties
_SNAP_TO_NODE_M = 0.5  # a point this close to an edge's end is at that node (no split)


# --------------------------------------------------------------------------- the street graph with split points


@dataclass(frozen=True, eq=False)
class StreetGraph:
    """The network with some edges split at points (an office, key places): nodes and edge pieces.

    ``edge_source`` is the network edge each piece comes from; ``edge_f0`` / ``edge_f1`` are the
    piece's ends as fractions along that edge from its start node (``f0 < f1``); the piece runs
    from ``edge_u`` (at ``f0``) to ``edge_v`` (at ``f1``). Unsplit edges keep their number.
    """

    net: RoadNetwork
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_source: np.ndarray
    edge_f0: np.ndarray
    edge_f1: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes (network nodes first, then split points)."""
        return int(len(self.node_xy))

    @property
    def n_edges(self) -> int:
        """Number of edge pieces."""
        return int(len(self.edge_u))

    def matrix(self) -> sp.csr_matrix:
        """Symmetric lengths (the shortest of parallel pieces), for Dijkstra."""
        if "matrix" not in self._cache:
            loop = self.edge_u == self.edge_v
            u, v, w = self.edge_u[~loop], self.edge_v[~loop], self.edge_length_m[~loop]
            uu, vv, ww = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
            order = np.lexsort((ww, vv, uu))
            uu, vv, ww = uu[order], vv[order], ww[order]
            first = np.ones(len(uu), dtype=bool)
            first[1:] = (uu[1:] != uu[:-1]) | (vv[1:] != vv[:-1])
            # Zero-length pieces would vanish from a sparse matrix: a micrometre keeps them as arcs.
            self._cache["matrix"] = sp.csr_matrix(
                (np.maximum(ww[first], 1e-6), (uu[first], vv[first])), shape=(self.n_nodes, self.n_nodes)
            )
        out: sp.csr_matrix = self._cache["matrix"]
        return out

    def best_edge(self, a: int, b: int) -> int:
        """The shortest piece between two adjacent nodes."""
        if "pairs" not in self._cache:
            pairs: dict[tuple[int, int], int] = {}
            for e in np.argsort(-self.edge_length_m, kind="stable"):  # shortest last, so it wins
                u, v = int(self.edge_u[e]), int(self.edge_v[e])
                pairs[(min(u, v), max(u, v))] = int(e)
            self._cache["pairs"] = pairs
        got: int = self._cache["pairs"][(min(a, b), max(a, b))]
        return got

    def components(self) -> np.ndarray:
        """Connected component of every node."""
        if "components" not in self._cache:
            n = self.n_nodes
            adj = sp.coo_matrix((np.ones(self.n_edges), (self.edge_u, self.edge_v)), shape=(n, n))
            self._cache["components"] = connected_components(adj, directed=False)[1]
        out: np.ndarray = self._cache["components"]
        return out

    def piece_geometry(self, e: int) -> shapely.LineString:
        """The piece's line from ``edge_u`` to ``edge_v``."""
        geoms: dict[int, shapely.LineString] = self._cache.setdefault("geoms", {})
        if e not in geoms:
            line = self.net.edge_geometry[self.edge_source[e]]
            f0, f1 = float(self.edge_f0[e]), float(self.edge_f1[e])
            if f0 <= 0.0 and f1 >= 1.0:
                geoms[e] = line
            else:
                geoms[e] = shapely.ops.substring(line, f0, f1, normalized=True)
        return geoms[e]


def split_network(net: RoadNetwork, points: Sequence[Any]) -> tuple[StreetGraph, np.ndarray, np.ndarray]:
    """Split the network's edges where points meet it (each on the nearest edge of the largest component).

    Returns
    -------
    graph, nodes, distance_m
        The street graph, the node of each point (-1 for an empty geometry) and how far the point is from it.
    """
    import shapely.ops  # noqa: F401 - substring lives there

    ent = snap_to_edges(net, list(points)) if len(points) else None
    n0 = net.n_nodes
    node_xy = [net.node_xy]
    keep = np.ones(net.n_edges, dtype=bool)
    pu: list[int] = []
    pv: list[int] = []
    pl: list[float] = []
    ps: list[int] = []
    p0: list[float] = []
    p1: list[float] = []
    nodes = np.full(len(points), -1, dtype=np.int64)
    dist = np.full(len(points), np.nan)
    if ent is not None:
        by_edge: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for k in np.flatnonzero(ent.edge >= 0):
            by_edge[int(ent.edge[k])].append((float(ent.offset_m[k]), int(k)))
        dist = ent.distance_m.copy()
        next_node = n0
        extra: list[tuple[float, float]] = []
        for e, hits in sorted(by_edge.items()):
            length = float(net.edge_length_m[e])
            u, v = int(net.edge_u[e]), int(net.edge_v[e])
            cuts: list[tuple[float, int]] = []  # (offset, node) inside the edge
            for offset, hit in sorted(hits):
                i = int(hit)
                if offset <= _SNAP_TO_NODE_M:
                    nodes[i] = u
                elif offset >= length - _SNAP_TO_NODE_M:
                    nodes[i] = v
                elif cuts and offset - cuts[-1][0] <= _SNAP_TO_NODE_M:
                    nodes[i] = cuts[-1][1]
                else:
                    p = shapely.line_interpolate_point(net.edge_geometry[e], offset)
                    extra.append((p.x, p.y))
                    cuts.append((offset, next_node))
                    nodes[i] = next_node
                    next_node += 1
            if not cuts:
                continue
            keep[e] = False
            stops = [(0.0, u), *cuts, (length, v)]
            for (oa, na), (ob, nb) in zip(stops[:-1], stops[1:]):
                pu.append(na)
                pv.append(nb)
                pl.append(ob - oa)
                ps.append(e)
                p0.append(oa / length if length else 0.0)
                p1.append(ob / length if length else 1.0)
        if extra:
            node_xy.append(np.array(extra))
    kept = np.flatnonzero(keep)
    graph = StreetGraph(
        net=net,
        node_xy=np.vstack(node_xy),
        edge_u=np.concatenate([net.edge_u[kept], np.array(pu, dtype=np.int64)]),
        edge_v=np.concatenate([net.edge_v[kept], np.array(pv, dtype=np.int64)]),
        edge_length_m=np.concatenate([net.edge_length_m[kept], np.array(pl, dtype=float)]),
        edge_source=np.concatenate([kept, np.array(ps, dtype=np.int64)]),
        edge_f0=np.concatenate([np.zeros(len(kept)), np.array(p0, dtype=float)]),
        edge_f1=np.concatenate([np.ones(len(kept)), np.array(p1, dtype=float)]),
    )
    return graph, nodes, dist


# --------------------------------------------------------------------------- T-joins, Euler tours


def odd_nodes(graph: StreetGraph, counts: np.ndarray) -> np.ndarray:
    """Nodes of odd degree in the multigraph where piece ``e`` appears ``counts[e]`` times (loops add 2)."""
    deg = np.bincount(graph.edge_u, weights=counts, minlength=graph.n_nodes) + np.bincount(
        graph.edge_v, weights=counts, minlength=graph.n_nodes
    )
    out: np.ndarray = np.flatnonzero(np.round(deg).astype(np.int64) % 2 == 1)
    return out


def min_t_join(graph: StreetGraph, terminals: np.ndarray) -> np.ndarray:
    """A minimum-length set of pieces whose odd-degree nodes are exactly ``terminals`` (0/1 per piece).

    Solved exactly as a minimum-weight perfect matching by pymatching's sparse blossom on the graph
    itself (no all-pairs distances), weights in whole millimetres. Every component must hold an even
    number of terminals.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> from geo.networks import build_network
    >>> roads = gpd.GeoDataFrame({"highway": ["residential"] * 3}, geometry=[LineString([(0, 0), (10, 0)]),
    ...     LineString([(10, 0), (30, 0)]), LineString([(0, 0), (0, 5)])], crs="EPSG:32632")
    >>> g, _, _ = split_network(build_network(roads, mode="walk"), [])
    >>> ends = [int(np.flatnonzero((g.node_xy == xy).all(axis=1))[0]) for xy in [(0, 0), (10, 0)]]
    >>> int(min_t_join(g, np.array(ends)) @ g.edge_length_m)  # between the ends of the 10 m street
    10
    """
    out = np.zeros(graph.n_edges, dtype=np.int64)
    if not len(terminals):
        return out
    if "matching" not in graph._cache:
        import pymatching

        loop = graph.edge_u == graph.edge_v
        cand = np.flatnonzero(~loop)
        # Of parallel pieces, only the shortest can be in a minimum T-join.
        a, b = np.minimum(graph.edge_u[cand], graph.edge_v[cand]), np.maximum(graph.edge_u[cand], graph.edge_v[cand])
        order = np.lexsort((graph.edge_length_m[cand], b, a))
        cand, a, b = cand[order], a[order], b[order]
        first = np.ones(len(cand), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        cand = cand[first]
        m = len(cand)
        check = sp.csc_matrix(
            (
                np.ones(2 * m, dtype=np.uint8),
                (np.concatenate([graph.edge_u[cand], graph.edge_v[cand]]), np.tile(np.arange(m), 2)),
            ),
            shape=(graph.n_nodes, m),
        )
        weights = np.round(graph.edge_length_m[cand] * _MM)
        matching = pymatching.Matching.from_check_matrix(check, weights=weights)
        graph._cache["matching"] = (matching, cand)
    matching, cand = graph._cache["matching"]
    syndrome = np.zeros(graph.n_nodes, dtype=np.uint8)
    syndrome[terminals] = 1
    pairs = matching.decode_to_edges_array(syndrome)
    for a_, b_ in pairs:
        out[graph.best_edge(int(a_), int(b_))] += 1
    del cand
    return out


def euler_tour(graph: StreetGraph, counts: np.ndarray, start: int) -> list[tuple[int, bool]]:
    """A closed walk from ``start`` using piece ``e`` exactly ``counts[e]`` times (Hierholzer).

    Returns the walk as (piece, forward) pairs; forward means from ``edge_u`` to ``edge_v``.
    The multigraph must be connected (on the pieces used) with every degree even.

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> from geo.networks import build_network
    >>> roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (10, 0)])],
    ...                          crs="EPSG:32632")
    >>> g, _, _ = split_network(build_network(roads, mode="walk"), [])
    >>> euler_tour(g, np.array([2]), 0)
    [(0, True), (0, False)]
    """
    adj: dict[int, list[int]] = defaultdict(list)
    remaining = counts.astype(np.int64).copy()
    for piece in np.flatnonzero(remaining > 0):
        u, v = int(graph.edge_u[piece]), int(graph.edge_v[piece])
        for _ in range(int(remaining[piece])):
            adj[u].append(int(piece))
            if u != v:
                adj[v].append(int(piece))
    if not remaining.sum():
        return []
    # Prefer leaving by the longest pieces last: the stack pops from the end, so a worker finishes a street
    # before turning back along a short one (a cosmetic choice; any order gives the same length).
    for node in adj:
        adj[node].sort(key=lambda e: (-graph.edge_length_m[e], e))
    stack: list[tuple[int, int, bool]] = [(start, -1, True)]
    tour: list[tuple[int, bool]] = []
    while stack:
        node, via, fwd = stack[-1]
        edges = adj[node]
        while edges and remaining[edges[-1]] == 0:
            edges.pop()
        if edges:
            e = int(edges.pop())
            remaining[e] -= 1
            u, v = int(graph.edge_u[e]), int(graph.edge_v[e])
            if u == node:
                stack.append((v, e, True))
            else:
                stack.append((u, e, False))
        else:
            stack.pop()
            if via >= 0:
                tour.append((via, fwd))
    tour.reverse()
    return tour


def tour_nodes(graph: StreetGraph, tour: Sequence[tuple[int, bool]], start: int) -> np.ndarray:
    """The nodes a tour passes, from the start to its return (one more than its steps)."""
    out = [start]
    for e, fwd in tour:
        out.append(int(graph.edge_v[e] if fwd else graph.edge_u[e]))
    return np.array(out, dtype=np.int64)


# --------------------------------------------------------------------------- the route


@dataclass(frozen=True, eq=False)
class PostmanRoute:
    """A closed walk covering required pieces and stops from a start node.

    ``counts`` is how often each piece of ``graph`` is walked; ``required`` marks the required pieces;
    ``tour`` the walk as (piece, forward) steps. ``lower_bound_m`` is a proven lower bound on the
    shortest such walk (equal to ``length_m`` when ``optimal``); ``gap`` = (length − bound) ÷ length.
    ``unreachable`` lists network edges that were required but lie on no way from the start.
    """

    graph: StreetGraph
    start: int
    required: np.ndarray
    stops: np.ndarray
    counts: np.ndarray
    tour: list[tuple[int, bool]]
    method: Method
    optimal: bool
    lower_bound_m: float
    seconds: float
    unreachable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def length_m(self) -> float:
        """The walk's length (metres, rounded to the millimetre)."""
        return round(float(self.counts @ self.graph.edge_length_m), 3)

    @property
    def required_length_m(self) -> float:
        """Length of the required streets (each once)."""
        return round(float(self.graph.edge_length_m[self.required].sum()), 3)

    @property
    def gap(self) -> float:
        """(length − lower bound) ÷ length: 0 when proven optimal."""
        if self.optimal or self.length_m <= 0:
            return 0.0
        return max(0.0, round((self.length_m - self.lower_bound_m) / self.length_m, 4))

    def traversals(self) -> dict[int, int]:
        """How often each required network edge is walked end to end (the least over its pieces)."""
        out: dict[int, int] = {}
        for e in np.flatnonzero(self.required):
            src = int(self.graph.edge_source[e])
            c = int(self.counts[e])
            out[src] = min(out.get(src, c), c)
        return dict(sorted(out.items()))

    def nodes(self) -> np.ndarray:
        """The nodes the walk passes, in order."""
        return tour_nodes(self.graph, self.tour, self.start)


def _dijkstra_from(graph: StreetGraph, sources: np.ndarray, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    dist, pred, _ = dijkstra(
        graph.matrix(), directed=False, indices=sources, min_only=True, limit=limit, return_predecessors=True
    )
    return dist, pred


def _path_pieces(graph: StreetGraph, pred: np.ndarray, target: int) -> list[int]:
    out: list[int] = []
    node = target
    while pred[node] >= 0:
        out.append(graph.best_edge(int(pred[node]), node))
        node = int(pred[node])
    return out


def _required_pieces(graph: StreetGraph, required_edges: np.ndarray) -> np.ndarray:
    wanted = np.zeros(graph.net.n_edges, dtype=bool)
    wanted[np.asarray(required_edges, dtype=np.int64)] = True
    out: np.ndarray = wanted[graph.edge_source]
    return out


def _pieces_components(graph: StreetGraph, counts: np.ndarray, extra_nodes: np.ndarray) -> list[np.ndarray]:
    """Node sets of the connected pieces of the walked multigraph, with lone nodes that must be visited."""
    used = np.flatnonzero(counts > 0)
    touched = np.unique(np.concatenate([graph.edge_u[used], graph.edge_v[used], extra_nodes]).astype(np.int64))
    if not len(touched):
        return []
    index = {int(n): i for i, n in enumerate(touched)}
    k = len(touched)
    rows = [index[int(x)] for x in graph.edge_u[used]]
    cols = [index[int(x)] for x in graph.edge_v[used]]
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(k, k))
    ncomp, label = connected_components(adj, directed=False)
    return [touched[label == c] for c in range(ncomp)]


def postman_route(
    net: RoadNetwork,
    required_edges: Sequence[int] | np.ndarray,
    *,
    start: Any,
    stops: Sequence[Any] = (),
    time_limit_s: float = 10.0,
    max_start_distance_m: float = np.inf,
    graph: tuple[StreetGraph, np.ndarray, np.ndarray] | None = None,
) -> PostmanRoute:
    """The shortest closed walk from ``start`` over every required edge and past every stop.

    Parameters
    ----------
    required_edges
        Network edge indices to walk end to end.
    start
        A point (metric CRS): it meets the network at the nearest point of the largest component's nearest
        edge, where the route starts and ends.
    stops
        Points the route must pass (key places), met the same way.
    time_limit_s
        For the exact rural-postman model; beyond it the best route found is kept with a lower bound.
    max_start_distance_m
        A start farther than this from the network is refused.
    graph
        A prepared ``split_network(net, [start, *stops])`` result (the k-route solver reuses one).

    Raises
    ------
    NoStreetsError
        No required edge and no stop.
    OfficeOffNetworkError
        The start is farther than ``max_start_distance_m`` from the network, or on no network at all.
    DisconnectedStreetsError
        None of the required streets can be reached from the start.
    """
    t0 = time.perf_counter()
    required_edges = np.unique(np.asarray(required_edges, dtype=np.int64))
    if not len(required_edges) and not len(stops):
        raise NoStreetsError(
            "There are no required streets to patrol", detail_zh="没有需要巡查的街道", required_edges=0
        )
    g, nodes, dist = graph if graph is not None else split_network(net, [start, *stops])
    s = int(nodes[0])
    if s < 0 or not dist[0] <= max_start_distance_m:
        far = None if s < 0 or not np.isfinite(dist[0]) else round(float(dist[0]), 1)
        raise OfficeOffNetworkError(
            f"The route's start is {far} m from the walking network (at most {max_start_distance_m:g} m)"
            if far is not None
            else "The route's start does not meet the walking network",
            detail_zh=f"巡查起点距步行路网 {far} 米（上限 {max_start_distance_m:g} 米）"
            if far is not None
            else "巡查起点不在步行路网上",
            distance_m=far,
            limit_m=None if not np.isfinite(max_start_distance_m) else max_start_distance_m,
        )
    comp = g.components()
    required = _required_pieces(g, required_edges)
    on_side = required & (comp[g.edge_u] == comp[s])
    unreachable = np.unique(g.edge_source[required & ~on_side])
    required = on_side
    stop_nodes = np.unique(nodes[1:][(nodes[1:] >= 0)])
    stop_nodes = stop_nodes[comp[stop_nodes] == comp[s]]
    if len(required_edges) and not required.any():
        raise DisconnectedStreetsError(
            f"None of the {len(required_edges)} required streets can be reached from the start on the walking network",
            detail_zh=f"从起点沿步行路网无法到达任何一条需巡查的街道（共 {len(required_edges)} 条）",
            required_edges=int(len(required_edges)),
            unreachable_edges=[int(e) for e in unreachable[:50]],
        )
    route = _route_on(
        g, s, np.flatnonzero(required), stops=stop_nodes, time_limit_s=time_limit_s, unreachable=unreachable
    )
    return replace(route, seconds=round(time.perf_counter() - t0, 4))


def _connect(graph: StreetGraph, counts: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Join the pieces of a walk by a minimum spanning tree of the shortest ways between them, then a T-join."""
    pieces = _pieces_components(graph, counts, anchor)
    k = len(pieces)
    out = counts.copy()
    if k > 1:
        between = np.full((k, k), np.inf)
        paths: dict[tuple[int, int], list[int]] = {}
        for i, nodes in enumerate(pieces):
            dist, pred = _dijkstra_from(graph, nodes)
            for j in range(k):
                if j == i:
                    continue
                target = int(pieces[j][np.argmin(dist[pieces[j]])])
                if dist[target] < between[i, j]:
                    between[i, j] = dist[target]
                    paths[(i, j)] = _path_pieces(graph, pred, target)
        weights = np.where(np.isfinite(between), np.maximum(between, 1e-6), 0.0)
        tree = minimum_spanning_tree(sp.csr_matrix(weights))
        for i, j in zip(*tree.nonzero()):
            for e in paths[(int(i), int(j))]:
                out[e] += 1
    joined: np.ndarray = out + min_t_join(graph, odd_nodes(graph, out))
    return joined


def _drop_redundant(graph: StreetGraph, counts: np.ndarray, required: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """Walk no street more often than needed: drop pairs of passes that keep the walk closed and connected."""
    out = counts.copy()
    need = required.astype(np.int64)
    # Three passes or more: two can always go (parity and connectivity stay).
    extra = out - np.maximum(need, 1)
    out -= 2 * np.maximum(extra // 2, 0) * (out > 0)
    for e in np.flatnonzero((out == 2) & ~required)[np.argsort(-graph.edge_length_m[(out == 2) & ~required])]:
        out[e] = 0
        if len(_pieces_components(graph, out, anchor)) > 1:
            out[e] = 2
    return out


def _heuristic(graph: StreetGraph, base: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """The better of two constructions: join the pieces then fix parity, or fix parity then join what is left."""
    required = base > 0
    first = _drop_redundant(graph, _connect(graph, base, anchor), required, anchor)
    paired = base + min_t_join(graph, odd_nodes(graph, base))
    second = _drop_redundant(graph, _connect(graph, paired, anchor), required, anchor)
    return first if first @ graph.edge_length_m <= second @ graph.edge_length_m else second


@dataclass
class _Exact:
    counts: np.ndarray | None
    bound: float
    proven: bool
    stats: dict[str, Any]


def _rural_exact(
    graph: StreetGraph,
    base: np.ndarray,
    pieces: list[np.ndarray],
    upper: np.ndarray,
    *,
    time_limit_s: float,
    max_nodes: int = 600,
) -> _Exact:
    """The rural postman exactly, on the graph of shortest ways between required nodes (Christofides' reduction).

    Nodes are the required nodes (ends of required pieces, stops, the start); a link joins two of them along
    a shortest way that passes no other required node (a link through one is two links). Variables: extra
    passes x_l in {0, 1, 2} per link (a third can always be dropped with the first), parity per node, and
    connectivity cuts (every set of pieces that is not all of them is crossed at least twice), added as
    HiGHS's answers violate them. Links longer than the heuristic's repeated walking are never worth it.
    """
    import highspy

    t0 = time.perf_counter()
    length = graph.edge_length_m
    nodes = np.unique(np.concatenate(pieces))
    # Parity alone is a bound: the required streets plus a minimum T-join of their odd nodes.
    bound = float((base + min_t_join(graph, odd_nodes(graph, base))) @ length)
    stats: dict[str, Any] = {"parity_bound_m": round(bound, 1), "cuts": 0, "rounds": 0, "exact_nodes": len(nodes)}
    if time_limit_s <= 0:
        return _Exact(None, bound, False, stats)
    if len(nodes) > max_nodes:
        stats["exact_skipped"] = f"{len(nodes)} required nodes, more than {max_nodes}"
        return _Exact(None, bound, False, stats)
    dead_ub = float((upper - base) @ length)
    dist, pred = dijkstra(graph.matrix(), directed=False, indices=nodes, limit=dead_ub + 1e-6, return_predecessors=True)
    d = dist[:, nodes]
    k = len(nodes)
    # A link i-j is dominated when some other required node lies on a way as short (up to a millimetre).
    dominated = np.zeros((k, k), dtype=bool)
    for m in range(k):
        via = d[:, m][:, None] + d[m, :][None, :]
        hit = via <= d + 1e-3
        hit[m, :] = False
        hit[:, m] = False
        dominated |= hit
    iu, ju = np.triu_indices(k, 1)
    keep = np.isfinite(d[iu, ju]) & ~dominated[iu, ju] & (d[iu, ju] <= dead_ub + 1e-6)
    li, lj = iu[keep], ju[keep]
    cost = d[li, lj]
    nl = len(li)
    stats["exact_links"] = int(nl)
    with quiet_stdout():
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    h.addVars(nl + k, np.zeros(nl + k), np.concatenate([np.full(nl, 2.0), np.full(k, inf)]))
    h.changeColsCost(nl + k, np.arange(nl + k, dtype=np.int32), np.concatenate([cost, np.zeros(k)]))
    h.changeColsIntegrality(nl + k, np.arange(nl + k, dtype=np.int32), np.full(nl + k, highspy.HighsVarType.kInteger))
    deg_base = np.bincount(graph.edge_u, weights=base, minlength=graph.n_nodes) + np.bincount(
        graph.edge_v, weights=base, minlength=graph.n_nodes
    )
    parity = np.round(deg_base[nodes]).astype(np.int64) % 2
    incident: list[list[int]] = [[] for _ in range(k)]
    for c in range(nl):
        incident[int(li[c])].append(c)
        incident[int(lj[c])].append(c)
    for r in range(k):
        idx = np.array([*incident[r], nl + r], dtype=np.int32)
        h.addRow(float(parity[r]), float(parity[r]), len(idx), idx, np.array([1.0] * len(incident[r]) + [-2.0]))
    position = {int(n): i for i, n in enumerate(nodes)}

    def cut(node_set: np.ndarray) -> None:
        member = np.zeros(k, dtype=bool)
        member[[position[int(n)] for n in node_set if int(n) in position]] = True
        crossing = np.flatnonzero(member[li] != member[lj]).astype(np.int32)
        h.addRow(2.0, inf, len(crossing), crossing, np.ones(len(crossing)))
        stats["cuts"] += 1

    for p in pieces:
        cut(p)
    best: np.ndarray | None = None
    proven = False
    base_len = float(base @ length)
    while True:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            break
        h.setOptionValue("time_limit", float(left))
        if h.run() == highspy.HighsStatus.kError:
            # Another HiGHS in this process started the shared thread scheduler with more threads than the one
            # asked for here: HiGHS refuses to run until it is reset.
            highspy.Highs.resetThreadScheduler(True)
            h.run()
        stats["rounds"] += 1
        info = h.getInfo()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            bound = max(bound, base_len + float(info.objective_function_value))
        elif np.isfinite(info.mip_dual_bound):
            bound = max(bound, base_len + float(info.mip_dual_bound))
        if info.primal_solution_status == 0:
            break
        x = np.round(np.array(h.getSolution().col_value)[:nl]).astype(np.int64)
        counts = base.copy()
        for link in np.flatnonzero(x > 0):
            a_, b_ = int(li[link]), int(lj[link])
            for e in _path_pieces(graph, pred[a_], int(nodes[b_])):
                counts[e] += int(x[link])
        parts = _pieces_components(graph, counts, nodes)
        if len(parts) == 1:
            best = counts
            proven = status == highspy.HighsModelStatus.kOptimal
            break
        if status != highspy.HighsModelStatus.kOptimal:
            break
        for p in parts:
            cut(p)
    stats["exact_seconds"] = round(time.perf_counter() - t0, 3)
    return _Exact(best, bound, proven, stats)


# --------------------------------------------------------------------------- k balanced routes


@dataclass(frozen=True, eq=False)
class BalancedRoutes:
    """k closed routes from one base that together walk every required street.

    ``lower_bound_m`` bounds the longest route from below: the larger of the single route's lower bound
    ÷ k and the longest out-and-back to one required street.
    """

    routes: list[PostmanRoute]
    single: PostmanRoute
    lower_bound_m: float
    seconds: float

    @property
    def longest_m(self) -> float:
        """The longest route's length."""
        return max(r.length_m for r in self.routes)

    @property
    def ratio(self) -> float:
        """Longest ÷ lower bound (1.0 is proven balanced and optimal)."""
        return round(self.longest_m / self.lower_bound_m, 4) if self.lower_bound_m > 0 else 1.0


def out_and_back_bound(graph: StreetGraph, start: int, required: np.ndarray) -> float:
    """The longest of the shortest closed walks from ``start`` over one required piece (a bound on any route)."""
    if not required.any():
        return 0.0
    dist, _ = _dijkstra_from(graph, np.array([start]))
    e = np.flatnonzero(required)
    walk = dist[graph.edge_u[e]] + graph.edge_length_m[e] + dist[graph.edge_v[e]]
    finite = walk[np.isfinite(walk)]
    return float(finite.max()) if len(finite) else 0.0


def balanced_routes(
    net: RoadNetwork,
    required_edges: Sequence[int] | np.ndarray,
    *,
    base: Any,
    k: int,
    time_limit_s: float = 10.0,
    max_start_distance_m: float = np.inf,
    improve_rounds: int = 20,
    candidates: int = 4,
) -> BalancedRoutes:
    """k closed routes from ``base`` over the required edges, the longest as short as the heuristic finds.

    Route first (the optimal single tour), cluster second (cut it into k pieces minimising the longest
    closed route, by dynamic programming over its nodes), then route each piece's streets again on their
    own and move streets from the longest route to another while that shortens the longest.

    Raises
    ------
    NoStreetsError, OfficeOffNetworkError, DisconnectedStreetsError
        As :func:`postman_route`.
    """
    t0 = time.perf_counter()
    if k < 1:
        raise ValueError("k must be at least 1")
    prepared = split_network(net, [base])
    single = postman_route(
        net,
        required_edges,
        start=base,
        time_limit_s=time_limit_s,
        max_start_distance_m=max_start_distance_m,
        graph=prepared,
    )
    return split_route(
        single, k, time_limit_s=time_limit_s, improve_rounds=improve_rounds, candidates=candidates, started=t0
    )


def split_route(
    single: PostmanRoute,
    k: int,
    *,
    time_limit_s: float = 10.0,
    improve_rounds: int = 20,
    candidates: int = 4,
    started: float | None = None,
) -> BalancedRoutes:
    """Cut a closed route into k closed routes from its start, the longest as short as the heuristic finds.

    The required streets and stops of ``single`` are shared out (each to the route that passed it first
    along the single tour, cut where the dynamic programme says), each route is routed again on its own,
    and streets move from the longest route to the nearest other while that shortens the longest.
    """
    t0 = started if started is not None else time.perf_counter()
    g, s = single.graph, single.start
    bound = max(single.lower_bound_m / k, out_and_back_bound(g, s, single.required))
    if k == 1:
        return BalancedRoutes([single], single, round(bound, 3), round(time.perf_counter() - t0, 4))
    dist, _ = _dijkstra_from(g, np.array([s]))
    nodes = single.nodes()
    step = np.array([g.edge_length_m[e] for e, _ in single.tour])
    along = np.concatenate([[0.0], np.cumsum(step)])
    back = dist[nodes]
    m = len(nodes)
    # best[j][b]: the least possible longest route when the first j routes cover the tour up to node b.
    best = np.full((k + 1, m), np.inf)
    choice = np.zeros((k + 1, m), dtype=np.int64)
    best[0][0] = 0.0
    for j in range(1, k + 1):
        for b in range(m):
            # a route covering tour steps a..b: from the base to node a, along the tour, back from node b
            costs = np.maximum(best[j - 1][: b + 1], back[: b + 1] + (along[b] - along[: b + 1]) + back[b])
            a = int(np.argmin(costs))
            best[j][b], choice[j][b] = costs[a], a
    cuts = [m - 1]
    for j in range(k, 0, -1):
        cuts.append(int(choice[j][cuts[-1]]))
    cuts.reverse()
    steps_of = [range(cuts[j], cuts[j + 1]) for j in range(k)]
    # Each required piece goes to the route that walked it first.
    owner = np.full(g.n_edges, -1, dtype=np.int64)
    for j, steps in enumerate(steps_of):
        for t in steps:
            e = single.tour[t][0]
            if single.required[e] and owner[e] < 0:
                owner[e] = j
    assign = [np.flatnonzero(owner == j) for j in range(k)]
    # Each stop goes to the route that passed it first.
    stop_owner: dict[int, int] = {}
    for j, steps in enumerate(steps_of):
        for t in steps:
            node = int(nodes[t + 1])
            if node in set(single.stops.tolist()):
                stop_owner.setdefault(node, j)
    stops_of = [np.array([n for n, j2 in stop_owner.items() if j2 == j], dtype=np.int64) for j in range(k)]

    def route_of(j: int, pieces: np.ndarray, limit: float = 0.0) -> PostmanRoute | None:
        # While streets move between routes each candidate is routed by the heuristic alone (exact models
        # would cost seconds per try); the final routes get the exact model's time.
        if not len(pieces) and not len(stops_of[j]):
            return None
        return _route_on(g, s, pieces, stops=stops_of[j], time_limit_s=limit)

    routes = [route_of(j, p) for j, p in enumerate(assign)]
    improved = 0
    for _ in range(improve_rounds):
        lengths = [r.length_m if r is not None else 0.0 for r in routes]
        worst = int(np.argmax(lengths))
        r_worst = routes[worst]
        if r_worst is None:
            break
        moved = False
        # Try moving the worst route's pieces farthest from the base (at the edge of its territory) to the
        # route nearest to them, keeping the move when the longest route gets shorter.
        mine = assign[worst]
        mid = (dist[g.edge_u[mine]] + dist[g.edge_v[mine]]) / 2
        for e in mine[np.argsort(-mid)][:candidates]:
            others = [j for j in range(k) if j != worst]
            near_j = min(others, key=lambda j: _distance_to_route(g, routes[j], int(e)))
            new_worst = assign[worst][assign[worst] != e]
            new_other = np.append(assign[near_j], e)
            rw, ro = route_of(worst, new_worst), route_of(near_j, new_other)
            lw = rw.length_m if rw is not None else 0.0
            lo = ro.length_m if ro is not None else 0.0
            new_max = max([lw, lo] + [lengths[j] for j in range(k) if j not in (worst, near_j)])
            if new_max < max(lengths) - 1e-6:
                assign[worst], assign[near_j] = new_worst, new_other
                routes[worst], routes[near_j] = rw, ro
                moved = True
                improved += 1
                break
        if not moved:
            break
    done = []
    for j, r in enumerate(routes):
        if r is None:
            continue
        if not r.optimal and time_limit_s > 0:
            again = route_of(j, assign[j], time_limit_s / k)
            r = again if again is not None and again.length_m <= r.length_m else r
        done.append(r)
    for r in done:
        r.stats["moves"] = improved
    return BalancedRoutes(done, single, round(bound, 3), round(time.perf_counter() - t0, 4))


def _distance_to_route(graph: StreetGraph, route: PostmanRoute | None, piece: int) -> float:
    if route is None:
        return math.inf
    used = np.flatnonzero(route.counts > 0)
    pts = graph.node_xy[np.concatenate([graph.edge_u[used], graph.edge_v[used]])]
    mid = (graph.node_xy[graph.edge_u[piece]] + graph.node_xy[graph.edge_v[piece]]) / 2
    return float(np.min(np.hypot(*(pts - mid).T))) if len(pts) else math.inf


def _route_on(
    graph: StreetGraph,
    start: int,
    pieces: np.ndarray,
    *,
    stops: np.ndarray | None = None,
    time_limit_s: float,
    stats: dict[str, Any] | None = None,
    unreachable: np.ndarray | None = None,
) -> PostmanRoute:
    """The postman route on a prepared graph from ``start`` over some pieces and past some stop nodes."""
    t0 = time.perf_counter()
    required = np.zeros(graph.n_edges, dtype=bool)
    required[np.asarray(pieces, dtype=np.int64)] = True
    stop_nodes = np.zeros(0, dtype=np.int64) if stops is None else np.asarray(stops, dtype=np.int64)
    base = required.astype(np.int64)
    anchor = np.concatenate([stop_nodes, [start]]).astype(np.int64)
    parts = _pieces_components(graph, base, anchor)
    stats = {} if stats is None else stats
    stats.update(pieces=len(parts), odd_nodes=int(len(odd_nodes(graph, base))))
    if len(parts) <= 1:
        counts = base + min_t_join(graph, odd_nodes(graph, base))
        method: Method = "chinese_postman"
        optimal, bound = True, float(counts @ graph.edge_length_m)
    else:
        method = "rural_postman"
        counts = _heuristic(graph, base, anchor)
        stats["heuristic_m"] = round(float(counts @ graph.edge_length_m), 1)
        left = max(0.0, time_limit_s - (time.perf_counter() - t0))
        exact = _rural_exact(graph, base, parts, counts, time_limit_s=left)
        stats.update(exact.stats)
        if exact.counts is not None and exact.counts @ graph.edge_length_m < counts @ graph.edge_length_m - 1e-6:
            counts = exact.counts
        length = float(counts @ graph.edge_length_m)
        optimal = exact.proven and abs(length - exact.bound) < 1e-3
        bound = length if optimal else min(exact.bound, length)
    return PostmanRoute(
        graph=graph,
        start=start,
        required=required,
        stops=stop_nodes,
        counts=counts,
        tour=euler_tour(graph, counts, start),
        method=method,
        optimal=bool(optimal),
        lower_bound_m=round(bound, 3),
        seconds=round(time.perf_counter() - t0, 4),
        unreachable=np.zeros(0, dtype=np.int64) if unreachable is None else unreachable,
        stats=stats,
    )


def route_line(route: PostmanRoute) -> shapely.LineString:
    """The route as one line in walking order (metric CRS), from the start back to it."""
    coords: list[np.ndarray] = []
    g = route.graph
    for e, fwd in route.tour:
        c = shapely.get_coordinates(g.piece_geometry(e))
        if not fwd:
            c = c[::-1]
        coords.append(c if not coords else c[1:])
    if not coords:
        xy = g.node_xy[route.start]
        return shapely.LineString([xy, xy])
    return shapely.LineString(np.vstack(coords))
