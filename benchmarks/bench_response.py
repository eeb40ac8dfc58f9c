"""Response coverage side by side: our reach against scipy csgraph, networkx, pandana and the OSMnx-style method.

Inputs, identical for every method: each demo area's whole driving network (``geo.networks.network_for_area``)
and its duty points (Liechtenstein's 4 police posts, Monaco's 15).

* **reach** — ours: ``geo.reach.multi_source_reach`` (virtual entrance nodes with readiness, one Dijkstra);
  scipy: ``csgraph.dijkstra(min_only=True)`` on the very same matrix (plain, nothing around it); networkx:
  ``multi_source_dijkstra`` from a super-source on the same arcs (the reference every node is checked against);
  pandana: ``Network.nearest_pois`` on the reversed arcs (it measures towards the POI) from the nodes the duty points
  drive to first, against scipy from those nodes (its contraction build timed apart; it keeps float32 impedances).
* **shares** — ours: reach + every building's entrance time + shares; OSMnx-style (OSMnx's isochrone example):
  ``nx.ego_graph(radius=minutes, distance="travel_time")`` per duty point and band, the convex hull of the reached
  nodes, buildings whose centre lies in a hull.
* **band polygons** — ours: reached pieces cut at the time limit, each place given to its nearest reached street
  within the buffer (a distance grid, ``geo.reach.band_areas``); OSMnx-style: the ego graphs
  and hulls above.
* **siting** — HiGHS's proven optimum for p = 1, 2 against enumeration of every pair.
* **where** — ``GET /areas/{name}/where`` through the API (TestClient, warm), p50 and p95.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.duty_points import readiness_s
from geo.duty_siting import DutySiting, candidate_sites, coverage_matrix
from geo.io import read_area_package
from geo.networks import Entrances, building_entrances, network_for_area, snap_to_edges, to_networkx
from geo.reach import (
    Origins,
    ReachGraph,
    _origin_arcs,
    band_areas,
    entrance_times,
    households_within,
    multi_source_reach,
    reached_pieces,
)
from geo.rules import DEFAULT_RULES

AREAS = ("liechtenstein", "monaco")
MINUTES = (1, 3, 5)
REACH_RUNS = 2000  # ours and scipy, each (networkx 3, pandana 10): tens of microseconds a run
HULL_RUNS = 5  # the OSMnx-style ego graphs and hulls
POLYGON_RUNS = 20  # our band areas


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` runs (seconds), the collector paused as timeit does."""
    times = []
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return min(times)


