"""GPS tracks matched to the walking network: a hidden Markov model (Newson & Krumm, 2009).

Each GPS point may lie on any street within ``radius_m`` (the candidates, from
the network's spatial index). A candidate's emission is Gaussian in its
distance to the point (``sigma_m``); a move from one candidate to the next is
likely when the way along the network is about as long as the straight line
between the two points (exponential in the difference, scale ``beta_m``).
A move whose way is longer than the straight line by more than
``MAX_DETOUR * beta_m`` is not scored (likelihood below e^-20). Any fix may be
an outlier, skipped at ``outlier_cost``: the Viterbi also moves from the point
before it to the point after it. The candidates sit in a (point, slot) table;
each chunk of the track gets its network distances from one Dijkstra (scipy)
over the streets near it, bounded by that detour, and the moves of all its
steps as one numpy block, so the Viterbi loop does one 2K x K max per point.
A point with no candidate, a gap longer than ``break_s`` or a new GPX segment
breaks the track: matching starts again after it.

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

# A move whose way along the network is longer than the straight line between its fixes by more than this many
# beta_m is given up (its likelihood, e^-20, loses to skipping the fix as an outlier or breaking the track): the
# Dijkstras stop there. On the synthetic tracks of Vaduz and Monaco the scores are the same as with no bound.
MAX_DETOUR = 20.0


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
    # the tree's boxes around each point, then one exact distance per pair (a "dwithin" query would compute the
    # distances once inside the tree and they would be needed again here)
    boxes = shapely.box(xy[:, 0] - radius_m, xy[:, 1] - radius_m, xy[:, 0] + radius_m, xy[:, 1] + radius_m)
    pi, ei = net.edge_tree.query(boxes)
    d = shapely.distance(pts[pi], net.edge_geometry[ei])
    near = d <= radius_m
    pi, ei, d = pi[near], ei[near], d[near]
    if not len(pi):
        empty = np.zeros(0)
        return pi, ei, empty, empty
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
    candidates: int = 12,
    chunk: int = 256,
    min_share: float = 0.5,
    outlier_cost: float = 4.0,
) -> Matched:
    """Match a track's points (metric CRS, times in seconds) to the network's edges.

    ``candidates`` is 12, not the usual 8: where sidewalks, crossings and steps are mapped as ways of their own
    (Monaco), a dozen edges meet within a few metres of a junction and the street truly walked can rank past
    the eighth.

    Any fix may be an outlier (a reflection off a wall, or a fix whose true way is not among its candidates,
    which happens in a dense mesh of footways and steps): the Viterbi may also go from the point before it
    straight to the point after it, at ``outlier_cost`` (log-likelihood), and the outlier takes its
    predecessor's place. Without it every candidate of such a fix may lie hundreds of network metres from the
    walk, and the path is dragged onto other ways to reach it, often for dozens of points before and after it.
    A 1% outlier rate would cost about 5.5 against this model's unnormalised scores (log 0.01 = -4.6, a fix
    uniform within the 50 m radius against the Gaussian's peak -2.5, one move fewer +1.6 at beta 5 m); 4 gives
    up a little more readily. On the synthetic tracks 2 scores a little better and 12 a little worse, both areas
    alike.

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
    # candidates as a (point, slot) table, -1 in empty slots: every step's transitions come as one K x K block
    k_max = max(int(np.max(np.diff(starts), initial=0)), 1)
    slot = np.arange(len(pi)) - starts[pi]
    cand = np.full((n, k_max), -1, dtype=np.int64)
    cand[pi, slot] = np.arange(len(pi))
    has = cand >= 0
    safe = np.where(has, cand, 0)
    emis = np.full((n, k_max), -np.inf)
    emis[pi, slot] = -0.5 * (d / sigma_m) ** 2
    seg = np.zeros(n, dtype=np.int64) if segment is None else np.asarray(segment)
    step_m = np.hypot(*np.diff(xy, axis=0).T) if n > 1 else np.zeros(0)
    gap = np.diff(time_s) if n > 1 else np.zeros(0)
    cut = np.zeros(n, dtype=bool)  # a break before point i
    if n > 1:
        cut[1:] = (gap > break_s) | (seg[1:] != seg[:-1])
    cut |= starts[1:] == starts[:-1]  # no candidate: nothing to carry over
    length = net.edge_length_m
    to_u, to_v = off, length[ei] - off
    detour_m = MAX_DETOUR * beta_m
    arcs = net.arcs("length")
    # moves[t] scores the moves to point t's candidates (columns): rows 0..K-1 from point t - 1's candidates,
    # rows K..2K-1 from point t - 2's, past point t - 1 as an outlier (within one run of the track; past_m[t - 2]
    # is the straight line between the two fixes)
    moves = np.full((n, 2 * k_max, k_max), -np.inf)
    past_m = np.hypot(*(xy[2:] - xy[:-2]).T) if n > 2 else np.zeros(0)
    may_skip = np.zeros(n, dtype=bool)
    may_skip[2:] = ~cut[1:-1] & ~cut[2:]
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        lo, hi = starts[max(c0 - 2, 0)], starts[c1]
        t0 = max(c0, 1)
        if hi == lo or t0 >= c1:
            continue
        cand_edges = ei[lo:hi]
        # each chunk computes network distances among its candidates' end nodes, over the streets near it
        ends = np.unique(np.concatenate([net.edge_u[cand_edges], net.edge_v[cand_edges]]))
        # a move whose way is longer than the straight line by more than detour_m is not worth scoring: the way
        # is at least the distance between the candidates' nearest ends
        straight = max(
            np.max(step_m[max(c0 - 1, 0) : c1 - 1], initial=0.0), np.max(past_m[max(c0 - 2, 0) : c1 - 2], initial=0.0)
        )
        limit = float(straight) + detour_m
        local = _local_nodes(net, xy[max(c0 - 2, 0) : c1], limit)
        local = np.union1d(local, ends)
        pos = np.full(net.n_nodes, -1, dtype=np.int64)
        pos[local] = np.arange(len(local))
        dmat = dijkstra(arcs[local][:, local], directed=False, indices=pos[ends], limit=limit)
        row_of = np.full(net.n_nodes, -1, dtype=np.int64)
        row_of[ends] = np.arange(len(ends))

        lattice = _Lattice(net, ei, off, to_u, to_v, safe, has, dmat, row_of, pos, beta_m, detour_m)
        steps = np.arange(t0, c1)
        moves[t0:c1, :k_max] = lattice.moves(steps - 1, steps, step_m[t0 - 1 : c1 - 1])
        over = steps[steps >= 2]
        if len(over):
            moves[over, k_max:] = lattice.moves(over - 2, over, past_m[over - 2]) - outlier_cost
    # Viterbi: one 2K x K max per point (from the point before, or past it from the one before that)
    back: list[np.ndarray | None] = [None] * n
    scores: list[np.ndarray | None] = [None] * n
    score: np.ndarray | None = None
    breaks = 0
    cols = np.arange(k_max)
    nowhere = np.full(k_max, -np.inf)
    for t in range(n):
        if not has[t, 0]:
            score = None
            continue
        if score is None or cut[t]:
            score = emis[t].copy()
            scores[t] = score
            continue
        before = scores[t - 2] if may_skip[t] else None
        total = np.concatenate((score, nowhere if before is None else before))[:, None] + moves[t]
        arg = total.argmax(axis=0)
        new = total[arg, cols] + emis[t]
        if not np.isfinite(new).any():  # a restart; it stays one only if no way past an outlier joins it up
            score = emis[t].copy()
            scores[t] = score
            continue
        score = new
        back[t] = arg
        scores[t] = score
    # backtrack every run from its end
    outliers: list[int] = []
    run_start = cut.copy()  # and where the Viterbi found no way on: the walk is not joined across
    t = n - 1
    while t >= 0:
        if not has[t, 0]:
            t -= 1
            continue
        last = scores[t]
        j = int(np.argmax(last)) if last is not None else 0
        while True:
            k = int(cand[t, j])
            edge[t], offset[t], dist[t] = ei[k], off[k], d[k]
            arg = back[t]
            if arg is None:
                breaks += 1 if t > 0 else 0
                run_start[t] = True
                break
            j = int(arg[j])
            if j >= k_max:
                j -= k_max
                # point t - 1 was an outlier: it takes point t - 2's place on the network
                k = int(cand[t - 2, j])
                edge[t - 1], offset[t - 1] = ei[k], off[k]
                outliers.append(t - 1)
                t -= 1
            t -= 1
        t -= 1
    if outliers:
        dist[outliers] = shapely.distance(shapely.points(xy[outliers]), net.edge_geometry[edge[outliers]])
    # the walk between fixes as the Viterbi scored it: an outlier's fix is where its predecessor was
    at = xy.copy()
    at[outliers] = xy[np.array(outliers, dtype=np.int64) - 1]
    walked, covered = _walked(net, at, edge, offset, run_start, min_share, detour_m, chunk)
    return Matched(edge, offset, dist, breaks, walked, covered)


