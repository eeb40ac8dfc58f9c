"""Patrol routes against postman_problems and networkx's eulerize, on the same street graphs.

Inputs (built once by :func:`setup`):

* every grid of the demo plans (Monaco's nine quartiers and Vaduz, drawn with the default seed): wangge's route
  from the office past the key places, its method, whether it is proven optimal and its gap; the Chinese-postman
  ones checked against an independent exact method (networkx's blossom on the shortest ways between odd nodes);
* the street graph of Vaduz (the required streets' largest connected piece: the valley) and Vaduz with its
  footways and paths (every walking edge of the commune on the main network), each as an edge list all three
  methods read: wangge (:func:`geo.postman.postman_route` on a network built from those edges alone),
  postman_problems (``solver.cpp`` through :mod:`benchmarks.postman_problems_shim`) and networkx
  (``eulerize`` then ``eulerian_circuit``), each anchor in a forked process with a time limit;
* k = 3 balanced routes over Vaduz's valley streets from the Vaduz police post.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from shapely.geometry import Point

from benchmarks.bench_partition import with_timeout
from geo.io.gpx import route_gpx
from geo.networks import RoadNetwork, build_network
from geo.patrol import line_with_measures, required_streets, walk_frame
from geo.postman import balanced_routes, min_t_join, odd_nodes, postman_route
from geo.rules import DEFAULT_RULES, rules_from_dict
from service import patrol
from service.context import Context, entrances, road_network, study_area
from service.imports import load_package
from service.plans import draw_grids
from store.areas import Store

ANCHOR_TIMEOUT_S = 300.0  # postman_problems took 132 s on Vaduz's streets run apart
INDEPENDENT_LIMIT_S = 120.0  # the HiGHS model's time per Chinese-postman grid
RURAL_LIMIT_S = 10.0  # and per rural-postman grid (wangge reports its own gap there; this is a cross-check)
NX_MAX_ODD = 400  # networkx's blossom (pure Python, cubic) only on graphs with at most this many odd nodes


@dataclass
class Graph:
    """One street graph as every method reads it."""

    name: str
    net: RoadNetwork
    start: Point
    edges: pd.DataFrame  # u, v, distance (m), as postman_problems' edge list


def _subnetwork(net: RoadNetwork, edges: np.ndarray) -> RoadNetwork:
    """A network of some edges alone (their lines, joined where they share ends)."""
    frame = gpd.GeoDataFrame(
        {"highway": net.edge_class[edges], "name": net.edge_name[edges]},
        geometry=net.edge_geometry[edges],
        crs=net.crs,
    )
    return build_network(frame, mode="walk")


def _largest(net: RoadNetwork, edges: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = net.n_nodes
    adj = sp.coo_matrix((np.ones(len(edges)), (net.edge_u[edges], net.edge_v[edges])), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    lab = label[net.edge_u[edges]]
    out: np.ndarray = edges[lab == np.bincount(lab, weights=net.edge_length_m[edges]).argmax()]
    return out


def setup(data: Path) -> dict[str, Any]:
    """Load both demo areas into a temporary store, draw Vaduz's and Monaco's grids, build the street graphs."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-postman-"))
    ctx = Context(store=Store.from_url(f"sqlite:///{tmp / 'b.db'}"), rules=DEFAULT_RULES)
    load_package(ctx, data / "liechtenstein.gpkg")
    load_package(ctx, data / "monaco.gpkg")
    draw_grids(ctx, "liechtenstein", communities=["Vaduz"])
    draw_grids(ctx, "monaco")
    entry = ctx.area("liechtenstein")
    net = road_network(ctx, entry, "walk")
    study = study_area(ctx, entry)
    coms = study.metric("communities")
    vaduz = coms[coms["name"] == "Vaduz"].geometry.iloc[0]
    ent = entrances(ctx, entry, "walk")["edge"].to_numpy()
    streets = _largest(net, required_streets(net, vaduz, DEFAULT_RULES, entrance_edges=ent[ent >= 0]))
    # every walking edge of the commune (footways, paths, tracks, steps too), its largest connected piece
    every_class = rules_from_dict(
        {"patrol": {"required_street_classes": sorted(set(net.edge_class)), "service_only_to_buildings": False}}
    )
    walk_all = _largest(net, required_streets(net, vaduz, every_class))
    duty = study.metric("duty_points")
    base = duty[duty["name"] == "Gemeindepolizei Vaduz"].geometry.iloc[0]
    graphs = []
    for name, edges in (("Vaduz streets", streets), ("Vaduz with footways and paths", walk_all)):
        sub = _subnetwork(net, edges)
        el = pd.DataFrame(
            {"u": sub.edge_u.astype(str), "v": sub.edge_v.astype(str), "distance": sub.edge_length_m.round(3)}
        )
        el = el[el["u"] != el["v"]]  # postman_problems and eulerize take no self-loops
        graphs.append(Graph(name, sub, base, el))
    return {"ctx": ctx, "graphs": graphs, "net": net, "streets": streets, "base": base}


