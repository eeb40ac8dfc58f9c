"""Draw the base grids (基础网格) of one community.

The steps (DOMAIN §2-3):

1. **Blocks** (:mod:`geo.blocks`): the community cut by streets, paths and
   waterways, slivers merged, blocks above the band's ceiling split between
   their buildings.
2. **Pieces**: a block holding more households than the ceiling on its own
   (one building does) becomes a grid of its own (``oversized_building``).
   The rest falls into connected pieces: the community's main part, its
   exclaves, and whatever an oversized block cut off. A piece below the
   band's floor joins the grid nearest to it (an exclave so attached is the
   recorded ``exclave_attached`` exception); every other piece is partitioned.
3. **Grid count**: urban pieces get round(households / target) grids, kept in
   the feasible range ceil(H / max) … floor(H / min) (``--grids`` fixes it);
   rural pieces one grid per natural village in the band, as many as a
   village above the band needs, none for one below (it joins a neighbour).
   Natural villages are kept whole by contracting each to one node.
4. **Partition** (:mod:`geo.partition`): the heuristic always, the exact
   model too where the piece is small enough; the better plan is kept and the
   method (and gap) reported. If the band is missed, other counts in the
   feasible range are tried.
5. **Codes**: serials in reading order (:func:`geo.codes.reading_order`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.blocks import adjacency, community_blocks
from geo.codes import reading_order
from geo.errors import EmptyLayerError, InputError
from geo.networks import RoadNetwork, nearest_by_road
from geo.partition import Band, Graph, Solution, solve_exact, solve_heuristic
from geo.plan import household_band
from geo.rules import Rules


@dataclass(frozen=True)
class DrawOptions:
    """What a planner may set for one drawing."""

    band: tuple[int, int] | None = None
    rural_band: tuple[int, int] | None = None
    grids: int | None = None
    seed: int | None = None

    def band_for(self, area_class: str, rules: Rules) -> Band:
        """The band that applies to a community of this class."""
        return household_band(area_class, rules, given=self.band if area_class == "urban" else self.rural_band)


@dataclass
class DrawnPlan:
    """One community's drawn plan, in the area's metric CRS."""

    community_fid: str
    code12: str
    name: str
    area_class: str
    band: Band
    blocks: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    info: dict[str, Any] = field(default_factory=dict)
    # The block graph (block ids, and i, j, cost per shared edge), stored with the plan for its edits.
    graph: dict[str, Any] = field(default_factory=dict, repr=False)
    # The partition problems solved (graph, grid count, solution), for benchmarks; not stored.
    problems: list[tuple[Graph, int, Solution]] = field(default_factory=list, repr=False)


def feasible_range(households: float, band: Band) -> tuple[int, int]:
    """The grid counts that can put every grid in the band: [ceil(H / max), floor(H / min)].

    Examples
    --------
    >>> feasible_range(2023, Band(300, 500))
    (5, 6)
    >>> feasible_range(550, Band(300, 500))  # no whole number fits
    (2, 1)
    """
    if households <= 0:
        return (0, 0)
    return (math.ceil(households / band.high - 1e-9), math.floor(households / band.low + 1e-9))


def allowed_counts(oversized_households: float, total: float, oversized: int, band: Band) -> tuple[int, int]:
    """The grid counts a planner may fix: blocks above the band are grids of their own, the rest must fit.

    Where no count fits the band (an urban community of 501-599 households),
    the counts nearest to fitting are allowed.

    Examples
    --------
    >>> allowed_counts(0, 2023, 0, Band(300, 500))
    (5, 6)
    >>> allowed_counts(0, 258, 0, Band(300, 500))  # Monaco-Ville: one grid, out of band
    (1, 1)
    >>> allowed_counts(0, 550, 0, Band(300, 500))
    (1, 2)
    """
    rest = total - oversized_households
    lo, hi = feasible_range(rest, band)
    if rest <= 0:
        lo = hi = 0
    elif lo > hi:
        lo, hi = max(1, math.floor(rest / band.high)), max(1, math.ceil(rest / band.low))
    return (oversized + lo, oversized + hi) if oversized + hi > 0 else (1, 1)


def urban_count(households: float, band: Band, target: float) -> int:
    """round(H / target) kept in the feasible range (DOMAIN §2); at least 1."""
    lo, hi = feasible_range(households, band)
    k = round(households / target)
    if lo <= hi:
        k = min(max(k, lo), hi)
    return max(1, k)


def draw_community(
    community: pd.Series,
    *,
    buildings: gpd.GeoDataFrame,
    lines: gpd.GeoDataFrame,
    village_areas: gpd.GeoDataFrame,
    rules: Rules,
    options: DrawOptions = DrawOptions(),
    road_net: RoadNetwork | None = None,
) -> DrawnPlan:
    """Draw one community's grids.

    Parameters
    ----------
    community
        A row of the communities layer, geometry in the metric CRS.
    buildings
        The community's buildings (metric) with ``households``, ``households_source``.
    lines
        Cut lines near the community (:func:`geo.blocks.cut_lines`).
    village_areas
        The community's natural-village areas (metric), for rural communities.
    road_net
        The area's walking network (:func:`geo.networks.build_network`, mode ``walk``), to attach
        exclaves to the grid nearest by road, entrance point to entrance point (straight line when
        None or unreachable).

    Raises
    ------
    InputError
        An invalid band or polygon, or a ``grids`` outside the feasible range.
    EmptyLayerError
        A community with no area.
    """
    t0 = time.perf_counter()
    g = rules.grid
    geom = community.geometry
    if geom is not None and not geom.is_valid:
        # A self-intersecting or broken polygon is repaired (and its parts kept), not refused.
        geom = shapely.make_valid(geom)
        polys = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(polys) if polys else None
    if geom is None or geom.is_empty or geom.area <= 0:
        raise EmptyLayerError(
            f"Community {community['name']!r} has no area", detail_zh=f"社区 {community['name']!r} 没有面积"
        )
    community = community.copy()
    community["geometry"] = geom
    area_class = str(community.get("area_class") or "rural")
    band = options.band_for(area_class, rules)
    seed = g.seed if options.seed is None else options.seed
    blocks = community_blocks(geom, lines, buildings, g, max_households=band.high)
    adj = adjacency(blocks.geometry.values, lines)
    graph = Graph.build(blocks["households"].to_numpy(), adj.i, adj.j, adj.cost(g))
    total = float(blocks["households"].sum())
    rural = area_class == "rural"
    if rural and len(village_areas):
        vtree = shapely.STRtree(village_areas.geometry.values)
        pts = shapely.point_on_surface(blocks.geometry.values)
        hit_pt, hit_v = vtree.query(pts, predicate="within")
        vill = np.full(len(blocks), None, dtype=object)
        vill[hit_pt] = village_areas["village_fid"].to_numpy()[hit_v]
        blocks["village_fid"] = vill
    else:
        blocks["village_fid"] = None
    feasible = feasible_range(total, band)
    oversized = np.flatnonzero(blocks["households"].to_numpy() > band.high)
    if options.grids is not None:
        allowed = allowed_counts(float(blocks["households"].to_numpy()[oversized].sum()), total, len(oversized), band)
        if not allowed[0] <= options.grids <= allowed[1]:
            raise InputError(
                f"A grid count of {options.grids} is outside the feasible range {list(allowed)} "
                f"for {community['name']} "
                f"({total:.0f} households, band {band.low:.0f}-{band.high:.0f}"
                f"{f', {len(oversized)} block(s) above the band on their own' if len(oversized) else ''})",
                detail_zh=f"网格数 {options.grids} 超出 {community['name']} 的可行范围 {list(allowed)}",
                feasible=list(allowed),
                parameter="grids",
            )

    problems: list[tuple[Graph, int, Solution]] = []
    assignment = np.full(len(blocks), -1)
    grid_notes: dict[int, dict[str, Any]] = {}
    methods: list[dict[str, Any]] = []
    next_grid = 0

    for b in oversized:
        assignment[b] = next_grid
        grid_notes[next_grid] = {"oversized_block": blocks.at[b, "block_id"]}
        next_grid += 1
    rest = np.setdiff1d(np.arange(len(blocks)), oversized)
    pieces = graph.components(rest) if len(rest) else []
    piece_h = [float(graph.weight[p].sum()) for p in pieces]
    main = int(np.argmax(piece_h)) if pieces else -1
    # Pieces below the floor (exclaves, pockets cut off by an oversized block) are folded into the block
    # nearest to them: their households weigh on that block's grid while it is drawn, and they join it.
    big = [i for i in range(len(pieces)) if i == main or piece_h[i] >= band.low]
    folded: dict[int, list[np.ndarray]] = {}
    weight = graph.weight.copy()
    attached = []
    if big:
        # A pocket an oversized block cut off touches that block: it may join its grid (ordinary blocks first).
        anchor_blocks = np.concatenate([*(pieces[i] for i in big), oversized]).astype(int)
        for i, piece in enumerate(pieces):
            if i in big:
                continue
            geom = shapely.union_all(blocks.geometry.values[piece])
            d = shapely.distance(blocks.geometry.values[anchor_blocks], geom)
            anchor, how, dist = int(anchor_blocks[int(np.argmin(d))]), "straight line", float(d.min())
            if d.min() > 0 and road_net is not None:
                # DOMAIN §2: an exclave joins the grid nearest to it by road.
                got = nearest_by_road(road_net, geom, blocks.geometry.values[anchor_blocks])
                if got is not None:
                    anchor, how, dist = int(anchor_blocks[got[0]]), "road", got[1]
            folded.setdefault(anchor, []).append(piece)
            weight[anchor] += float(graph.weight[piece].sum())
            attached.append(
                {
                    "blocks": [blocks.at[b, "block_id"] for b in piece],
                    "households": round(float(graph.weight[piece].sum()), 1),
                    "to_block": blocks.at[anchor, "block_id"],
                    "distance_m": round(dist, 1),
                    "nearest_by": how,
                    "exclave": bool(d.min() > 0),
                }
            )
    elif pieces:
        big = [main]
    work = Graph.build(weight, graph.i, graph.j, graph.cost)
    fixed_total = options.grids
    plans_for: list[tuple[int, np.ndarray, int]] = []
    other_k = 0
    for idx in big:
        k = _piece_count(work, blocks, pieces[idx], band, rules, rural)
        if idx != main:
            other_k += k
        plans_for.append((idx, pieces[idx], k))
    for idx, piece, k in plans_for:
        if idx == main and fixed_total is not None:
            k = max(1, fixed_total - other_k - len(oversized))
        sol, used_k, tried = _solve_piece(
            work,
            blocks,
            piece,
            k,
            band,
            rules,
            rural,
            seed,
            allow_other_counts=fixed_total is None or idx != main,
            problems=problems,
        )
        for p in range(used_k):
            members = piece[sol.part == p]
            assignment[members] = next_grid + p
        methods.append(
            {
                "piece": int(idx),
                "blocks": int(len(piece)),
                "households": round(float(work.weight[piece].sum())),
                "grids": used_k,
                "counts_tried": tried,
                "method": sol.method,
                "gap": sol.gap,
                "proven_optimal": sol.proven_optimal,
                "violation": round(sol.violation, 1),
                "cost": round(sol.cost, 1),
                **{k: v for k, v in sol.stats.items()},
            }
        )
        next_grid += used_k
    if next_grid == 0:  # nothing partitioned (no households anywhere): the whole community is one grid
        assignment[:] = 0
        next_grid = 1
        methods.append(
            {
                "piece": 0,
                "blocks": int(len(blocks)),
                "households": round(total),
                "grids": 1,
                "method": "single",
                "gap": None,
            }
        )
    for anchor, plist in folded.items():
        for piece in plist:
            assignment[piece] = assignment[anchor]
    for entry in attached:
        anchor = int(np.flatnonzero(blocks["block_id"].to_numpy() == entry["to_block"])[0])
        entry["grid"] = int(assignment[anchor])
    for b in np.flatnonzero(assignment < 0):  # an oversized block's own pocket, should any remain
        assignment[b] = _nearest_grid(blocks, assignment, np.array([b]))
    for entry in attached:
        if entry["exclave"]:
            grid_notes.setdefault(entry["grid"], {}).setdefault("exclaves_attached", []).append(entry["blocks"])
    assignment, joined = absorb_uninhabited(
        assignment, blocks["households"].to_numpy(dtype=float), adj.i, adj.j, adj.length_m
    )
    blocks["grid"] = assignment
    grids = _grids_from_blocks(blocks, community, grid_notes)
    code_of = dict(zip(grids["grid"], grids["code"]))
    blocks["grid_code"] = blocks["grid"].map(code_of)
    blocks = blocks.drop(columns=["grid"])
    grids = grids.drop(columns=["grid"])
    info = {
        "method": _overall_method(methods),
        "pieces": methods,
        "attached": attached,
        "uninhabited_joined": [
            {
                "blocks": [blocks.at[b, "block_id"] for b in j["blocks"]],
                "to_grid": code_of[j["to_grid"]],
                "shared_m": j["shared_m"],
            }
            for j in joined
        ],
        "oversized_blocks": [blocks.at[b, "block_id"] for b in oversized],
        "feasible_grids": list(feasible),
        "band": [band.low, band.high],
        "seed": seed,
        "blocks": int(len(blocks)),
        "cells": int((blocks["kind"] == "cell").sum()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return DrawnPlan(
        community_fid=str(community["fid"]),
        code12=str(community["code12"]),
        name=str(community["name"]),
        area_class=area_class,
        band=band,
        blocks=blocks,
        grids=grids,
        info=info,
        problems=problems,
        graph={
            "blocks": blocks["block_id"].tolist(),
            "i": adj.i.tolist(),
            "j": adj.j.tolist(),
            "cost": [round(float(c), 3) for c in graph.cost],
        },
    )


def absorb_uninhabited(
    assignment: np.ndarray,
    households: np.ndarray,
    edge_i: np.ndarray,
    edge_j: np.ndarray,
    edge_length: np.ndarray,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Give every grid without households to the neighbour it shares the most boundary with (DOMAIN §2).

    An empty grid is never drawn: uninhabited land (slopes, forest, a harbour) joins an inhabited neighbour,
    which adds no households and so never moves that neighbour out of its band. Empty grids that touch only
    each other merge and look again; land with no inhabited grid anywhere it touches (a community with no
    households at all) stays one grid, which the report explains as ``uninhabited``.

    Parameters
    ----------
    assignment
        Grid of each block.
    households
        Households of each block.
    edge_i, edge_j, edge_length
        The block graph: blocks ``i`` and ``j`` share ``length`` metres of boundary.

    Returns
    -------
    assignment, joined
        The new assignment, and one entry per empty grid absorbed: its ``blocks`` (positions), the grid it
        joined (``to_grid``) and the boundary they share (``shared_m``).

    Examples
    --------
    A 3 x 1 strip where the middle grid is empty; it joins the neighbour it shares more boundary with::

        [ 0: 40 hh ][ 1: empty ][ 2: 60 hh ]   (1 shares 10 m with 0 and 30 m with 2)

    >>> a, joined = absorb_uninhabited(np.array([0, 1, 2]), np.array([40.0, 0.0, 60.0]),
    ...                                np.array([0, 1]), np.array([1, 2]), np.array([10.0, 30.0]))
    >>> a.tolist(), joined[0]["to_grid"]
    ([0, 2, 2], 2)
    """
    a = np.asarray(assignment).copy()
    joined: list[dict[str, Any]] = []
    while True:
        grids, inverse = np.unique(a, return_inverse=True)
        load = np.bincount(inverse, weights=households, minlength=len(grids))
        if not (load <= 0).any():
            break
        gi, gj = a[edge_i], a[edge_j]
        cross = gi != gj
        shared: dict[tuple[int, int], float] = {}
        for x, y, w in zip(gi[cross].tolist(), gj[cross].tolist(), np.asarray(edge_length)[cross].tolist()):
            shared[(x, y)] = shared.get((x, y), 0.0) + w
            shared[(y, x)] = shared.get((y, x), 0.0) + w
        loaded = dict(zip(grids.tolist(), load.tolist()))
        merged = False
        # the smallest empty grid first, so a chain of empty grids folds towards the inhabited land
        for g in sorted((int(x) for x, h in loaded.items() if h <= 0), key=lambda x: (int((a == x).sum()), x)):
            options = {y: w for (x, y), w in shared.items() if x == g}
            if not options:
                continue
            inhabited = {y: w for y, w in options.items() if loaded[y] > 0}
            pick = inhabited or options  # only empty neighbours: merge with one and look again
            target = max(pick, key=lambda y: (pick[y], -y))
            members = np.flatnonzero(a == g)
            if inhabited:
                joined.append({"blocks": members.tolist(), "to_grid": int(target), "shared_m": round(pick[target], 1)})
            a[members] = target
            merged = True
            break
        if not merged:
            break
    return a, joined