def interleaved(ours: Callable[[], Any], theirs: Callable[[], Any], n_ours: int, n_theirs: int) -> dict[str, float]:
    """Best wall and CPU seconds of each, their runs interleaved so both meet the shared machine's same load.

    CPU time (this process's, both single-threaded) leaves out the waits for a core the other engineers' jobs cause.
    """
    got: dict[str, list[float]] = {"ours": [], "ours_cpu": [], "theirs": [], "theirs_cpu": []}
    every = max(n_ours // max(n_theirs, 1), 1)
    gc.disable()
    try:
        for i in range(n_ours):
            runs = [("ours", ours)] + ([("theirs", theirs)] if i % every == 0 and len(got["theirs"]) < n_theirs else [])
            for key, fn in runs:
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                got[key].append(time.perf_counter() - t0)
                got[f"{key}_cpu"].append(time.process_time() - c0)
    finally:
        gc.enable()
    return {k: min(v) for k, v in got.items()}


def setup(data_dir: Path, area_name: str) -> dict[str, Any]:
    area = read_area_package(data_dir / f"{area_name}.gpkg")
    net = network_for_area(area, mode="drive")
    graph = ReachGraph.of(net)
    duty = area.metric("duty_points")
    ent = snap_to_edges(net, duty.geometry)
    origins = Origins.at(graph, ent, delay_s=readiness_s(duty, DEFAULT_RULES))
    b = area.layer("buildings")
    be = building_entrances(net, b)
    targets = Entrances(
        be["edge"].to_numpy(), be["offset_m"].to_numpy(), be["distance_m"].to_numpy(), be.geometry.values
    )
    inside = b["community_fid"].notna().to_numpy()
    return {
        "area": area,
        "net": net,
        "graph": graph,
        "origins": origins,
        "targets": targets,
        "reachable": be["reachable"].to_numpy(),
        "households": np.where(inside, b["households"].fillna(0).to_numpy(), 0.0),
        "centres": area.metric("buildings").geometry.centroid.to_numpy(),
    }


def _reference(case: dict[str, Any]) -> tuple[np.ndarray, nx.DiGraph, list[int]]:
    """networkx from a super-source over the same arcs (matrix rows read back as edges): every node's time."""
    matrix, ok = _origin_arcs(case["graph"], case["origins"])
    n = case["net"].n_nodes
    g = nx.DiGraph()
    coo = matrix.tocoo()
    g.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
    dist = nx.multi_source_dijkstra_path_length(g, [n + i for i in range(len(ok))])
    return np.array([dist.get(i, np.inf) for i in range(n)]), g, [n + i for i in range(len(ok))]


def reach_rows(case: dict[str, Any], name: str) -> list[dict[str, Any]]:
    graph, origins, net = case["graph"], case["origins"], case["net"]
    ours = multi_source_reach(graph, origins)
    matrix, ok = _origin_arcs(graph, origins)
    virt = net.n_nodes + np.arange(len(ok))
    ref, g, sources = _reference(case)
    exact = float(np.nanmax(np.abs(np.where(np.isfinite(ref), ours.node_time_s - ref, 0.0))))
    same_reached = bool((np.isfinite(ref) == np.isfinite(ours.node_time_s)).all())
    # Tens of microseconds each: many runs, so the best of them is a quiet moment of the shared machine.
    t_ours = best_of(lambda: multi_source_reach(graph, origins), REACH_RUNS)
    t_scipy = best_of(lambda: dijkstra(matrix, directed=True, indices=virt, min_only=True), REACH_RUNS)
    t_nx = best_of(lambda: nx.multi_source_dijkstra_path_length(g, sources), 3)
    rows = [
        {"area": name, "method": "wangge multi_source_reach", "ms": round(t_ours * 1e3, 2), "max_diff_s": exact},
        {"area": name, "method": "scipy csgraph (same matrix)", "ms": round(t_scipy * 1e3, 2), "max_diff_s": 0.0},
        {"area": name, "method": "networkx (reference)", "ms": round(t_nx * 1e3, 2), "max_diff_s": 0.0},
    ]
    try:
        import pandana

        u, v = net.edge_u, net.edge_v
        two = ~net.edge_oneway
        # Reversed arcs: nearest_pois measures from each node TO its nearest POI (the drive to the post), and on
        # one-way streets that is not how long the post takes to reach the node (given as they are, pandana
        # differs from every reference by up to 136 s in Liechtenstein and 215 s in Monaco). Reversed, it measures
        # the post's drive to each node, as scipy does from the same nodes.
        to = np.concatenate([u, v[two]])
        fr = np.concatenate([v, u[two]])
        w = np.concatenate([net.edge_time_s, net.edge_time_s[two]])
        import pandas as pd

        nodes = pd.DataFrame({"x": net.node_xy[:, 0], "y": net.node_xy[:, 1]})
        edges = pd.DataFrame({"from": fr, "to": to, "w": w})
        t0 = time.perf_counter()
        pnet = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]], twoway=False)
        build = time.perf_counter() - t0
        start = net.edge_v[origins.edge]
        xy = net.node_xy[start]
        pnet.set_pois("duty", 3600, 1, pd.Series(xy[:, 0]), pd.Series(xy[:, 1]))
        t_pd = best_of(lambda: pnet.nearest_pois(3600, "duty", num_pois=1), 10)
        got = pnet.nearest_pois(3600, "duty", num_pois=1)[1].to_numpy()
        plain = dijkstra(net.arcs("time"), directed=True, indices=np.unique(start), min_only=True)
        agree = float(np.nanmax(np.abs(np.where(np.isfinite(plain) & (got < 3600), got - plain, 0.0))))
        rows.append(
            {
                "area": name,
                "method": f"pandana nearest_pois (build {build * 1e3:.0f} ms)",
                "ms": round(t_pd * 1e3, 2),
                "max_diff_s": round(agree, 3),
            }
        )
    except ImportError:
        rows.append({"area": name, "method": "pandana", "note": "not installed (bench extra)"})
    for r in rows:
        r["reached_nodes_agree"] = same_reached
        r["nodes"] = net.n_nodes
    return rows


def osmnx_style(case: dict[str, Any]) -> tuple[list[shapely.Geometry], dict[str, float]]:
    """OSMnx's isochrone example: an ego graph per duty point and band, the convex hull of its nodes."""
    g = to_networkx(case["net"])
    xy = case["net"].node_xy
    starts = case["net"].edge_v[case["origins"].edge]
    hulls: dict[int, list[shapely.Geometry]] = {}
    for m in MINUTES:
        hulls[m] = []
        for s in starts:
            sub = nx.ego_graph(g, int(s), radius=m * 60, distance="travel_time")
            hulls[m].append(shapely.convex_hull(shapely.multipoints(xy[list(sub.nodes)])))
    shares = {}
    for m in MINUTES:
        union = shapely.union_all(hulls[m])
        inside = shapely.contains_xy(union, *shapely.get_coordinates(case["centres"]).T)
        shares[str(m)] = round(float(case["households"][inside].sum() / case["households"].sum()), 4)
    return [h for m in MINUTES for h in hulls[m]], shares


def ours_shares(case: dict[str, Any]) -> dict[str, float]:
    reach = multi_source_reach(case["graph"], case["origins"])
    t, _ = entrance_times(case["graph"], reach, case["targets"])
    t = np.where(case["reachable"], t, np.inf)
    return households_within(t, case["households"], MINUTES)