# -- the methods, on one graph ---------------------------------------------------------------------------------


def run_wangge(g: Graph) -> dict[str, Any]:
    """The route and its GPX, from the graph (network) to the file's text."""
    t0 = time.perf_counter()
    sub = g.net
    keep = np.flatnonzero(sub.edge_u != sub.edge_v)
    route = postman_route(sub, keep, start=g.start)
    t_route = time.perf_counter() - t0
    frame = walk_frame(route.graph, route.tour, 4.0)
    line, along = line_with_measures(frame, 4.0)
    from pyproj import Transformer

    xy = np.array(line.coords)
    lon, lat = Transformer.from_crs(sub.crs, "EPSG:4326", always_xy=True).transform(xy[:, 0], xy[:, 1])
    text = route_gpx(name=g.name, lonlat=np.column_stack([lon, lat]), distance_m=along, speed_kmh=4.0)
    return {
        "length_m": round(route.length_m, 1),
        "route_s": round(t_route, 4),
        "graph_to_gpx_s": round(time.perf_counter() - t0, 4),
        "gpx_bytes": len(text),
        "optimal": route.optimal,
    }


def run_postman_problems(g: Graph) -> dict[str, Any]:
    from benchmarks.postman_problems_shim import load

    solver = load()
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        g.edges.to_csv(f, index=False)
    t0 = time.perf_counter()
    circuit, _ = solver.cpp(f.name, start_node=str(g.edges["u"].iloc[0]))
    seconds = time.perf_counter() - t0
    return {"length_m": round(sum(e[3]["distance"] for e in circuit), 1), "route_s": round(seconds, 3)}


def run_eulerize(g: Graph) -> dict[str, Any]:
    graph = nx.MultiGraph()
    for row in g.edges.itertuples(index=False):
        graph.add_edge(row.u, row.v, distance=row.distance)
    t0 = time.perf_counter()
    euler = nx.eulerize(graph)
    circuit = list(nx.eulerian_circuit(euler, keys=True))
    seconds = time.perf_counter() - t0
    # eulerize adds copies of existing edges along hop-count shortest paths: the route walks each at its length
    length = 0.0
    for u, v, _k in circuit:
        length += min(d["distance"] for d in graph[u][v].values())
    return {"length_m": round(length, 1), "route_s": round(seconds, 3)}


def highs_optimum(
    graph: Any, required: np.ndarray, start: int, stops: np.ndarray, time_limit_s: float, upper_m: float
) -> dict[str, Any]:
    """The shortest closed walk by an independent HiGHS model: how often each piece is walked again (0, 1 or 2),
    parity at every node, and cuts for every piece of the walk that holds required nodes, the start or a stop
    but is cut off from the rest, added as they are violated. Written apart from :mod:`geo.postman`'s model.

    Only pieces within (``upper_m`` − required length) ÷ 2 of a node the walk must reach can be on a walk no
    longer than ``upper_m`` (a known walk's length): the others are fixed at 0.
    """
    import highspy
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse.csgraph import dijkstra as sp_dijkstra

    t0 = time.perf_counter()
    n_e, n_n = graph.n_edges, graph.n_nodes
    u, v, w = graph.edge_u.astype(np.int64), graph.edge_v.astype(np.int64), graph.edge_length_m
    base = required.astype(np.int64)
    must = np.zeros(n_n, dtype=bool)
    must[u[required]] = must[v[required]] = True
    must[start] = True
    must[np.asarray(stops, dtype=np.int64)] = True
    reach = (upper_m - float(w @ base)) / 2 + 1e-6
    near = sp_dijkstra(graph.matrix(), directed=False, indices=np.flatnonzero(must), min_only=True, limit=reach)
    loops = (u == v) | ~(np.isfinite(near[u]) & np.isfinite(near[v]))
    deg = np.bincount(u, weights=base, minlength=n_n) + np.bincount(v, weights=base, minlength=n_n)
    parity = (np.round(deg).astype(np.int64) % 2).astype(float)
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", 1)
    n_col = n_e + n_n
    h.addVars(n_col, np.zeros(n_col), np.concatenate([np.where(loops, 0.0, 2.0), np.full(n_n, 2.0 * n_e)]))
    idx = np.arange(n_col, dtype=np.int32)
    h.changeColsCost(n_col, idx, np.concatenate([w, np.zeros(n_n)]))
    h.changeColsIntegrality(n_col, idx, np.full(n_col, highspy.HighsVarType.kInteger))
    # parity rows: sum of x over the node's (non-loop) pieces - 2 z_v = parity of the required degree
    keep = np.flatnonzero(~loops)
    rows = np.concatenate([u[keep], v[keep], np.arange(n_n)])
    cols = np.concatenate([keep, keep, n_e + np.arange(n_n)])
    vals = np.concatenate([np.ones(2 * len(keep)), np.full(n_n, -2.0)])
    a = sp.csr_matrix((vals, (rows, cols)), shape=(n_n, n_col))
    h.addRows(n_n, parity, parity, a.nnz, a.indptr[:-1].astype(np.int32), a.indices.astype(np.int32), a.data)
    cuts = 0
    while True:
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            bound = float(w @ base) + h.getInfo().mip_dual_bound
            return {"optimal": False, "bound_m": bound, "cuts": cuts, "s": time_limit_s}
        h.setOptionValue("time_limit", float(left))
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            bound = float(w @ base) + h.getInfo().mip_dual_bound
            return {"optimal": False, "bound_m": float(bound), "cuts": cuts, "s": time.perf_counter() - t0}
        x = np.round(np.asarray(h.getSolution().col_value[:n_e])).astype(np.int64)
        counts = base + x
        on = counts > 0
        adj = sp.coo_matrix((np.ones(int(on.sum())), (u[on], v[on])), shape=(n_n, n_n))
        _, label = connected_components(adj, directed=False)
        pieces = np.unique(label[must])
        if len(pieces) == 1:
            return {
                "optimal": True,
                "length_m": float(counts @ w),
                "cuts": cuts,
                "s": time.perf_counter() - t0,
            }
        for c in pieces:
            inside = label == c
            cross = np.flatnonzero(inside[u] != inside[v])
            h.addRow(2.0, highspy.kHighsInf, len(cross), cross.astype(np.int32), np.ones(len(cross)))
            cuts += 1


