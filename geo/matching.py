"""GPS tracks matched to the walking network: a hidden Markov model (Newson & Krumm, 2009).

Each GPS point may lie on any street within ``radius_m`` (the candidates, from
the network's spatial index). A candidate's emission is Gaussian in its
distance to the point (``sigma_m``); a move from one candidate to the next is
likely when the way along the network is about as long as the straight line
between the two points (exponential in the difference, scale ``beta_m``).
The most likely sequence comes from Viterbi, vectorised with numpy over the
candidates of consecutive points; the network distances come from a bounded
Dijkstra (scipy) over the streets near each chunk of the track. A point with
no candidate, a gap longer than ``break_s`` or a new GPX segment breaks the
track: matching starts again after it.

Examples
--------
>>> from shapely.geometry import LineString
>>> from geo.networks import build_network
>>> roads = gpd.GeoDataFrame({"highway": ["residential", "residential"]},
...     geometry=[LineString([(0, 0), (200, 0)]), LineString([(0, 30), (200, 30)])], crs="EPSG:32632")
>>> net = build_network(roads, mode="walk")
>>> xy = np.column_stack([np.arange(0, 200, 20.0), np.full(10, 4.0)])
>>> m = match_points(net, xy, np.arange(10) * 15.0)
>>> sorted(set(net.edge_geometry[m.edge].tolist()))[0].wkt  # every point on the street at y = 0
'LINESTRING (0 0, 200 0)'
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import geopandas as gpd  # noqa: F401 - the examples build their roads with it
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.networks import RoadNetwork


@dataclass(frozen=True)
class Matched:
    """The matched street of every point (-1 where none), where on it, and the streets walked between points.

    ``offset_m`` is along the edge from its start node; ``covered_m`` is how many metres of each street the
    matched path walked (the ways between consecutive points included); ``walked`` lists the streets walked
    for at least ``min_share`` of their length.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    distance_m: np.ndarray
    breaks: int
    walked: np.ndarray
    covered_m: dict[int, float] = field(default_factory=dict)


