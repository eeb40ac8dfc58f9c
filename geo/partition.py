"""Partition a graph of blocks into k contiguous parts within a household band.

The problem (one community, or one connected piece of it)::

    minimise   sum of cost(i, j) over adjacent blocks i, j in different parts
    subject to every part connected, every part's households in [L, U], k parts

``cost`` is the length of the shared boundary, weighted up where it runs off
streets (:meth:`geo.blocks.Adjacency.cost`), so minimising it gives compact
grids (short total perimeter) whose boundaries follow streets. Where the band
cannot be met, band violation (households outside [L, U], summed) is
minimised first, then cost.

Two methods:

* :func:`solve_heuristic` — spanning-tree bisection (random maximum spanning
  trees cut where both sides can still be divided into in-band parts, the
  cheapest cut kept), then local search: single-block moves between adjacent
  parts and recombination of adjacent pairs (merge, re-split along the best
  of many spanning trees), as GerryChain's ReCom does but accepting only
  improvements. Every limit is a count, and randomness comes from one seeded
  generator, so the same inputs and seed give the same plan on any machine.
* :func:`solve_exact` — a mixed-integer model with single-commodity-flow
  contiguity, solved by HiGHS on one thread with a node limit, warm-started
  from the heuristic; it proves optimality (gap 0) on small communities and
  otherwise reports the gap it reached.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from geo.solver import quiet_stdout


@dataclass(frozen=True)
class Graph:
    """Blocks as a weighted graph: node weights (households) and edge costs."""

    weight: np.ndarray
    i: np.ndarray
    j: np.ndarray
    cost: np.ndarray
    neighbours: tuple[np.ndarray, ...] = field(repr=False, default=())
    edge_cost: tuple[np.ndarray, ...] = field(repr=False, default=())

    @classmethod
    def build(cls, weight: np.ndarray, i: np.ndarray, j: np.ndarray, cost: np.ndarray) -> Graph:
        """Build from edge lists (i < j, no duplicates)."""
        n = len(weight)
        nb: list[list[int]] = [[] for _ in range(n)]
        nc: list[list[float]] = [[] for _ in range(n)]
        for a, b, c in zip(i.tolist(), j.tolist(), cost.tolist()):
            nb[a].append(b)
            nc[a].append(c)
            nb[b].append(a)
            nc[b].append(c)
        return cls(
            weight=np.asarray(weight, dtype=float),
            i=np.asarray(i, dtype=int),
            j=np.asarray(j, dtype=int),
            cost=np.asarray(cost, dtype=float),
            neighbours=tuple(np.array(x, dtype=int) for x in nb),
            edge_cost=tuple(np.array(x, dtype=float) for x in nc),
        )

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.weight)

    def components(self, nodes: np.ndarray | None = None) -> list[np.ndarray]:
        """Connected components (of the subgraph on ``nodes``), largest first."""
        allowed = np.zeros(self.n, dtype=bool)
        allowed[np.arange(self.n) if nodes is None else nodes] = True
        seen = np.zeros(self.n, dtype=bool)
        out = []
        for s in np.flatnonzero(allowed):
            if seen[s]:
                continue
            comp = []
            q = deque([int(s)])
            seen[s] = True
            while q:
                u = q.popleft()
                comp.append(u)
                for v in self.neighbours[u]:
                    if allowed[v] and not seen[v]:
                        seen[v] = True
                        q.append(int(v))
            out.append(np.array(sorted(comp), dtype=int))
        return sorted(out, key=lambda c: (-len(c), c[0]))


@dataclass(frozen=True)
class Band:
    """Household band [low, high]."""

    low: float
    high: float

    def violation(self, h: float) -> float:
        """Households outside the band (0 when inside)."""
        return max(0.0, self.low - h, h - self.high)

    def fits(self, h: float, k: int) -> bool:
        """Whether h households can in principle make k in-band parts."""
        return k * self.low <= h + 1e-9 and h <= k * self.high + 1e-9


@dataclass
class Solution:
    """A partition: ``part[node]`` in 0..k-1, its cost and band violation, and how it was found."""

    part: np.ndarray
    cost: float
    violation: float
    method: str = "heuristic"
    gap: float | None = None
    proven_optimal: bool = False
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> tuple[float, float]:
        """Lexicographic objective: band violation first, then cost."""
        return (round(self.violation, 6), round(self.cost, 6))


def evaluate(g: Graph, part: np.ndarray, k: int, band: Band) -> tuple[float, float]:
    """Return (cut cost, band violation) of a partition."""
    cut = part[g.i] != part[g.j]
    cost = float(g.cost[cut].sum())
    loads = np.bincount(part, weights=g.weight, minlength=k)
    return cost, float(sum(band.violation(h) for h in loads))


# -- spanning-tree bisection -------------------------------------------------------------------------------


def _local_edges(g: Graph, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the subgraph on ``nodes``, as positions into ``nodes``."""
    pos = np.full(g.n, -1)
    pos[nodes] = np.arange(len(nodes))
    sel = (pos[g.i] >= 0) & (pos[g.j] >= 0)
    return pos[g.i[sel]], pos[g.j[sel]], g.cost[sel]