def _overall_method(methods: list[dict[str, Any]]) -> str:
    kinds = {m["method"] for m in methods}
    if kinds <= {"exact", "single"} and all(m.get("proven_optimal", True) or m["method"] == "single" for m in methods):
        return "exact" if "exact" in kinds else "single"
    return "heuristic" if "exact" not in kinds else "exact+heuristic"


def _piece_count(
    graph: Graph, blocks: gpd.GeoDataFrame, piece: np.ndarray, band: Band, rules: Rules, rural: bool
) -> int:
    h = float(graph.weight[piece].sum())
    if not rural:
        return urban_count(h, band, rules.grid.urban_target)
    vill = blocks["village_fid"].to_numpy()[piece]
    if all(v is None for v in vill):
        return urban_count(h, band, rules.grid.rural_target)
    k = 0
    w = graph.weight[piece]
    for v in pd.unique(vill):
        hv = float(w[vill == v].sum())
        if hv > band.high:
            k += urban_count(hv, band, rules.grid.rural_target)
        elif hv >= band.low:
            k += 1
    lo, hi = feasible_range(h, band)
    k = max(k, 1)
    if lo <= hi:
        k = min(max(k, lo), hi)
    return k


def _contract(
    graph: Graph, blocks: gpd.GeoDataFrame, piece: np.ndarray, band: Band, rural: bool
) -> tuple[Graph, np.ndarray]:
    """The piece as a graph; in rural communities each natural village within the band's ceiling is one node.

    Returns the graph and, for every block of the piece, its node.
    """
    pos = {int(b): p for p, b in enumerate(piece)}
    node = np.arange(len(piece))
    if rural:
        vill = blocks["village_fid"].to_numpy()[piece]
        w = graph.weight[piece]
        next_id = 0
        node = np.full(len(piece), -1)
        for v in pd.unique(vill):
            mask = vill == v
            if v is None or float(w[mask].sum()) > band.high:
                continue
            # One node per connected run of the village's blocks: a village whose blocks do not touch
            # (cut differently from the blocks its area was derived on) must not make a grid in two pieces.
            for comp in graph.components(piece[mask]):
                node[np.isin(piece, comp)] = next_id
                next_id += 1
        for p in np.flatnonzero(node < 0):
            node[p] = next_id
            next_id += 1
    n = int(node.max()) + 1
    weight = np.bincount(node, weights=graph.weight[piece], minlength=n)
    edges: dict[tuple[int, int], float] = {}
    inside = np.zeros(graph.n, dtype=bool)
    inside[piece] = True
    sel = inside[graph.i] & inside[graph.j]
    for a, b, c in zip(graph.i[sel].tolist(), graph.j[sel].tolist(), graph.cost[sel].tolist()):
        na, nb = int(node[pos[a]]), int(node[pos[b]])
        if na == nb:
            continue
        key = (min(na, nb), max(na, nb))
        edges[key] = edges.get(key, 0.0) + c
    ei = np.array([k[0] for k in edges], dtype=int)
    ej = np.array([k[1] for k in edges], dtype=int)
    ec = np.array(list(edges.values()), dtype=float)
    return Graph.build(weight, ei, ej, ec), node