@dataclass(frozen=True)
class _Lattice:
    """A chunk's candidates and the network distances among their ends, to score moves between points."""

    net: RoadNetwork
    ei: np.ndarray  # candidate -> edge
    off: np.ndarray  # candidate -> offset along its edge
    to_u: np.ndarray  # candidate -> metres to its edge's start node
    to_v: np.ndarray  # candidate -> metres to its edge's end node
    safe: np.ndarray  # (point, slot) -> candidate, 0 in empty slots
    has: np.ndarray  # (point, slot) -> whether the slot holds a candidate
    dmat: np.ndarray  # network distances from the candidates' ends (rows) to the chunk's nodes (columns)
    row_of: np.ndarray  # node -> row of dmat
    pos: np.ndarray  # node -> column of dmat
    beta_m: float
    detour_m: float  # a move whose way is longer than the straight line by more is given up

    def moves(self, before: np.ndarray, after: np.ndarray, straight_m: np.ndarray) -> np.ndarray:
        """(steps, K, K) log-likelihoods of the moves from the candidates of points ``before`` to ``after``:
        exponential in how much the way along the network differs from the straight line between the fixes."""
        net, dmat = self.net, self.dmat
        a = self.safe[before, :, None]  # (steps, K, 1): the earlier point's candidates
        b = self.safe[after, None, :]  # (steps, 1, K): the later point's
        ea, eb = self.ei[a], self.ei[b]
        # dmat's rows and columns as offsets into it flat: one gather each instead of two-index fancy indexing
        width = dmat.shape[1]
        ru, rv = self.row_of[net.edge_u[ea]] * width, self.row_of[net.edge_v[ea]] * width
        bu, bv = self.pos[net.edge_u[eb]], self.pos[net.edge_v[eb]]
        flat = dmat.ravel()
        fu, fv, tu, tv = self.to_u[a], self.to_v[a], self.to_u[b], self.to_v[b]
        best = np.minimum(
            np.minimum(fu + flat[ru + bu] + tu, fu + flat[ru + bv] + tv),
            np.minimum(fv + flat[rv + bu] + tu, fv + flat[rv + bv] + tv),
        )
        best = np.where(ea == eb, np.minimum(best, np.abs(self.off[a] - self.off[b])), best)
        longer = best - straight_m[:, None, None]
        ok = self.has[before, :, None] & self.has[after, None, :] & (longer <= self.detour_m)
        out: np.ndarray = np.where(ok, -np.abs(longer) / self.beta_m, -np.inf)
        return out


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
    detour_m: float,
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
            # a way longer than the straight line between the two fixes by more than the detour was not scored
            limit = float(np.hypot(*(xy[seconds] - xy[firsts]).T).max(initial=0.0)) + detour_m
            local = np.union1d(
                _local_nodes(net, np.vstack([xy[firsts], xy[seconds]]), limit), np.concatenate([ends, targets])
            )
            pos[local] = np.arange(len(local))
            dmat, pred = dijkstra(
                arcs[local][:, local], directed=False, indices=pos[ends], return_predecessors=True, limit=limit
            )
            row_of = np.full(net.n_nodes, -1, dtype=np.int64)
            row_of[ends] = np.arange(len(ends))
            ea, eb = edge[firsts], edge[seconds]
            oa, ob = offset[firsts], offset[seconds]
            # the four ways between the two streets (through either end of each); the shortest is the walk
            s_nodes = np.stack([net.edge_u[ea], net.edge_u[ea], net.edge_v[ea], net.edge_v[ea]], axis=1)
            t_nodes = np.stack([net.edge_u[eb], net.edge_v[eb], net.edge_u[eb], net.edge_v[eb]], axis=1)
            at_s = np.zeros((len(part), 4))
            at_s[:, 2:] = length[ea, None]
            at_t = np.zeros((len(part), 4))
            at_t[:, [1, 3]] = length[eb, None]
            cost = np.abs(oa[:, None] - at_s) + dmat[row_of[s_nodes], pos[t_nodes]] + np.abs(ob[:, None] - at_t)
            pick = np.argmin(cost, axis=1)  # the first of equal ways, as the loop over ends took
            found = np.isfinite(cost[np.arange(len(part)), pick])
            for m in np.flatnonzero(found):
                c = int(pick[m])
                e_a, e_b = int(ea[m]), int(eb[m])
                sa, tb = float(at_s[m, c]), float(at_t[m, c])
                intervals[e_a].append((min(float(oa[m]), sa), max(float(oa[m]), sa)))
                intervals[e_b].append((min(float(ob[m]), tb), max(float(ob[m]), tb)))
                r = int(row_of[s_nodes[m, c]])
                node = int(pos[t_nodes[m, c]])
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