@dataclass(frozen=True)
class _Csr:
    """The subgraph's edges laid out once as a CSR matrix; each random tree only refills the weights."""

    m: int
    order: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray

    @classmethod
    def of(cls, m: int, ei: np.ndarray, ej: np.ndarray) -> _Csr:
        order = np.lexsort((ej, ei))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(ei, minlength=m))])
        return cls(m=m, order=order, indices=ej[order].astype(np.int32), indptr=indptr.astype(np.int32))


def _random_tree(
    csr: _Csr, ec: np.ndarray, rng: np.random.Generator, root: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """A random maximum spanning tree (costly shared edges tend to stay inside parts), rooted.

    Returns the depth-first (pre)order and the parent of every position
    (the root's parent is -9999), or None when the subgraph is not connected.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

    noisy = (ec + 1e-3) * rng.uniform(0.3, 1.7, size=len(ec))
    # scipy finds minimum trees and ignores zero weights: turn "large" into "small", keep all positive.
    w = noisy.max() * 1.01 - noisy + 1e-9 if len(noisy) else noisy
    graph = csr_matrix((w[csr.order], csr.indices, csr.indptr), shape=(csr.m, csr.m))
    tree = minimum_spanning_tree(graph)
    order, pred = depth_first_order(tree, root, directed=False, return_predecessors=True)
    if len(order) < csr.m:
        return None
    return order, pred


def _lca(parent: np.ndarray, depth: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lowest common ancestors of node pairs in a rooted tree, vectorised by binary lifting."""
    levels = max(1, int(depth.max()).bit_length())
    up = [parent]
    for _ in range(1, levels):
        up.append(up[-1][up[-1]])
    a, b = a.copy(), b.copy()
    swap = depth[a] < depth[b]
    a[swap], b[swap] = b[swap], a[swap]
    diff = depth[a] - depth[b]
    for j in range(levels):
        bit = (diff >> j) & 1 == 1
        a[bit] = up[j][a[bit]]
    for j in range(levels - 1, -1, -1):
        differ = up[j][a] != up[j][b]
        a[differ] = up[j][a[differ]]
        b[differ] = up[j][b[differ]]
    return np.where(a == b, a, parent[a])


def _subtree_sum(values: np.ndarray, order: np.ndarray, pos: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Sum of values over every node's subtree (subtrees are contiguous runs of the pre-order)."""
    prefix = np.concatenate([[0.0], np.cumsum(values[order])])
    out: np.ndarray = prefix[pos + size] - prefix[pos]
    return out


def _best_tree_cut(
    g: Graph, nodes: np.ndarray, k: int, band: Band, rng: np.random.Generator, trees: int
) -> tuple[np.ndarray, int, float] | None:
    """Split ``nodes`` into two connected sides for k1 and k-k1 parts, each side able to hold its parts in band.

    Draws ``trees`` random spanning trees; every tree edge splits the nodes in
    two (a subtree and the rest). For all of them at once, the cut cost is
    ``sum of edge costs at the subtree's nodes - 2 x cost of edges whose lowest
    common ancestor is in the subtree``. Among edges whose sides are feasible,
    returns the side (node array), its k1 and the cut cost of the cheapest
    (mildly penalised for imbalance). None when no tree has a feasible edge.
    """
    m = len(nodes)
    if m < 2:
        return None
    total = float(g.weight[nodes].sum())
    ei, ej, ec = _local_edges(g, nodes)
    w = g.weight[nodes]
    target = total / k
    deg_cost = np.bincount(ei, weights=ec, minlength=m) + np.bincount(ej, weights=ec, minlength=m)
    csr = _Csr.of(m, ei, ej)
    best: tuple[float, float, np.ndarray, int] | None = None
    for _ in range(trees):
        root = int(rng.integers(m))
        got = _random_tree(csr, ec, rng, root)
        if got is None:
            return None  # the nodes are not connected
        order, pred = got
        parent = pred.copy()
        parent[root] = root
        depth = np.zeros(m, dtype=np.int64)
        size = np.ones(m, dtype=np.int64)
        for u in order[1:]:
            depth[u] = depth[parent[u]] + 1
        for u in order[:0:-1]:
            size[parent[u]] += size[u]
        pos = np.empty(m, dtype=np.int64)
        pos[order] = np.arange(m)
        lca = _lca(parent, depth, ei, ej)
        lca_cost = np.bincount(lca, weights=ec, minlength=m)

        sub_w = _subtree_sum(w, order, pos, size)
        cut = _subtree_sum(deg_cost, order, pos, size) - 2 * _subtree_sum(lca_cost, order, pos, size)
        cand = np.ones(m, dtype=bool)
        cand[root] = False
        best_k1 = np.zeros(m, dtype=np.int64)
        best_dev = np.full(m, np.inf)
        for k1 in range(1, k):
            ok = (
                (k1 * band.low <= sub_w + 1e-9)
                & (sub_w <= k1 * band.high + 1e-9)
                & ((k - k1) * band.low <= total - sub_w + 1e-9)
                & (total - sub_w <= (k - k1) * band.high + 1e-9)
            )
            dev = np.abs(sub_w / k1 - target)
            better = ok & (dev < best_dev)
            best_k1[better] = k1
            best_dev[better] = dev[better]
        cand &= best_k1 > 0
        if not cand.any():
            continue
        k1s = np.maximum(best_k1, 1)
        balance = np.abs(sub_w / k1s - (total - sub_w) / np.maximum(k - k1s, 1)) / max(target, 1.0)
        score = np.where(cand, cut * (1.0 + 0.25 * balance), np.inf)
        u = int(np.argmin(score))
        if best is None or (float(score[u]), float(cut[u])) < best[:2]:
            side = nodes[order[pos[u] : pos[u] + size[u]]]
            best = (float(score[u]), float(cut[u]), side, int(best_k1[u]))
    if best is None:
        return None
    return best[2], best[3], best[1]


def _bisect(
    g: Graph, nodes: np.ndarray, k: int, band: Band, rng: np.random.Generator, trees: int
) -> list[np.ndarray] | None:
    if k == 1:
        return [nodes]
    got = _best_tree_cut(g, nodes, k, band, rng, trees)
    if got is None:
        return None
    side, k1, _ = got
    rest = np.setdiff1d(nodes, side)
    left = _bisect(g, side, k1, band, rng, trees)
    right = _bisect(g, rest, k - k1, band, rng, trees) if left is not None else None
    if left is None or right is None:
        return None
    return left + right


def _greedy_grow(g: Graph, nodes: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fallback start when no in-band bisection exists: k regions grown from spread seeds, balanced by weight."""
    part = np.full(g.n, -1)
    total = float(g.weight[nodes].sum())
    seeds = [int(nodes[rng.integers(len(nodes))])]
    # farthest-first seeds by hop distance
    for _ in range(1, k):
        dist = _hops(g, nodes, seeds)
        cand = [v for v in nodes if dist.get(int(v), 0) == max(dist.values())]
        seeds.append(int(cand[0]))
    loads = np.zeros(k)
    frontier = [deque([s]) for s in seeds]
    for p, s in enumerate(seeds):
        part[s] = p
        loads[p] += g.weight[s]
    inside = set(int(v) for v in nodes)
    remaining = len(nodes) - k
    while remaining > 0:
        progressed = False
        for p in np.argsort(loads):
            q = frontier[p]
            while q:
                u = q[0]
                nxt = [int(v) for v in g.neighbours[u] if int(v) in inside and part[v] == -1]
                if not nxt:
                    q.popleft()
                    continue
                v = nxt[0]
                part[v] = p
                loads[p] += g.weight[v]
                q.append(v)
                remaining -= 1
                progressed = True
                break
            if progressed:
                break
        if not progressed:
            break
    for v in nodes:  # anything unreachable joins part 0
        if part[v] == -1:
            part[v] = 0
    del total
    return part


def _hops(g: Graph, nodes: np.ndarray, seeds: list[int]) -> dict[int, int]:
    inside = set(int(v) for v in nodes)
    dist = {s: 0 for s in seeds}
    q = deque(seeds)
    while q:
        u = q.popleft()
        for v in g.neighbours[u]:
            v = int(v)
            if v in inside and v not in dist:
                dist[v] = dist[u] + 1
                q.append(v)
    return dist


# -- local search ------------------------------------------------------------------------------------------


def _connected_without(g: Graph, members: set[int], v: int) -> bool:
    """Whether a part stays connected when v leaves it."""
    rest = members - {v}
    if not rest:
        return False
    nbrs = [int(u) for u in g.neighbours[v] if int(u) in rest]
    if len(nbrs) <= 1:
        return True
    start = nbrs[0]
    seen = {start}
    q = deque([start])
    targets = set(nbrs)
    targets.discard(start)
    while q and targets:
        u = q.popleft()
        for w in g.neighbours[u]:
            w = int(w)
            if w in rest and w not in seen:
                seen.add(w)
                targets.discard(w)
                q.append(w)
    return not targets


def _move_sweeps(g: Graph, part: np.ndarray, k: int, band: Band, rng: np.random.Generator, max_sweeps: int) -> int:
    """Move single boundary blocks to a neighbouring part while that lowers (violation, cost). Returns moves made."""
    loads = np.bincount(part, weights=g.weight, minlength=k).astype(float)
    members = [set(np.flatnonzero(part == p).tolist()) for p in range(k)]
    moves = 0
    for _ in range(max_sweeps):
        improved = False
        order = rng.permutation(g.n)
        for v in order:
            v = int(v)
            a = int(part[v])
            if part[v] < 0 or len(members[a]) <= 1:
                continue
            nb, nc = g.neighbours[v], g.edge_cost[v]
            targets = {int(part[u]) for u in nb if part[u] >= 0 and part[u] != a}
            if not targets:
                continue
            hv = g.weight[v]
            best_b, best_delta = -1, (0.0, -1e-9)
            for b in targets:
                to_a = float(nc[part[nb] == a].sum())
                to_b = float(nc[part[nb] == b].sum())
                d_cost = to_a - to_b
                d_viol = (
                    band.violation(loads[a] - hv)
                    + band.violation(loads[b] + hv)
                    - band.violation(loads[a])
                    - band.violation(loads[b])
                )
                delta = (round(d_viol, 9), d_cost)
                if delta < best_delta:
                    best_b, best_delta = b, delta
            if best_b < 0 or not _connected_without(g, members[a], v):
                continue
            part[v] = best_b
            members[a].discard(v)
            members[best_b].add(v)
            loads[a] -= hv
            loads[best_b] += hv
            moves += 1
            improved = True
        if not improved:
            break
    return moves


def _recombine(
    g: Graph, part: np.ndarray, k: int, band: Band, rng: np.random.Generator, rounds: int, trees: int
) -> int:
    """Merge each pair of adjacent parts and re-split it along the best of many spanning trees, if better."""
    accepted = 0
    for _ in range(rounds):
        cut = part[g.i] != part[g.j]
        pairs = sorted({(min(a, b), max(a, b)) for a, b in zip(part[g.i][cut].tolist(), part[g.j][cut].tolist())})
        if not pairs:
            break
        changed = False
        for pa, pb in [pairs[x] for x in rng.permutation(len(pairs))]:
            nodes = np.flatnonzero((part == pa) | (part == pb))
            inside = np.zeros(g.n, dtype=bool)
            inside[nodes] = True
            sel = inside[g.i] & inside[g.j] & (part[g.i] != part[g.j])
            old_cut = float(g.cost[sel].sum())
            old_viol = band.violation(g.weight[part == pa].sum()) + band.violation(g.weight[part == pb].sum())
            got = _best_tree_cut(g, nodes, 2, band, rng, trees)
            if got is None:
                continue
            side, _, new_cut = got
            if (0.0, new_cut) < (round(old_viol, 9), old_cut - 1e-6):
                in_side = np.zeros(g.n, dtype=bool)
                in_side[side] = True
                part[nodes[in_side[nodes]]] = pa
                part[nodes[~in_side[nodes]]] = pb
                accepted += 1
                changed = True
        if not changed:
            break
    return accepted


def solve_heuristic(
    g: Graph, k: int, band: Band, *, seed: int = 0, restarts: int = 16, trees: int = 24, rounds: int = 40
) -> Solution:
    """Spanning-tree bisection from several seeded restarts, each polished by local search; the best kept.

    Deterministic: all randomness comes from ``numpy.random.default_rng(seed)``
    and every loop is bounded by a count.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    nodes = np.arange(g.n)
    if k == 1 or g.n <= 1:
        part = np.zeros(g.n, dtype=int)
        cost, viol = evaluate(g, part, max(k, 1), band)
        return Solution(part, cost, viol, method="single")
    if g.n < k:
        raise ValueError(f"cannot make {k} parts of {g.n} blocks")
    rng = np.random.default_rng(seed)
    best: Solution | None = None
    feasible_starts = 0
    moves = recombinations = 0
    starts: list[Solution] = []
    for _r in range(restarts):
        pieces = _bisect(g, nodes, k, band, rng, trees)
        if pieces is None:
            part = _greedy_grow(g, nodes, k, rng)
        else:
            feasible_starts += 1
            part = np.empty(g.n, dtype=int)
            for p, piece in enumerate(pieces):
                part[piece] = p
        moves += _move_sweeps(g, part, k, band, rng, max_sweeps=30)
        cost, viol = evaluate(g, part, k, band)
        starts.append(Solution(part.copy(), cost, viol))
    # Polish the most promising starts with recombination and moves; keep the best.
    for start in sorted(starts, key=lambda s: s.key)[:3]:
        part = start.part.copy()
        recombinations += _recombine(g, part, k, band, rng, rounds=rounds, trees=trees)
        moves += _move_sweeps(g, part, k, band, rng, max_sweeps=50)
        cost, viol = evaluate(g, part, k, band)
        cand = Solution(part, cost, viol)
        if best is None or cand.key < best.key:
            best = cand
    assert best is not None
    best.stats = {
        "restarts": restarts,
        "feasible_starts": feasible_starts,
        "moves": moves,
        "recombinations": recombinations,
    }
    return best


# -- exact model -------------------------------------------------------------------------------------------


def solve_exact(
    g: Graph, k: int, band: Band, *, start: Solution | None = None, node_limit: int = 3000
) -> Solution | None:
    """Solve the partition exactly with HiGHS (flow-based contiguity); None if no feasible plan was found.

    Variables: x[i,p] block i in part p; r[i,p] block i is part p's root;
    z[e] edge e is cut; f[a,p] flow of part p on arc a. Each root sends one
    unit of flow to every other block of its part along arcs inside the part,
    which holds exactly when the part is connected. Parts are ordered by
    their lowest block (x[i,p] = 0 for p > i) to cut symmetry. The band is a
    hard constraint here. One thread and a node limit keep it deterministic.
    """
    import highspy

    n, m = g.n, len(g.i)
    if k == 1:
        cost, viol = evaluate(g, np.zeros(n, dtype=int), 1, band)
        return Solution(np.zeros(n, dtype=int), cost, viol, method="exact", gap=0.0, proven_optimal=True)
    with quiet_stdout():  # HiGHS prints a banner on its first start; stdout is the CLI's JSON channel
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_max_nodes", int(node_limit))
    h.setOptionValue("random_seed", 0)
    inf = highspy.kHighsInf
    nx = n * k

    def X(i: int, p: int) -> int:  # noqa: N802 - the model's variable names
        return i * k + p

    def R(i: int, p: int) -> int:  # noqa: N802
        return nx + i * k + p

    def Z(e: int) -> int:  # noqa: N802
        return 2 * nx + e

    arcs = [(int(a), int(b)) for a, b in zip(g.i, g.j)] + [(int(b), int(a)) for a, b in zip(g.i, g.j)]

    def F(a: int, p: int) -> int:  # noqa: N802
        return 2 * nx + m + a * k + p

    nvar = 2 * nx + m + len(arcs) * k
    lower = np.zeros(nvar)
    upper = np.ones(nvar)
    upper[2 * nx + m :] = n
    for i in range(n):
        for p in range(k):
            if p > i:
                upper[X(i, p)] = 0
                upper[R(i, p)] = 0
    objective = np.zeros(nvar)
    objective[2 * nx : 2 * nx + m] = g.cost
    h.addVars(nvar, lower, upper)
    h.changeColsCost(nvar, np.arange(nvar, dtype=np.int32), objective)
    integer = np.arange(2 * nx, dtype=np.int32)
    h.changeColsIntegrality(len(integer), integer, np.full(len(integer), highspy.HighsVarType.kInteger))

    def row(idx: list[int], val: list[float], lo: float, hi: float) -> None:
        h.addRow(lo, hi, len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=float))

    for i in range(n):
        row([X(i, p) for p in range(k)], [1.0] * k, 1, 1)
    for p in range(k):
        row([X(i, p) for i in range(n)], g.weight.tolist(), band.low, band.high)
        row([R(i, p) for i in range(n)], [1.0] * n, 1, 1)
        for i in range(n):
            row([R(i, p), X(i, p)], [1.0, -1.0], -inf, 0)
    for e, (a, b) in enumerate(zip(g.i.tolist(), g.j.tolist())):
        for p in range(k):
            row([Z(e), X(a, p), X(b, p)], [1.0, -1.0, 1.0], 0, inf)
            row([Z(e), X(a, p), X(b, p)], [1.0, 1.0, -1.0], 0, inf)
    out_arcs: list[list[int]] = [[] for _ in range(n)]
    in_arcs: list[list[int]] = [[] for _ in range(n)]
    for a_idx, (u, v) in enumerate(arcs):
        out_arcs[u].append(a_idx)
        in_arcs[v].append(a_idx)
    for p in range(k):
        for i in range(n):
            # inflow - outflow = x[i,p] - n * r[i,p]  (roots may emit, everyone else absorbs one unit)
            idx = [F(a, p) for a in in_arcs[i]] + [F(a, p) for a in out_arcs[i]] + [X(i, p), R(i, p)]
            val = [1.0] * len(in_arcs[i]) + [-1.0] * len(out_arcs[i]) + [-1.0, float(n)]
            row(idx, val, 0, inf)
        for a_idx, (u, v) in enumerate(arcs):
            row([F(a_idx, p), X(u, p)], [1.0, -float(n)], -inf, 0)
            row([F(a_idx, p), X(v, p)], [1.0, -float(n)], -inf, 0)
    if start is not None and start.violation == 0:
        sol = np.zeros(nvar)
        # relabel parts so that part p starts at its lowest block (matches the symmetry cut)
        order = sorted(range(k), key=lambda p: int(np.flatnonzero(start.part == p)[0]))
        relabel = {old: new for new, old in enumerate(order)}
        part = np.array([relabel[int(p)] for p in start.part])
        for i in range(n):
            sol[X(i, int(part[i]))] = 1
        for p in range(k):
            sol[R(int(np.flatnonzero(part == p)[0]), p)] = 1
        cut = part[g.i] != part[g.j]
        sol[2 * nx : 2 * nx + m] = cut.astype(float)
        hsol = highspy.HighsSolution()
        hsol.col_value = sol.tolist()
        h.setSolution(hsol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if info.primal_solution_status == 0:  # no feasible solution
        return None
    values = np.array(h.getSolution().col_value)
    xs = values[:nx].reshape(n, k)
    part = xs.argmax(axis=1)
    cost_val, viol = evaluate(g, part, k, band)
    bound = info.mip_dual_bound
    gap = 0.0 if cost_val <= 1e-9 else max(0.0, (cost_val - bound) / cost_val)
    proven = status == highspy.HighsModelStatus.kOptimal
    return Solution(
        part,
        cost_val,
        viol,
        method="exact",
        gap=0.0 if proven else round(gap, 4),
        proven_optimal=proven,
        stats={"nodes": float(info.mip_node_count)},
    )
