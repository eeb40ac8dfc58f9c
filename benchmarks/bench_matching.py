"""GPS map matching against leuvenmapmatching, on the same synthetic tracks over the same walking network.

Tracks (:mod:`tests.synthetic_tracks`, labelled synthetic): each demo grid's planned route (Vaduz's grids and
Monaco's quartiers, drawn with the default seed) walked at a varying pace, logged every 5 s with GPS noise
(σ 6 m, 1% outliers five times wider), two drop-outs, two stops and a detour; every point keeps the street it
truly lay on. Both matchers read the same points (metric CRS) and the same walking network:

* wangge: :func:`geo.matching.match_points` (HMM, vectorised Viterbi, bounded Dijkstra per chunk, any fix may be
  skipped as an outlier), with its defaults (σ 10 m, β 5 m, 50 m radius, 12 candidates), not the tracks' σ;
* leuvenmapmatching: ``DistanceMatcher`` on an ``InMemMap`` of the walking network's nodes and edges near the
  tracks (y-x metres, an R-tree over edges), σ 10 m and a 50 m radius as wangge's defaults, non-emitting states
  on (a walker passes junctions between fixes), ``max_lattice_width`` 8; a match that stops early is resumed from
  the next point, as its documentation suggests.

Scores, for both: ``points_right`` is the share of matched points on their true street; ``streets_right`` the
length share of the streets the matched path walked that the walker truly walked (precision);
``streets_right_or_alongside`` the same, also counting a matched street that runs alongside a truly walked one
(a sidewalk mapped as its own way, see :data:`ALONGSIDE_M`); ``streets_found`` the length share of the truly
walked streets the matched path walked (recall). Points per second on one core
(both run single-threaded: numpy element-wise, scipy's Dijkstra; pure Python), best of five for wangge (the
machine is shared).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import shapely

from geo.matching import match_points
from geo.networks import RoadNetwork
from geo.patrol import choose_office, grid_stops, plan_grid_route, required_streets, walk_frame
from geo.rules import DEFAULT_RULES
from service.context import Context, entrances, road_network, study_area
from tests.synthetic_tracks import SyntheticTrack, synthetic_track

LEUVEN_TIMEOUT_S = 300.0
SIDE_BY_SIDE_POINTS = 6000
# A matched street beside the truly walked one, closer than the tracks' GPS noise can tell apart (σ 6 m): Monaco
# maps most sidewalks as footways of their own a few metres from their street's centre line, where the synthetic
# walker walks. Walking either patrols the same street, so ``streets_right_or_alongside`` counts it right as well;
# ``streets_right`` stays strict by edge.
ALONGSIDE_M = 8.0
ALONGSIDE_SHARE = 0.8


def _steps(ctx: Context, area: str, plan_id: str, code: str, net: RoadNetwork) -> list[tuple[int, Any]]:
    """A grid's planned covering route as (network edge, line in walking order) steps."""
    entry = ctx.area(area)
    study = study_area(ctx, entry)
    grids = ctx.store.plans.grids(area, plan_id).to_crs(study.metric_crs)
    geom = grids[grids["code"] == code].geometry.iloc[0]
    ent = entrances(ctx, entry, "walk")["edge"].to_numpy()
    req = required_streets(net, geom, DEFAULT_RULES, entrance_edges=ent[ent >= 0])
    kp = study.metric("key_places")
    plan = ctx.store.plans.get(area, plan_id)
    office = choose_office(geom, kp, community_fid=plan.community_fid, net=net)
    gr = plan_grid_route(net, req, office, grid_stops(geom, kp, DEFAULT_RULES), DEFAULT_RULES)
    frame = walk_frame(gr.route.graph, gr.route.tour, 4.0)
    return list(zip(frame["edge"].tolist(), frame.geometry, strict=True))


def tracks(ctx: Context, seed: int = 2026) -> dict[str, tuple[RoadNetwork, list[SyntheticTrack]]]:
    """Synthetic tracks of every demo grid's route, per area (the grids drawn in ``ctx``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, tuple[RoadNetwork, list[SyntheticTrack]]] = {}
    for area in ("liechtenstein", "monaco"):
        entry = ctx.area(area)
        net = road_network(ctx, entry, "walk")
        got = []
        for plan in ctx.store.plans.list(area):
            grids = ctx.store.plans.grids(area, plan.plan_id)
            for code in grids["code"]:
                got.append(synthetic_track(net, _steps(ctx, area, plan.plan_id, str(code), net), rng))
        out[area] = (net, got)
    return out


def _alongside(net: RoadNetwork, edges: set[int], true: set[int]) -> set[int]:
    """Of ``edges``, those not truly walked that run alongside a truly walked street: at least
    :data:`ALONGSIDE_SHARE` of their length within :data:`ALONGSIDE_M` of it (a sidewalk mapped as its own way
    beside its street, the other half of a dual carriageway)."""
    rest = sorted(edges - true)
    if not rest or not true:
        return set()
    corridor = shapely.union_all(net.edge_geometry[sorted(true)]).buffer(ALONGSIDE_M)
    lines = net.edge_geometry[rest]
    inside = shapely.length(shapely.intersection(lines, corridor))
    share = inside / np.maximum(net.edge_length_m[rest], 1e-9)
    return {e for e, s in zip(rest, share, strict=True) if s >= ALONGSIDE_SHARE}


def _scores(net: RoadNetwork, truth: list[SyntheticTrack], edges: list[np.ndarray], walked: list[set[int]]) -> dict:
    length = net.edge_length_m
    right = total = 0
    walked_len = right_len = true_len = beside_len = 0.0
    for t, e, w in zip(truth, edges, walked, strict=True):
        ok = e >= 0
        right += int((e[ok] == t.true_edge[ok]).sum())
        total += int(ok.sum())
        true = set(t.true_edge.tolist())
        walked_len += float(length[list(w)].sum())
        right_len += float(length[list(w & true)].sum())
        true_len += float(length[list(true)].sum())
        beside_len += float(length[list(_alongside(net, w, true))].sum())
    return {
        "points_matched": total,
        "points_right": round(right / total, 4) if total else None,
        "streets_right": round(right_len / walked_len, 4) if walked_len else None,
        "streets_right_or_alongside": round((right_len + beside_len) / walked_len, 4) if walked_len else None,
        "streets_found": round(right_len / true_len, 4) if true_len else None,
    }


def run_wangge(net: RoadNetwork, truth: list[SyntheticTrack], repeats: int = 5) -> dict[str, Any]:
    """wangge's matcher over every track: best of ``repeats`` runs, then its scores."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        got = [match_points(net, t.xy, t.time_s) for t in truth]
        best = min(best, time.perf_counter() - t0)
    points = sum(len(t.xy) for t in truth)
    return {
        "method": "wangge",
        "tracks": len(truth),
        "points": points,
        "seconds": round(best, 3),
        "points_per_s": round(points / best),
        **_scores(net, truth, [m.edge for m in got], [set(m.walked.tolist()) for m in got]),
    }