def _solve_piece(
    graph: Graph,
    blocks: gpd.GeoDataFrame,
    piece: np.ndarray,
    k: int,
    band: Band,
    rules: Rules,
    rural: bool,
    seed: int,
    *,
    allow_other_counts: bool,
    problems: list[tuple[Graph, int, Solution]] | None = None,
) -> tuple[Solution, int, list[int]]:
    g = rules.grid
    sub, node = _contract(graph, blocks, piece, band, rural)
    # Every grid must hold households (uninhabited land joins an inhabited neighbour), so a piece makes at most
    # as many grids as it has units holding any.
    inhabited = int((sub.weight > 0).sum()) or 1
    if k > inhabited:
        if not allow_other_counts:
            raise InputError(
                f"{k} grids cannot each hold households: only {inhabited} of {sub.n} unit(s) (blocks, or whole "
                "natural villages) have any",
                detail_zh=f"{sub.n} 个单元（街区或整自然村）中只有 {inhabited} 个有住户，无法划分为 {k} 个有住户的网格",
                units=sub.n,
                inhabited_units=inhabited,
                grids=k,
            )
        k = inhabited
    h = float(sub.weight.sum())
    counts = [k]
    if allow_other_counts:
        lo, hi = feasible_range(h, band)
        extra = sorted((c for c in range(max(lo, 1), min(hi, inhabited) + 1) if c != k), key=lambda c: (abs(c - k), c))
        counts += extra[:2]
    best: tuple[Solution, int] | None = None
    tried = []
    for kk in counts:
        tried.append(kk)
        sol = solve_heuristic(
            sub,
            kk,
            band,
            seed=seed,
            restarts=g.heuristic_restarts,
            trees=g.heuristic_trees_per_split,
            rounds=g.recombination_rounds,
        )
        if sub.n <= g.exact_max_blocks and 2 <= kk <= g.exact_max_grids and g.exact_node_limit > 0:
            exact = solve_exact(sub, kk, band, start=sol, node_limit=g.exact_node_limit)
            if exact is not None and exact.key <= sol.key:
                exact.stats = {**sol.stats, **exact.stats}
                sol = exact
        if best is None or sol.key < best[0].key:
            best = (sol, kk)
        if sol.violation == 0:
            break
    assert best is not None
    sol, kk = best
    if problems is not None:
        problems.append((sub, kk, sol))
    part = sol.part[node]
    return Solution(part, sol.cost, sol.violation, sol.method, sol.gap, sol.proven_optimal, sol.stats), kk, tried