def networkx_t_join(graph: Any, terminals: np.ndarray) -> float:
    """The minimum T-join by networkx's blossom on the complete graph of shortest ways between the terminals."""
    g = nx.Graph()
    for e in range(graph.n_edges):
        u, v, w = int(graph.edge_u[e]), int(graph.edge_v[e]), float(graph.edge_length_m[e])
        if u != v and (not g.has_edge(u, v) or g[u][v]["w"] > w):
            g.add_edge(u, v, w=w)
    odd = [int(t) for t in terminals]
    dist = {t: nx.single_source_dijkstra_path_length(g, t, weight="w") for t in odd}
    h = nx.Graph()
    for i, a in enumerate(odd):
        for b in odd[i + 1 :]:
            h.add_edge(a, b, weight=-round(dist[a][b] * 1000))
    m = nx.max_weight_matching(h, maxcardinality=True)
    return float(sum(dist[a][b] for a, b in m))


def _grid_routes(ctx: Context, area: str) -> list[tuple[str, str, Any]]:
    """(plan id, grid code, covering route) of every grid of the area's plans, planned as the service plans them."""
    from geo.patrol import choose_office, grid_stops, plan_grid_route

    entry = ctx.area(area)
    net = road_network(ctx, entry, "walk")
    study = study_area(ctx, entry)
    kp = study.metric("key_places")
    ent = entrances(ctx, entry, "walk")["edge"].to_numpy()
    out = []
    for plan in ctx.store.plans.list(area):
        grids = ctx.store.plans.grids(area, plan.plan_id).to_crs(study.metric_crs)
        for code, geom in zip(grids["code"], grids.geometry, strict=True):
            req = required_streets(net, geom, DEFAULT_RULES, entrance_edges=ent[ent >= 0])
            office = choose_office(geom, kp, community_fid=plan.community_fid, net=net)
            gr = plan_grid_route(net, req, office, grid_stops(geom, kp, DEFAULT_RULES), DEFAULT_RULES)
            out.append((plan.plan_id, str(code), gr.route))
    return out


def grid_rows(ctx: Context) -> list[dict[str, Any]]:
    """Every demo grid's route against the independent HiGHS model, and the service end to end per area."""
    rows = []
    for area in ("monaco", "liechtenstein"):
        t0 = time.perf_counter()
        patrol.plan_routes(ctx, area)
        seconds = time.perf_counter() - t0
        for _pid, code, route in _grid_routes(ctx, area):
            print(f"  grid {code}: {route.method}, independent model", file=sys.stderr, flush=True)
            limit = INDEPENDENT_LIMIT_S if route.method == "chinese_postman" else RURAL_LIMIT_S
            ref = highs_optimum(route.graph, route.required, route.start, route.stops, limit, route.length_m)
            row: dict[str, Any] = {
                "area": area,
                "grid": code,
                "method": route.method,
                "required_km": round(route.required_length_m / 1000, 3),
                "stops": int(len(route.stops)),
                "route_km": round(route.length_m / 1000, 3),
                "optimal": route.optimal,
                "gap": route.gap,
                "solve_s": route.seconds,
            }
            if ref["optimal"]:
                row["independent_km"] = round(ref["length_m"] / 1000, 3)
                row["equal"] = abs(ref["length_m"] - route.length_m) < 0.01
            else:
                row["independent_km"] = f"no proof in {limit:g} s (bound {ref['bound_m'] / 1000:.3f})"
                row["equal"] = None
            row["independent_s"] = round(ref["s"], 2)
            rows.append(row)
        rows.append({"area": area, "grid": "(every grid, service end to end)", "solve_s": round(seconds, 2)})
    return rows