def ours_polygons(case: dict[str, Any]) -> Any:
    reach = multi_source_reach(case["graph"], case["origins"])
    return band_areas(reached_pieces(case["graph"], reach, MINUTES), buffer_m=DEFAULT_RULES.response.band_buffer_m)


def method_rows(case: dict[str, Any], name: str) -> dict[str, Any]:
    best = interleaved(lambda: ours_polygons(case), lambda: osmnx_style(case), POLYGON_RUNS, HULL_RUNS)
    t_theirs, t_poly = best["theirs"], best["ours"]
    _, their_shares = osmnx_style(case)
    t_shares = best_of(lambda: ours_shares(case), 10)
    return {
        "area": name,
        "wangge_shares_ms": round(t_shares * 1e3, 1),
        "wangge_band_polygons_ms": round(t_poly * 1e3, 1),
        "osmnx_style_ego_hulls_ms": round(t_theirs * 1e3, 1),
        "shares_speedup": round(t_theirs / t_shares, 1),
        "polygons_speedup": round(t_theirs / t_poly, 1),
        "polygons_cpu_ms": round(best["ours_cpu"] * 1e3, 1),
        "hulls_cpu_ms": round(best["theirs_cpu"] * 1e3, 1),
        "polygons_speedup_cpu": round(best["theirs_cpu"] / best["ours_cpu"], 1),
        "wangge_share_within": ours_shares(case),
        "hull_share_within": their_shares,
    }


def siting_row(case: dict[str, Any], name: str) -> dict[str, Any]:
    rules = DEFAULT_RULES
    graph = case["graph"]
    reach = multi_source_reach(graph, case["origins"])
    t, _ = entrance_times(graph, reach, case["targets"])
    target = rules.response.rural_target_minutes * 60.0 if name == "liechtenstein" else 300.0
    h = case["households"]
    rows = np.flatnonzero(case["reachable"] & (h > 0) & (t > target))
    tg = case["targets"]
    demand = Entrances(tg.edge[rows], tg.offset_m[rows], tg.distance_m[rows], tg.point[rows])
    cands = candidate_sites(graph, case["area"].metric("key_places"), rules=rules)
    t0 = time.perf_counter()
    cover = coverage_matrix(graph, cands, demand, np.full(len(rows), target))
    cover_s = time.perf_counter() - t0
    model = DutySiting(cover, h[rows])
    out: dict[str, Any] = {
        "area": name,
        "candidates": len(cands),
        "useful": len(model.useful),
        "demand_households": int(h[rows].sum()),
        "reach_sets_s": round(cover_s, 2),
    }
    for p in (1, 2, 3):
        t0 = time.perf_counter()
        sol = model.solve(p)
        out[f"p{p}_households"] = int(sol.households)
        out[f"p{p}_s"] = round(time.perf_counter() - t0, 2)
        out[f"p{p}_proven"] = sol.proven_optimal
    # Every pair of every candidate (not only those left after dominance): the best two by brute force.
    dense = model.group_cover.toarray()
    w = model.group_households
    live = np.flatnonzero(dense.any(axis=1))
    best2 = max(
        (float(((dense[i] | dense[live[k + 1 :]]) @ w).max()) for k, i in enumerate(live[:-1])),
        default=0.0,
    )
    out["p2_enumerated"] = int(best2)
    return out


def where_row(data_dir: Path, name: str, repeats: int = 300) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings
    from service.context import Context
    from service.imports import load_package
    from store.areas import Store

    tmp = Path(tempfile.mkdtemp(prefix="wangge-bench-where-"))
    url = f"sqlite:///{tmp / 'w.db'}"
    ctx = Context(store=Store.from_url(url), rules=DEFAULT_RULES)
    load_package(ctx, data_dir / f"{name}.gpkg")
    area = ctx.store.load_area(name)
    pts = area.layer("buildings")
    pts = pts[pts["community_fid"].notna()].geometry.representative_point().sample(50, random_state=0)
    with TestClient(create_app(Settings(store_url=url, data_dir=data_dir), context=ctx)) as c:
        p0 = pts.iloc[0]
        t0 = time.perf_counter()
        assert c.get(f"/areas/{name}/where", params={"lon": p0.x, "lat": p0.y}).status_code == 200
        cold = time.perf_counter() - t0
        times = []
        for i in range(repeats):
            p = pts.iloc[i % len(pts)]
            t0 = time.perf_counter()
            r = c.get(f"/areas/{name}/where", params={"lon": p.x, "lat": p.y})
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200
    return {
        "area": name,
        "requests": repeats,
        "cold_s": round(cold, 2),
        "p50_ms": round(float(np.percentile(times, 50)) * 1e3, 1),
        "p95_ms": round(float(np.percentile(times, 95)) * 1e3, 1),
    }


def run(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    reach, methods, siting, where = [], [], [], []
    for name in AREAS:
        case = setup(data_dir, name)
        reach += reach_rows(case, name)
        methods.append(method_rows(case, name))
        siting.append(siting_row(case, name))
    for name in AREAS:
        where.append(where_row(data_dir, name))
    return {"reach": reach, "methods": methods, "siting": siting, "where": where}