def _nearest_grid(blocks: gpd.GeoDataFrame, assignment: np.ndarray, piece: np.ndarray) -> int:
    """The grid nearest to a piece (touching counts as nearest); straight-line distance."""
    done = np.flatnonzero(assignment >= 0)
    if not len(done):
        return 0
    geom = shapely.union_all(blocks.geometry.values[piece])
    d = shapely.distance(blocks.geometry.values[done], geom)
    return int(assignment[done[int(np.argmin(d))]])


def _grids_from_blocks(
    blocks: gpd.GeoDataFrame, community: pd.Series, notes: dict[int, dict[str, Any]]
) -> gpd.GeoDataFrame:
    rows = []
    for grid, members in blocks.groupby("grid"):
        rows.append(
            {
                "grid": int(grid),
                "households": float(members["households"].sum()),
                "blocks": members["block_id"].tolist(),
                "geometry": shapely.union_all(members.geometry.values),
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=blocks.crs)
    order = reading_order(frame.geometry)
    frame = frame.iloc[order].reset_index(drop=True)
    code12 = str(community["code12"])
    if len(frame) > 999:
        raise InputError(
            f"{community['name']} would need {len(frame)} grids; serials stop at 999",
            detail_zh=f"{community['name']} 需要 {len(frame)} 个网格，超过 999 个序号",
        )
    frame.insert(0, "code", [f"{code12}{s:03d}" for s in range(1, len(frame) + 1)])
    frame.insert(1, "serial", range(1, len(frame) + 1))
    frame["grid_type"] = "base"
    frame["name"] = [f"{community['name']}第{s}网格" for s in frame["serial"]]
    frame["exceptions"] = [
        ["exclave_attached"] if notes.get(int(gid), {}).get("exclaves_attached") else [] for gid in frame["grid"]
    ]
    return frame


def inherit_codes(
    plan: DrawnPlan, published: gpd.GeoDataFrame | None, used: set[int]
) -> tuple[DrawnPlan, dict[str, list[str]]]:
    """Recode a fresh drawing of a community that already has a published plan (DOMAIN §3).

    A published code is an official record: a redrawn grid covering mostly the same ground as a published
    grid keeps its code (each new grid and each old code paired at most once, the pairs sharing the most
    area first, and only where they share at least half of the smaller of the two); every other new grid
    takes the next serial past every serial the community's published plans ever used, so a retired code
    is never reused. Serial exhaustion is an error.

    Parameters
    ----------
    plan
        The fresh drawing (codes 001… in reading order).
    published
        The adopted published plan's grids, in the plan's CRS (None: no published plan).
    used
        Every serial the community's published plans used, current or retired.

    Returns
    -------
    plan, retired
        The recoded plan, and the published codes the new plan drops with the new codes that took their
        ground (recorded as retired when the new plan is published).
    """
    if published is None or not len(published):
        if not used:
            return plan, {}
        published = gpd.GeoDataFrame({"code": []}, geometry=gpd.GeoSeries([], crs=plan.grids.crs), crs=plan.grids.crs)
    # Only this community's 15-digit codes carry over (an imported plan may hold labels such as "row3").
    real = published["code"].astype(str).map(lambda c: len(c) == 15 and c.startswith(plan.code12) and c.isdigit())
    published = published[real.to_numpy()]
    new_geoms = plan.grids.geometry.values
    old_geoms = published.geometry.values
    old_codes = published["code"].astype(str).to_numpy()
    pairs: list[tuple[float, int, int]] = []
    if len(old_geoms):
        ni, oj = shapely.STRtree(old_geoms).query(new_geoms, predicate="intersects")
        shared = shapely.area(shapely.intersection(new_geoms[ni], old_geoms[oj]))
        smaller = np.minimum(shapely.area(new_geoms[ni]), shapely.area(old_geoms[oj]))
        pairs = [(float(a), int(i), int(j)) for a, i, j, m in zip(shared, ni, oj, smaller) if a >= 0.5 * m]
    code_of: dict[int, str] = {}
    taken: set[int] = set()
    for _a, i, j in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if i not in code_of and j not in taken:
            code_of[i] = str(old_codes[j])
            taken.add(j)
    serial = max(used | {int(c[-3:]) for c in old_codes}, default=0)
    for i in range(len(plan.grids)):  # the rest in reading order, past every serial used
        if i not in code_of:
            serial += 1
            if serial > 999:
                raise InputError(
                    f"{plan.name} has used all 999 grid serials in its published plans; no new grid code is left",
                    detail_zh=f"{plan.name} 已发布方案用尽 999 个网格序号",
                )
            code_of[i] = f"{plan.code12}{serial:03d}"
    renamed = dict(zip(plan.grids["code"].astype(str), (code_of[i] for i in range(len(plan.grids)))))
    grids = plan.grids.copy()
    grids["code"] = grids["code"].map(renamed)
    grids["serial"] = [int(c[-3:]) for c in grids["code"]]
    grids["name"] = [f"{plan.name}第{s}网格" for s in grids["serial"]]
    blocks = plan.blocks.copy()
    blocks["grid_code"] = blocks["grid_code"].map(renamed)
    retired: dict[str, list[str]] = {}
    for j, code in enumerate(old_codes):
        if j in taken:
            continue
        hit = shapely.area(shapely.intersection(new_geoms, old_geoms[j]))
        heirs = [str(grids["code"].iloc[i]) for i in np.argsort(-hit) if hit[i] > 0]
        retired[str(code)] = heirs[:3]
    info = {**plan.info, "codes": {"kept": len(taken), "new": len(grids) - len(taken), "retired": len(retired)}}
    out = dataclasses.replace(plan, blocks=blocks, grids=grids.sort_values("code").reset_index(drop=True), info=info)
    return out, retired


def official_code_conflicts(
    grids: gpd.GeoDataFrame,
    published: gpd.GeoDataFrame | None,
    used: set[int],
    *,
    code12: str,
    descends: bool,
) -> list[dict[str, Any]]:
    """Codes of a plan about to be published that would give an official code another meaning (DOMAIN §3).

    A code whose serial was ever official must be one of the published plan's codes (not retired), and, for a
    plan that does not descend from the published one, cover mostly the same ground (at least half of the
    smaller of the two grids). An edit of the published plan keeps its codes by design, so only the first
    rule applies to it.

    Returns
    -------
    list of dict
        ``code``, ``problem`` (``retired`` or ``other_ground``) and, for the latter, ``shared`` (0-1).
    """
    old = {} if published is None else dict(zip(published["code"].astype(str), published.geometry.values))
    out: list[dict[str, Any]] = []
    for code, geom in zip(grids["code"].astype(str), grids.geometry.values):
        official = len(code) == 15 and code.startswith(code12) and code[-3:].isdigit() and int(code[-3:]) in used
        if not official:
            continue
        if code not in old:
            out.append({"code": code, "problem": "retired"})
            continue
        if descends:
            continue
        smaller = min(geom.area, old[code].area)
        shared = float(shapely.area(shapely.intersection(geom, old[code]))) / smaller if smaller else 0.0
        if shared < 0.5:
            out.append({"code": code, "problem": "other_ground", "shared": round(shared, 3)})
    return out