# A street is walked "alongside" when most of it lies within a few metres of what the walker was matched to: where
# sidewalks are mapped as their own ways (Monaco maps most), GPS noise cannot tell a sidewalk from its street, and a
# worker on the sidewalk has patrolled the street. Wider than a sidewalk's offset, narrower than a block.
ALONGSIDE_M = 8.0
ALONGSIDE_SHARE = 0.8


def alongside(
    net: RoadNetwork,
    covered_m: dict[int, float],
    streets: np.ndarray,
    *,
    within_m: float = ALONGSIDE_M,
    share: float = ALONGSIDE_SHARE,
) -> dict[int, float]:
    """Of ``streets``, those not walked themselves that run alongside walked ways: metres credited to each.

    A way counts as walked when at least half of it was covered; a street is credited with its length within
    ``within_m`` of the walked ways when that is at least ``share`` of it.

    Examples
    --------
    >>> from geo.networks import build_network
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> roads = gpd.GeoDataFrame({"highway": ["residential", "footway", "residential"]}, geometry=[
    ...     LineString([(0, 0), (100, 0)]), LineString([(0, 5), (100, 5)]), LineString([(0, 40), (100, 40)])],
    ...     crs="EPSG:32632")
    >>> net = build_network(roads, mode="walk")
    >>> by_y = {round(g.coords[0][1]): e for e, g in enumerate(net.edge_geometry)}  # street 0, sidewalk 5, far 40
    >>> street, sidewalk, far = by_y[0], by_y[5], by_y[40]
    >>> credit = alongside(net, {sidewalk: 100.0}, np.array([street, far]))
    >>> round(credit[street]), far in credit
    (100, False)
    """
    walked = [e for e, m in covered_m.items() if m >= 0.5 * float(net.edge_length_m[e])]
    rest = np.array([int(e) for e in streets if covered_m.get(int(e), 0.0) < float(net.edge_length_m[e])], dtype=int)
    if not walked or not len(rest):
        return {}
    corridor = shapely.union_all(shapely.buffer(net.edge_geometry[walked], within_m, cap_style="flat"))
    inside = shapely.length(shapely.intersection(net.edge_geometry[rest], corridor))
    length = np.maximum(net.edge_length_m[rest], 1e-9)
    return {
        int(e): float(min(m, length[i]))
        for i, (e, m) in enumerate(zip(rest, inside, strict=True))
        if m / length[i] >= share and m > covered_m.get(int(e), 0.0)
    }