def _candidates(
    net: RoadNetwork, xy: np.ndarray, radius_m: float, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Up to k nearest edges within the radius per point: (point, edge, offset, distance), sorted by point."""
    pts = shapely.points(xy)
    pi, ei = net.edge_tree.query(pts, predicate="dwithin", distance=radius_m)
    if not len(pi):
        empty = np.zeros(0)
        return pi, ei, empty, empty
    lines = net.edge_geometry[ei]
    d = shapely.distance(pts[pi], lines)
    order = np.lexsort((ei, d, pi))
    pi, ei, d = pi[order], ei[order], d[order]
    rank = np.arange(len(pi)) - np.searchsorted(pi, pi)  # position within its point's list
    keep = rank < k
    pi, ei, d = pi[keep], ei[keep], d[keep]
    off = shapely.line_locate_point(net.edge_geometry[ei], pts[pi])
    return pi, ei, off, d


def match_points(
    net: RoadNetwork,
    xy: np.ndarray,
    time_s: np.ndarray,
    *,
    segment: np.ndarray | None = None,
    sigma_m: float = 10.0,
    radius_m: float = 50.0,
    beta_m: float = 5.0,
    break_s: float = 300.0,
    candidates: int = 8,
    chunk: int = 256,
    min_share: float = 0.5,
) -> Matched:
    """Match a track's points (metric CRS, times in seconds) to the network's edges.

    Returns
    -------
    Matched
        The edge of each point and the streets walked.
    """
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    if not n or not net.n_edges:
        return Matched(edge, offset, dist, 0, np.zeros(0, dtype=np.int64), {})
    pi, ei, off, d = _candidates(net, xy, radius_m, candidates)
    starts = np.searchsorted(pi, np.arange(n + 1))
    emis = -0.5 * (d / sigma_m) ** 2
    seg = np.zeros(n, dtype=np.int64) if segment is None else np.asarray(segment)
    step_m = np.hypot(*np.diff(xy, axis=0).T) if n > 1 else np.zeros(0)
    gap = np.diff(time_s) if n > 1 else np.zeros(0)
    cut = np.zeros(n, dtype=bool)  # a break before point i
    if n > 1:
        cut[1:] = (gap > break_s) | (seg[1:] != seg[:-1])
    cut |= starts[1:] == starts[:-1]  # no candidate: nothing to carry over
    length = net.edge_length_m
    to_u, to_v = off, length[ei] - off
    cu_row, cv_row = np.zeros(len(ei), dtype=np.int64), np.zeros(len(ei), dtype=np.int64)
    cu_pos, cv_pos = np.zeros(len(ei), dtype=np.int64), np.zeros(len(ei), dtype=np.int64)
    arcs = net.arcs("length")
    # Viterbi over chunks; each chunk computes network distances among its candidates' end nodes.
    back: list[np.ndarray | None] = [None] * n
    scores: list[np.ndarray | None] = [None] * n
    score: np.ndarray | None = None
    breaks = 0
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        lo, hi = starts[max(c0 - 1, 0)], starts[c1]
        cand_edges = ei[lo:hi]
        if len(cand_edges):
            ends = np.unique(np.concatenate([net.edge_u[cand_edges], net.edge_v[cand_edges]]))
            limit = float(np.max(step_m[max(c0 - 1, 0) : c1 - 1], initial=0.0)) * 3 + 2 * radius_m + 50.0
            local = _local_nodes(net, xy[max(c0 - 1, 0) : c1], limit)
            local = np.union1d(local, ends)
            pos = np.full(net.n_nodes, -1, dtype=np.int64)
            pos[local] = np.arange(len(local))
            sub = arcs[local][:, local]
            src = pos[ends]
            dmat = dijkstra(sub, directed=False, indices=src, limit=limit)
            row_of = np.full(net.n_nodes, -1, dtype=np.int64)
            row_of[ends] = np.arange(len(ends))
            # each candidate's end nodes as rows (sources) and columns (local nodes) of this chunk's distances
            cu_row[lo:hi], cv_row[lo:hi] = row_of[net.edge_u[cand_edges]], row_of[net.edge_v[cand_edges]]
            cu_pos[lo:hi], cv_pos[lo:hi] = pos[net.edge_u[cand_edges]], pos[net.edge_v[cand_edges]]
        for t in range(c0, c1):
            a0, a1 = starts[t], starts[t + 1]
            if a1 == a0:
                score = None
                continue
            e_t = emis[a0:a1]
            if score is None or cut[t]:
                breaks += 1 if t > 0 else 0
                score = e_t.copy()
                back[t] = None
                scores[t] = score
                continue
            p0, p1 = starts[t - 1], starts[t]
            ea, oa = ei[p0:p1], off[p0:p1]
            eb, ob = ei[a0:a1], off[a0:a1]
            # gather only the candidates' pairs (whole rows of the chunk's distances would be copied per point)
            ru, rv = cu_row[p0:p1, None], cv_row[p0:p1, None]
            bu, bv = cu_pos[None, a0:a1], cv_pos[None, a0:a1]
            fu, fv = to_u[p0:p1, None], to_v[p0:p1, None]
            tu, tv = to_u[None, a0:a1], to_v[None, a0:a1]
            best = np.minimum(
                np.minimum(fu + dmat[ru, bu] + tu, fu + dmat[ru, bv] + tv),
                np.minimum(fv + dmat[rv, bu] + tu, fv + dmat[rv, bv] + tv),
            )
            same = ea[:, None] == eb[None, :]
            best = np.where(same, np.minimum(best, np.abs(oa[:, None] - ob[None, :])), best)
            trans = -np.abs(best - step_m[t - 1]) / beta_m
            total = score[:, None] + trans
            arg = np.argmax(total, axis=0)
            new = total[arg, np.arange(len(eb))] + e_t
            if not np.isfinite(new).any():
                breaks += 1
                score = e_t.copy()
                back[t] = None
                scores[t] = score
                continue
            score = new
            back[t] = arg
            scores[t] = score
    # backtrack every run from its end
    t = n - 1
    while t >= 0:
        a0, a1 = starts[t], starts[t + 1]
        if a1 == a0:
            t -= 1
            continue
        last = scores[t]
        j = int(np.argmax(last)) if last is not None else 0
        while True:
            k = starts[t] + j
            edge[t], offset[t], dist[t] = ei[k], off[k], d[k]
            arg = back[t]
            if arg is None:
                break
            j = int(arg[j])
            t -= 1
        t -= 1
    walked, covered = _walked(net, xy, edge, offset, cut, min_share, radius_m, chunk)
    return Matched(edge, offset, dist, breaks, walked, covered)


def _local_nodes(net: RoadNetwork, xy: np.ndarray, margin: float) -> np.ndarray:
    x0, y0 = xy.min(axis=0) - margin
    x1, y1 = xy.max(axis=0) + margin
    hits = net.edge_tree.query(shapely.box(x0, y0, x1, y1))
    return np.unique(np.concatenate([net.edge_u[hits], net.edge_v[hits]]))


def _walked(
    net: RoadNetwork,
    xy: np.ndarray,
    edge: np.ndarray,
    offset: np.ndarray,
    cut: np.ndarray,
    min_share: float,
    radius_m: float,
    chunk: int,
) -> tuple[np.ndarray, dict[int, float]]:
    """How much of each street the matched path walked, and the streets walked for the most part.

    Between consecutive matched points the walker went along the shortest way from the one to the other
    (through the ends of their streets that make it shortest): the part of the first street to its end, whole
    streets between, and the part of the second from its end. A point near a junction matched a few metres into
    a side street adds those metres, not the side street. The ways come from a bounded Dijkstra per chunk of
    moves over the streets near them (as the Viterbi's distances): over the whole network, its rows of every node
    cost more than the matching itself.
    """
    intervals: dict[int, list[tuple[float, float]]] = defaultdict(list)
    length = net.edge_length_m
    idx = np.flatnonzero(edge >= 0)
    for i in idx:
        intervals[int(edge[i])].append((float(offset[i]), float(offset[i])))
    if len(idx) >= 2:
        a, b = idx[:-1], idx[1:]
        joined = ~cut[b] & (b == a + 1)
        same = joined & (edge[a] == edge[b])
        for i, j in zip(a[same], b[same]):
            lo, hi = sorted((float(offset[i]), float(offset[j])))
            intervals[int(edge[i])].append((lo, hi))
        moves = [(int(i), int(j)) for i, j in zip(a[joined & ~same], b[joined & ~same])]
        arcs = net.arcs("length")
        lookup = _edge_lookup(net) if moves else {}
        pos = np.full(net.n_nodes, -1, dtype=np.int64)
        for c0 in range(0, len(moves), chunk):
            part = moves[c0 : c0 + chunk]
            firsts = np.array([i for i, _ in part], dtype=np.int64)
            seconds = np.array([j for _, j in part], dtype=np.int64)
            ends = np.unique(np.concatenate([net.edge_u[edge[firsts]], net.edge_v[edge[firsts]]]).astype(np.int64))
            targets = np.concatenate([net.edge_u[edge[seconds]], net.edge_v[edge[seconds]]]).astype(np.int64)
            # a way much longer than the straight line between the two fixes is not what the Viterbi chose
            limit = float(np.hypot(*(xy[seconds] - xy[firsts]).T).max(initial=0.0)) * 3 + 2 * radius_m + 50.0
            local = np.union1d(
                _local_nodes(net, np.vstack([xy[firsts], xy[seconds]]), limit), np.concatenate([ends, targets])
            )
            pos[local] = np.arange(len(local))
            dmat, pred = dijkstra(
                arcs[local][:, local], directed=False, indices=pos[ends], return_predecessors=True, limit=limit
            )
            row = {int(n): r for r, n in enumerate(ends)}
            for first, second in part:
                ea, eb = int(edge[first]), int(edge[second])
                oa, ob = float(offset[first]), float(offset[second])
                best: tuple[float, int, int] | None = None
                for s, at_s in ((int(net.edge_u[ea]), 0.0), (int(net.edge_v[ea]), float(length[ea]))):
                    for t, at_t in ((int(net.edge_u[eb]), 0.0), (int(net.edge_v[eb]), float(length[eb]))):
                        c = abs(oa - at_s) + dmat[row[s], pos[t]] + abs(ob - at_t)
                        if np.isfinite(c) and (best is None or c < best[0]):
                            best = (c, s, t)
                if best is None:
                    continue
                _, s, t = best
                at_s = 0.0 if s == int(net.edge_u[ea]) else float(length[ea])
                at_t = 0.0 if t == int(net.edge_u[eb]) else float(length[eb])
                intervals[ea].append((min(oa, at_s), max(oa, at_s)))
                intervals[eb].append((min(ob, at_t), max(ob, at_t)))
                r = row[s]
                node = int(pos[t])
                while pred[r, node] >= 0:
                    p_local = int(pred[r, node])
                    a_node, b_node = int(local[p_local]), int(local[node])
                    e = lookup[(min(a_node, b_node), max(a_node, b_node))]
                    intervals[e].append((0.0, float(length[e])))
                    node = p_local
            pos[local] = -1
    covered: dict[int, float] = {}
    for e, spans in intervals.items():
        spans.sort()
        total, cur_lo, cur_hi = 0.0, spans[0][0], spans[0][1]
        for lo, hi in spans[1:]:
            if lo > cur_hi:
                total += cur_hi - cur_lo
                cur_lo, cur_hi = lo, hi
            else:
                cur_hi = max(cur_hi, hi)
        total += cur_hi - cur_lo
        covered[e] = min(total, float(length[e]))
    walked = np.array(sorted(e for e, c in covered.items() if c >= min_share * float(length[e]) - 1e-9), dtype=np.int64)
    return walked, covered


def _edge_lookup(net: RoadNetwork) -> dict[tuple[int, int], int]:
    key = "_matching_pairs"
    cached = net._cache.get(key)
    if cached is None:
        cached = {}
        for e in np.argsort(-net.edge_length_m, kind="stable"):
            u, v = int(net.edge_u[e]), int(net.edge_v[e])
            cached[(min(u, v), max(u, v))] = int(e)
        net._cache[key] = cached
    out: dict[tuple[int, int], int] = cached
    return out