def chinese_check(g: Graph) -> dict[str, Any]:
    """Our T-join against the independent methods on the same graph (networkx's blossom where it is small)."""
    sub = g.net
    keep = np.flatnonzero(sub.edge_u != sub.edge_v)
    route = postman_route(sub, keep, start=g.start)
    odd = odd_nodes(route.graph, route.required.astype(np.int64))
    t0 = time.perf_counter()
    min_t_join(route.graph, odd)
    ours_tjoin_s = time.perf_counter() - t0
    ref = highs_optimum(route.graph, route.required, route.start, route.stops, 600.0, route.length_m)
    out = {
        "graph": g.name,
        "method": route.method,
        "odd_nodes": int(len(odd)),
        "wangge_m": round(route.length_m, 3),
        "highs_m": round(ref["length_m"], 3) if ref["optimal"] else None,
        "equal_highs": ref["optimal"] and abs(route.length_m - ref["length_m"]) < 0.01,
        "t_join_s": round(ours_tjoin_s, 4),
        "highs_s": round(ref["s"], 2),
    }
    if len(odd) <= NX_MAX_ODD:
        t0 = time.perf_counter()
        exact = float(route.graph.edge_length_m[route.required].sum()) + networkx_t_join(route.graph, odd)
        out.update(
            networkx_blossom_m=round(exact, 3),
            equal_networkx=abs(route.length_m - exact) < 0.01,
            networkx_s=round(time.perf_counter() - t0, 2),
        )
    return out


def run(data: Path) -> dict[str, Any]:
    """Every measure of the section."""
    from benchmarks import bench_matching

    say("patrol: loading both demo areas and drawing their grids")
    s = setup(data)
    say("patrol: every demo grid against the independent model")
    out: dict[str, Any] = {"graphs": [], "checks": [], "grids": grid_rows(s["ctx"])}
    for g in s["graphs"]:
        say(f"patrol: {g.name}: wangge, postman_problems, eulerize")
        ours = min((run_wangge(g) for _ in range(5)), key=lambda r: r["graph_to_gpx_s"])
        row: dict[str, Any] = {
            "graph": g.name,
            "nodes": g.net.n_nodes,
            "edges": int(len(g.edges)),
            "km": round(float(g.edges["distance"].sum()) / 1000, 1),
            "wangge_km": round(ours["length_m"] / 1000, 3),
            "wangge_s": ours["route_s"],
            "graph_to_gpx_s": ours["graph_to_gpx_s"],
        }
        for label, fn in (("postman_problems", run_postman_problems), ("eulerize", run_eulerize)):
            status, got = with_timeout(fn, g, seconds=ANCHOR_TIMEOUT_S)
            if status == "ok":
                row[f"{label}_km"] = round(got["length_m"] / 1000, 3)
                row[f"{label}_s"] = got["route_s"]
                row[f"{label}_÷_wangge_time"] = round(got["route_s"] / ours["route_s"], 0)
            else:
                row[f"{label}_km"] = None
                row[f"{label}_s"] = got
        out["graphs"].append(row)
        out["checks"].append(chinese_check(g))
    say("patrol: k = 3 over Vaduz's streets")
    t0 = time.perf_counter()
    k3 = balanced_routes(s["net"], s["streets"], base=s["base"], k=3, time_limit_s=5)
    out["k3"] = {
        "streets_km": round(float(s["net"].edge_length_m[s["streets"]].sum()) / 1000, 1),
        "single_route_km": round(k3.single.length_m / 1000, 3),
        "routes_km": ", ".join(f"{r.length_m / 1000:.2f}" for r in k3.routes),
        "lower_bound_km": round(k3.lower_bound_m / 1000, 3),
        "longest_÷_bound": k3.ratio,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    say("patrol: map matching, wangge and leuvenmapmatching")
    out["matching"] = bench_matching.run(s["ctx"])
    return out


def say(text: str) -> None:
    """Progress on stderr."""
    print(text, file=sys.stderr, flush=True)
