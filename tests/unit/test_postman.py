"""Postman routes on hand-made street graphs, checked against independent exact methods.

The street graphs are random planar-ish lattices of residential streets::

    o---o---o---o
    |   |   |   |
    o---o---o---o      (some streets removed, lengths jittered, a few diagonals)
    |   |   |   |
    o---o---o---o
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import highspy
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from geo.errors import DisconnectedStreetsError, NoStreetsError, OfficeOffNetworkError
from geo.networks import build_network
from geo.postman import (
    balanced_routes,
    euler_tour,
    min_t_join,
    odd_nodes,
    postman_route,
    split_network,
    tour_nodes,
)


def lattice(rng: np.random.Generator, nx_: int = 4, ny: int = 3, drop: float = 0.15, step: float = 100.0):
    """Random streets on a jittered lattice (EPSG:32632), as a roads frame."""
    pts = {
        (i, j): (i * step + rng.uniform(-20, 20), j * step + rng.uniform(-20, 20))
        for i in range(nx_)
        for j in range(ny)
    }
    lines = []
    for (i, j), p in pts.items():
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            q = pts.get((i + di, j + dj))
            if q is None or ((di, dj) == (1, 1) and rng.random() > 0.2) or rng.random() < drop:
                continue
            mid = ((p[0] + q[0]) / 2 + rng.uniform(-10, 10), (p[1] + q[1]) / 2 + rng.uniform(-10, 10))
            lines.append(LineString([p, mid, q]))
    return gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs="EPSG:32632")


def largest_component_edges(net) -> np.ndarray:
    return np.flatnonzero(net.component[net.edge_u] == 0)


def exact_t_join_nx(graph, terminals) -> float:
    """Minimum T-join by networkx: shortest paths between terminals, then a maximum-weight perfect matching."""
    g = nx.Graph()
    for e in range(graph.n_edges):
        u, v, w = int(graph.edge_u[e]), int(graph.edge_v[e]), round(float(graph.edge_length_m[e]) * 1000)
        if u != v and (not g.has_edge(u, v) or g[u][v]["w"] > w):
            g.add_edge(u, v, w=w)
    d = {t: nx.single_source_dijkstra_path_length(g, t, weight="w") for t in terminals}
    h = nx.Graph()
    for a, b in itertools.combinations(terminals, 2):
        h.add_edge(a, b, weight=-d[a][b])
    m = nx.max_weight_matching(h, maxcardinality=True)
    return sum(d[a][b] for a, b in m) / 1000


def exact_postman_highs(graph, required: np.ndarray, start: int) -> float:
    """An independent exact model: extra passes per edge in {0,1,2}, parity at every node, connectivity cuts."""
    n_e = graph.n_edges
    base = required.astype(float)
    loops = graph.edge_u == graph.edge_v
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("output_flag", False)
    n_n = graph.n_nodes
    h.addVars(n_e + n_n, np.zeros(n_e + n_n), np.concatenate([np.where(loops, 0.0, 2.0), np.full(n_n, 1e6)]))
    h.changeColsCost(
        n_e + n_n, np.arange(n_e + n_n, dtype=np.int32), np.concatenate([graph.edge_length_m, np.zeros(n_n)])
    )
    h.changeColsIntegrality(
        n_e + n_n, np.arange(n_e + n_n, dtype=np.int32), np.full(n_e + n_n, highspy.HighsVarType.kInteger)
    )
    deg = np.bincount(graph.edge_u, weights=base, minlength=n_n) + np.bincount(
        graph.edge_v, weights=base, minlength=n_n
    )
    for v in range(n_n):
        idx = [e for e in range(n_e) if not loops[e] and v in (graph.edge_u[e], graph.edge_v[e])]
        par = float(int(round(deg[v])) % 2)
        h.addRow(par, par, len(idx) + 1, np.array([*idx, n_e + v], dtype=np.int32), np.array([1.0] * len(idx) + [-2.0]))
    must = set(np.concatenate([graph.edge_u[required], graph.edge_v[required], [start]]).tolist())
    while True:
        h.run()
        x = np.round(h.getSolution().col_value[:n_e]).astype(int)
        counts = required.astype(int) + x
        g = nx.MultiGraph()
        g.add_nodes_from(must)
        for e in np.flatnonzero(counts > 0):
            g.add_edge(int(graph.edge_u[e]), int(graph.edge_v[e]))
        comps = [c for c in nx.connected_components(g) if c & must]
        if len(comps) == 1:
            return float(counts @ graph.edge_length_m)
        for c in comps:
            idx = [e for e in range(n_e) if (graph.edge_u[e] in c) != (graph.edge_v[e] in c)]
            h.addRow(2.0, highspy.kHighsInf, len(idx), np.array(idx, dtype=np.int32), np.ones(len(idx)))


def check_tour(route) -> None:
    """A closed walk from the start that uses every piece exactly as often as its count."""
    g = route.graph
    nodes = tour_nodes(g, route.tour, route.start)
    assert nodes[0] == route.start and nodes[-1] == route.start
    for (e, _fwd), a, b in zip(route.tour, nodes[:-1], nodes[1:]):
        assert {int(g.edge_u[e]), int(g.edge_v[e])} == {int(a), int(b)}
    used = np.bincount([e for e, _ in route.tour], minlength=g.n_edges)
    assert (used == route.counts).all()
    assert all(c >= 1 for c in route.traversals().values())


@pytest.mark.parametrize("seed", range(12))
def test_t_join_equals_networkx_matching(seed):
    rng = np.random.default_rng(seed)
    net = build_network(lattice(rng), mode="walk")
    g, _, _ = split_network(net, [])
    comp = g.components()
    nodes = np.flatnonzero(comp == comp[g.edge_u[0]])
    terminals = rng.choice(nodes, size=2 * int(rng.integers(1, len(nodes) // 2 + 1)), replace=False)
    got = min_t_join(g, np.sort(terminals))
    assert odd_nodes(g, got).tolist() == sorted(terminals.tolist())
    assert float(got @ g.edge_length_m) == pytest.approx(exact_t_join_nx(g, terminals.tolist()), abs=2e-3)


@pytest.mark.parametrize("seed", range(8))
def test_chinese_postman_equals_an_independent_highs_model(seed):
    rng = np.random.default_rng(100 + seed)
    net = build_network(lattice(rng, 5, 4), mode="walk")
    req = largest_component_edges(net)
    start = Point(net.node_xy[net.edge_u[req[0]]])
    route = postman_route(net, req, start=start)
    assert route.method == "chinese_postman" and route.optimal
    check_tour(route)
    required = route.required
    assert route.length_m == pytest.approx(exact_postman_highs(route.graph, required, route.start), abs=2e-3)


@pytest.mark.parametrize("seed", range(8))
def test_rural_postman_equals_an_independent_highs_model(seed):
    rng = np.random.default_rng(200 + seed)
    net = build_network(lattice(rng, 5, 4, drop=0.05), mode="walk")
    main = largest_component_edges(net)
    req = rng.choice(main, size=max(3, len(main) // 4), replace=False)  # scattered: several pieces
    route = postman_route(net, req, start=Point(net.node_xy[net.edge_u[main[0]]]), time_limit_s=30)
    check_tour(route)
    exact = exact_postman_highs(route.graph, route.required, route.start)
    assert route.optimal, route.stats
    assert route.length_m == pytest.approx(exact, abs=2e-3)
    assert route.lower_bound_m == pytest.approx(route.length_m, abs=2e-3)


def test_rural_postman_without_time_reports_a_bound_and_gap():
    rng = np.random.default_rng(7)
    net = build_network(lattice(rng, 6, 5, drop=0.05), mode="walk")
    main = largest_component_edges(net)
    req = main[::5]
    route = postman_route(net, req, start=Point(net.node_xy[net.edge_u[main[0]]]), time_limit_s=0)
    assert route.method == "rural_postman" and not route.optimal
    exact = exact_postman_highs(route.graph, route.required, route.start)
    assert route.lower_bound_m <= exact + 1e-3 <= route.length_m + 2e-3
    assert route.gap == pytest.approx((route.length_m - route.lower_bound_m) / route.length_m, abs=1e-4)


def test_office_off_a_street_splits_it_and_starts_there():
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"]},
        geometry=[LineString(box(0, 0, 100, 100).exterior.coords)],  # a ring: one self-loop edge
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    route = postman_route(net, np.arange(net.n_edges), start=Point(50, -3))
    assert route.length_m == pytest.approx(400.0)
    assert tuple(route.graph.node_xy[route.start]) == pytest.approx((50.0, 0.0))
    check_tour(route)


def test_stops_off_the_required_streets_are_visited():
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "footway"]},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 80)])],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    street = int(np.flatnonzero(net.edge_class == "residential")[0])
    route = postman_route(net, [street], start=Point(0, 0), stops=[Point(103, 60)])
    assert route.length_m == pytest.approx(200 + 120)  # the street there and back, the footway to the stop and back
    assert route.optimal and route.method == "rural_postman"
    assert any(tuple(route.graph.node_xy[n]) == pytest.approx((100.0, 60.0)) for n in route.nodes())


def test_bad_input_is_refused_clearly():
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "residential"]},
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(0, 500), (60, 500)])],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    far_street = int(np.flatnonzero(net.component[net.edge_u] != net.component[net.edge_u[0]])[0])
    near_street = 1 - far_street
    with pytest.raises(NoStreetsError):
        postman_route(net, [], start=Point(0, 0))
    with pytest.raises(OfficeOffNetworkError) as off:
        postman_route(net, [0], start=Point(50, 300), max_start_distance_m=100)
    # a start meets the largest component (the street at y = 0), as buildings do
    assert off.value.context["distance_m"] == pytest.approx(300.0)
    start_on_near = Point(net.node_xy[net.edge_u[near_street]])
    with pytest.raises(DisconnectedStreetsError):
        postman_route(net, [far_street], start=start_on_near)
    # some streets unreachable: the route covers the rest and names them
    route = postman_route(net, [0, 1], start=start_on_near)
    assert route.unreachable.tolist() == [far_street]


def test_euler_tour_of_a_doubled_path():
    net = build_network(
        gpd.GeoDataFrame(
            {"highway": ["residential"] * 2},
            geometry=[LineString([(0, 0), (10, 0)]), LineString([(10, 0), (20, 0)])],
            crs="EPSG:32632",
        ),
        mode="walk",
    )
    g, _, _ = split_network(net, [])
    start = int(np.flatnonzero((g.node_xy == (0, 0)).all(axis=1))[0])
    tour = euler_tour(g, np.array([2, 2]), start)
    assert len(tour) == 4 and tour_nodes(g, tour, start)[-1] == start


@pytest.mark.parametrize("k", [2, 3])
def test_balanced_routes_cover_everything_and_respect_the_bound(k):
    rng = np.random.default_rng(42)
    net = build_network(lattice(rng, 7, 5, drop=0.1), mode="walk")
    req = largest_component_edges(net)
    base = Point(net.node_xy[net.edge_u[req[0]]])
    out = balanced_routes(net, req, base=base, k=k, time_limit_s=2)
    assert len(out.routes) == k
    covered = set()
    for r in out.routes:
        check_tour(r)
        covered |= {int(e) for e in r.graph.edge_source[r.counts > 0]}
    assert set(req.tolist()) <= covered
    assert out.lower_bound_m <= out.longest_m + 1e-6 and out.ratio >= 1.0
    # the bound is the larger of the single route / k and the longest out-and-back
    assert out.lower_bound_m >= out.single.lower_bound_m / k - 1e-6
    assert out.ratio < 1.35


def test_matching_weights_are_whole_millimetres():
    # Two ways between the terminals, the second 1 mm longer over 1 km: the matching must see the difference.
    a, b = 3.0, 3.0822  # 2 * hypot(500, b) - 2 * hypot(500, a) = 1.0 mm
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 4},
        geometry=[
            LineString([(0, 0), (500, -b)]),
            LineString([(500, -b), (1000, 0)]),
            LineString([(0, 0), (500, a)]),
            LineString([(500, a), (1000, 0)]),
        ],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    g, _, _ = split_network(net, [])
    ends = [int(np.flatnonzero((g.node_xy == (x, 0)).all(axis=1))[0]) for x in (0, 1000)]
    got = min_t_join(g, np.array(sorted(ends)))
    assert float(got @ g.edge_length_m) == pytest.approx(2 * np.hypot(500, a), abs=1e-6)