def _leuven_map(net: RoadNetwork, truth: list[SyntheticTrack]) -> Any:
    from leuvenmapmatching.map.inmem import InMemMap

    xy = np.vstack([t.xy for t in truth])
    lo, hi = xy.min(axis=0) - 200, xy.max(axis=0) + 200
    node_xy = net.node_xy
    inside = np.all((node_xy >= lo) & (node_xy <= hi), axis=1)
    keep = np.flatnonzero(inside[net.edge_u] | inside[net.edge_v])
    m = InMemMap("walk", use_latlon=False, use_rtree=True, index_edges=True)
    for n in np.unique(np.concatenate([net.edge_u[keep], net.edge_v[keep]])):
        m.add_node(int(n), (float(node_xy[n, 1]), float(node_xy[n, 0])))
    for e in keep:
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        if u != v:
            m.add_edge(u, v)
            m.add_edge(v, u)
    return m


def run_leuven(net: RoadNetwork, truth: list[SyntheticTrack]) -> dict[str, Any]:
    """leuvenmapmatching's DistanceMatcher over the same tracks (its map built first, not timed)."""
    from leuvenmapmatching.matcher.distance import DistanceMatcher

    pair_edges: dict[tuple[int, int], list[int]] = {}
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        pair_edges.setdefault((min(u, v), max(u, v)), []).append(e)

    def edge_of(a: int, b: int, truth_edge: int = -1) -> int:
        cands = pair_edges.get((min(a, b), max(a, b)), [-1])
        return truth_edge if truth_edge in cands else cands[0]  # parallel streets between one pair: either

    lmap = _leuven_map(net, truth)
    seconds = 0.0
    edges, walked = [], []
    for t in truth:
        path = [(float(y), float(x)) for x, y in t.xy]
        e = np.full(len(path), -1, dtype=np.int64)
        w: set[int] = set()
        start = 0
        while start < len(path) - 1:
            matcher = DistanceMatcher(
                lmap,
                max_dist=50,
                obs_noise=10,
                obs_noise_ne=20,
                dist_noise=10,
                non_emitting_states=True,
                max_lattice_width=8,
            )
            t0 = time.perf_counter()
            states, last = matcher.match(path[start:])
            seconds += time.perf_counter() - t0
            for s in matcher.lattice_best or []:
                a, b = int(s.edge_m.l1), int(s.edge_m.l2)
                if b is None or b < 0 or a == b:
                    continue
                i = start + int(s.obs)
                if s.obs_ne == 0:
                    e[i] = edge_of(a, b, int(t.true_edge[i]))
                w.add(edge_of(a, b))
            start += max(int(last), 0) + 1
        edges.append(e)
        walked.append({x for x in w if x >= 0})
    points = sum(len(t.xy) for t in truth)
    return {
        "method": "leuvenmapmatching",
        "tracks": len(truth),
        "points": points,
        "seconds": round(seconds, 3),
        "points_per_s": round(points / seconds),
        **_scores(net, truth, edges, walked),
    }


def run(ctx: Context) -> list[dict[str, Any]]:
    """wangge on every track of each area; both matchers side by side on the first tracks up to
    :data:`SIDE_BY_SIDE_POINTS` points (leuvenmapmatching, pure Python, takes minutes beyond; in a forked
    process with a time limit)."""
    from benchmarks.bench_partition import with_timeout

    rows: list[dict[str, Any]] = []
    for area, (net, truth) in tracks(ctx).items():
        rows.append({"area": area, "tracks_set": "every track", **run_wangge(net, truth)})
        subset: list[SyntheticTrack] = []
        for t in truth:
            if subset and sum(len(x.xy) for x in subset) + len(t.xy) > SIDE_BY_SIDE_POINTS:
                break
            subset.append(t)
        ours = {"area": area, "tracks_set": "side by side", **run_wangge(net, subset)}
        status, got = with_timeout(run_leuven, net, subset, seconds=LEUVEN_TIMEOUT_S)
        theirs = {"area": area, "tracks_set": "side by side"}
        theirs.update(got if status == "ok" else {"method": "leuvenmapmatching", "note": got})
        if status == "ok" and got.get("points_per_s"):
            ours["speed_÷_leuven"] = round(ours["points_per_s"] / got["points_per_s"], 1)
        rows += [ours, theirs]
    return rows
