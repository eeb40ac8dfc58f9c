"""Response reach on hand-made streets (metres, EPSG:32632, driving at 36 km/h = 10 m/s unless said).

The little town::

    D (0,100) ------- E (100,100) ------- F (200,100)
        |                 |                   |
        |                 |                   ^ one-way north (C -> F)
        |                 |                   |
    A (0,0) --------- B (100,0) --------- C (200,0)

Every street 100 m, 10 s; CF is one-way from C to F.
"""

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo.networks import Entrances, build_network, snap_to_edges, travel_costs
from geo.reach import (
    Origins,
    ReachGraph,
    band_areas,
    band_of,
    each_origin_times,
    entrance_times,
    entrance_times_each,
    households_within,
    junction_nodes,
    multi_source_reach,
    reached_pieces,
    tabulate,
)
from geo.rules import rules_from_dict

CRS = "EPSG:32632"
RULES = rules_from_dict({"network": {"drive": {"speeds_kmh": {"residential": 36.0, "tertiary": 36.0}}}})
XY = {"A": (0, 0), "B": (100, 0), "C": (200, 0), "D": (0, 100), "E": (100, 100), "F": (200, 100)}


def town(extra=()):
    streets = [("A", "B"), ("B", "C"), ("D", "E"), ("E", "F"), ("A", "D"), ("B", "E"), ("C", "F"), *extra]
    oneway = ["yes" if s == ("C", "F") else None for s in streets]
    return gpd.GeoDataFrame(
        {"highway": ["residential"] * len(streets), "oneway": oneway, "name": [a + b for a, b in streets]},
        geometry=[LineString([XY[a], XY[b]]) for a, b in streets],
        crs=CRS,
    )


@pytest.fixture()
def net():
    return build_network(town(), mode="drive", rules=RULES)


def node(net, name):
    return int(np.flatnonzero((np.round(net.node_xy) == XY[name]).all(axis=1))[0])


def reference(net, origins, junction_delay):
    """Node times by networkx from a super-source, built from the edges themselves (not from our matrices)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_nodes))

    def arc(a, b, w):
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(a, b, w=w)

    for e in range(net.n_edges):
        u, v, t = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_time_s[e])
        arc(u, v, t + junction_delay[u])
        if not net.edge_oneway[e]:
            arc(v, u, t + junction_delay[v])
    for j in range(len(origins)):
        e = int(origins.edge[j])
        u, v, t, f = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_time_s[e]), float(origins.frac[j])
        arc("S", ("o", j), float(origins.start_s[j]))
        arc(("o", j), v, (1 - f) * t)
        if not net.edge_oneway[e] or f == 0:  # backwards on a two-way edge, or standing on its start node
            arc(("o", j), u, f * t)
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="w")
    return np.array([dist.get(i, np.inf) for i in range(net.n_nodes)])


def test_times_from_a_duty_point_with_readiness_are_hand_computed(net):
    # A duty point 30 m along AB, on the street, 60 s readiness.
    graph = ReachGraph.of(net)
    origins = Origins.at(graph, snap_to_edges(net, [Point(30, 0)]), delay_s=[60.0])
    reach = multi_source_reach(graph, origins)
    want = {"A": 63, "B": 67, "C": 77, "D": 73, "E": 77, "F": 87}
    for name, t in want.items():
        assert reach.node_time_s[node(net, name)] == pytest.approx(t), name


def test_one_way_street_is_driven_only_its_way(net):
    graph = ReachGraph.of(net)
    # From F, C lies across the one-way CF: F -> E -> B -> C is 30 s; a house 20 m up CF is reached from C.
    at_f = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(200, 100)])))
    assert at_f.node_time_s[node(net, "C")] == pytest.approx(30)
    t, _ = entrance_times(graph, at_f, snap_to_edges(net, [Point(200, 20)]))
    assert t[0] == pytest.approx(30 + 2)
    # A duty point 50 m up CF reaches a house 20 m up CF (behind it) only round the block.
    mid = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(200, 50)])))
    t, _ = entrance_times(graph, mid, snap_to_edges(net, [Point(200, 20), Point(200, 80)]))
    assert t[1] == pytest.approx(3)  # ahead on its own edge
    assert t[0] == pytest.approx(5 + 30 + 2)  # F, E, B, C, then 20 m up


def test_readiness_decides_who_gets_there_first(net):
    graph = ReachGraph.of(net)
    ents = snap_to_edges(net, [Point(0, 0), Point(200, 0)])
    quick = multi_source_reach(graph, Origins.at(graph, ents, delay_s=[0.0, 0.0]))
    assert quick.node_origin[node(net, "C")] == 1 and quick.node_origin[node(net, "B")] in (0, 1)
    slow = multi_source_reach(graph, Origins.at(graph, ents, delay_s=[0.0, 25.0]))
    assert slow.node_origin[node(net, "C")] == 0 and slow.node_time_s[node(net, "C")] == pytest.approx(20)
    assert slow.node_origin[node(net, "F")] == 0  # 30 s from A against 25 + 10 from C


def test_junction_delay_is_paid_at_each_junction_passed(net):
    assert junction_nodes(net).sum() == 2  # B and E; A, C, D, F are corners
    graph = ReachGraph.of(net, junction_delay_s=7.0)
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(0, 0)])))
    times = {name: reach.node_time_s[node(net, name)] for name in XY}
    # B is reached at 10 s (a node's time is its arrival); C through B pays B's 7 s; E is nearer round by D
    # (a corner: no delay) than through B; F through E or up the one-way from C: 37 s both.
    assert times == pytest.approx({"A": 0, "B": 10, "C": 27, "D": 10, "E": 20, "F": 37})
    # A house on BC is reached through B, paying its delay, plus its 10 m walk (9 s).
    t, _ = entrance_times(graph, reach, snap_to_edges(net, [Point(150, 10)]))
    assert t[0] == pytest.approx(10 + 7 + 5 + 9)


def test_matches_a_reference_and_travel_costs_on_every_node():
    rng = np.random.default_rng(3)
    # A 6 x 6 grid of 80 m blocks, a third of its streets one-way in a random direction.
    lines, oneway = [], []
    for i in range(6):
        for j in range(6):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < 6 and j + dj < 6:
                    a, b = (i * 80, j * 80), ((i + di) * 80, (j + dj) * 80)
                    if rng.random() < 0.5:
                        a, b = b, a
                    lines.append(LineString([a, b]))
                    oneway.append("yes" if rng.random() < 0.33 else None)
    roads = gpd.GeoDataFrame(
        {"highway": rng.choice(["residential", "tertiary"], len(lines)), "oneway": oneway}, geometry=lines, crs=CRS
    )
    net = build_network(roads, mode="drive", rules=rules_from_dict({}))
    places = [Point(rng.uniform(0, 400), rng.uniform(0, 400)) for _ in range(5)]
    ents = snap_to_edges(net, places)
    delays = rng.uniform(0, 90, 5)
    for junction in (0.0, 4.0):
        graph = ReachGraph.of(net, junction_delay_s=junction)
        origins = Origins.at(graph, ents, delay_s=delays)
        got = multi_source_reach(graph, origins).node_time_s
        want = reference(net, origins, graph.junction_delay_s)
        assert np.isfinite(want).sum() > 20 and np.allclose(got, want, rtol=0, atol=1e-9)
        # Each duty point on its own, every node: the same as a reach from it alone.
        each = each_origin_times(graph, origins)
        for j in range(5):
            alone = Origins(origins.edge[[j]], origins.frac[[j]], origins.start_s[[j]])
            assert np.allclose(each[j], multi_source_reach(graph, alone).node_time_s, atol=1e-9)
        assert np.allclose(each.min(axis=0), got, atol=1e-9)
    # Without delays, the same as geo.networks.travel_costs at nodes and at building entrances.
    graph = ReachGraph.of(net)
    houses = [Point(rng.uniform(0, 400), rng.uniform(0, 400)).buffer(4) for _ in range(60)]
    targets = snap_to_edges(net, houses)
    reach = multi_source_reach(graph, Origins.at(graph, ents))
    t, who = entrance_times(graph, reach, targets)
    theirs = travel_costs(net, ents, targets=targets)
    assert np.allclose(reach.node_time_s, theirs.node_cost, atol=1e-9)
    assert np.allclose(t, theirs.target_cost, atol=1e-9)
    each = entrance_times_each(
        graph, Origins.at(graph, ents), each_origin_times(graph, Origins.at(graph, ents)), targets
    )
    assert np.allclose(each.min(axis=0), t, atol=1e-9)
    assert (who[np.isfinite(t)] == each.argmin(axis=0)[np.isfinite(t)]).mean() > 0.95  # ties may go either way


def test_limit_stops_the_search(net):
    graph = ReachGraph.of(net)
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(0, 0)])), limit_s=15)
    assert np.isfinite(reach.node_time_s).sum() == 3  # A, B, D


def test_an_unsnapped_duty_point_reaches_nothing(net):
    graph = ReachGraph.of(net)
    empty = Entrances(np.array([-1]), np.array([np.nan]), np.array([np.nan]), np.array([None], dtype=object))
    reach = multi_source_reach(graph, Origins.at(graph, empty))
    assert np.isinf(reach.node_time_s).all() and (reach.node_origin == -1).all()


def test_households_by_band():
    t = np.array([20.0, 70.0, 200.0, 299.0, 301.0, np.inf])
    h = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 5.0])
    assert households_within(t, h, [1, 3, 5]) == {"1": 0.05, "3": 0.15, "5": 0.5}
    assert band_of(t, [5, 1, 3]).tolist() == [1, 3, 5, 5, 0, 0]
    import pandas as pd

    table = tabulate(t, h, pd.Series(["x", "x", "y", "y", "y", "z"]), [1, 5], target_s=np.full(6, 250.0))
    assert table.loc["y"].to_dict() == {
        "households": 12.0,
        "buildings": 3,
        "within_1": 0.0,
        "within_5": 7.0,
        "within_target": 3.0,
    }


def test_pieces_are_split_where_duty_points_meet(net):
    graph = ReachGraph.of(net)
    # Duty points at A (ready at once) and C (4 s later): on BC, A arrives at B at 10 s, C's crew leaves C at 4 s;
    # at 0.1 s/m they meet 20 m from B (12 s each).
    ents = snap_to_edges(net, [Point(0, 0), Point(200, 0)])
    reach = multi_source_reach(graph, Origins.at(graph, ents, delay_s=[0.0, 4.0]))
    pieces = reached_pieces(graph, reach, [1])
    bc = pieces[pieces["edge"] == int(np.flatnonzero(net.edge_name == "BC")[0])]
    assert sorted((int(r.origin), round(r.start_m, 6), round(r.end_m, 6)) for r in bc.itertuples()) == [
        (0, 0.0, 20.0),
        (1, 20.0, 100.0),
    ]
    # Everything is reached within a minute, every metre exactly once.
    assert shapely.length(pieces.geometry).sum() == pytest.approx(net.edge_length_m.sum())
    # A duty point in the middle of AB with a slow start: A's side of its own edge goes to the one at A.
    ents = snap_to_edges(net, [Point(0, 0), Point(50, 0)])
    reach = multi_source_reach(graph, Origins.at(graph, ents, delay_s=[0.0, 3.0]))
    pieces = reached_pieces(graph, reach, [1])
    ab = pieces[pieces["edge"] == int(np.flatnonzero(net.edge_name == "AB")[0])]
    # A's crew at x is at 0.1x s; the middle one at 3 + 0.1|x - 50|: they meet at x = 40.
    assert sorted((int(r.origin), round(r.start_m, 6), round(r.end_m, 6)) for r in ab.itertuples()) == [
        (0, 0.0, 40.0),
        (1, 40.0, 100.0),
    ]
    assert shapely.length(pieces.geometry).sum() == pytest.approx(net.edge_length_m.sum())


def test_pieces_stop_where_time_runs_out():
    # One long street, 1,000 m at 10 m/s, a duty point at 0 with 30 s readiness: in 1 minute, 300 m.
    roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (1000, 0)])], crs=CRS)
    net = build_network(roads, mode="drive", rules=RULES)
    graph = ReachGraph.of(net)
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(0, 0)]), delay_s=[30.0]))
    pieces = reached_pieces(graph, reach, [1, 2])
    lengths = dict(zip(pieces["minutes"], shapely.length(pieces.geometry)))
    assert lengths == pytest.approx({1: 300.0, 2: 900.0})
    # From the middle, two ways.
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(500, 0)])))
    pieces = reached_pieces(graph, reach, [1])
    assert shapely.length(pieces.geometry).sum() == pytest.approx(1000.0)
    (own,) = pieces.itertuples()
    assert (own.start_m, own.end_m) == (pytest.approx(0.0), pytest.approx(1000.0))


def test_band_areas_follow_streets_not_hulls_and_never_overlap():
    # An L of streets: the hull of its reached nodes covers the empty corner; the buffered streets do not.
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3},
        geometry=[LineString([(0, 0), (500, 0)]), LineString([(0, 0), (0, 500)]), LineString([(500, 0), (1000, 0)])],
        crs=CRS,
    )
    net = build_network(roads, mode="drive", rules=RULES)
    graph = ReachGraph.of(net)
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(0, 0), Point(1000, 0)])))
    areas = band_areas(reached_pieces(graph, reach, [1]), buffer_m=20)
    assert sorted(areas["origin"]) == [0, 1]
    corner = Point(250, 250)
    assert not areas.geometry.intersects(corner).any()
    assert shapely.convex_hull(shapely.multipoints(net.node_xy)).contains(corner)
    a, b = areas.geometry.to_numpy()
    assert shapely.intersection(a, b).area < 1e-6  # split where they meet
    # They meet at x = 500 (50 s each): the buffers' overlap there is split down the middle, not given whole to one.
    assert a.bounds[2] == pytest.approx(500, abs=3) and b.bounds[0] == pytest.approx(500, abs=3)
    assert shapely.union_all([a, b]).area == pytest.approx(
        shapely.buffer(shapely.multilinestrings(net.edge_geometry), 20, quad_segs=4).area, rel=0.01
    )


def test_the_arcs_with_the_origins_are_built_once_per_graph(net, monkeypatch):
    # A query from origins already asked from is one csgraph call: the matrix with their virtual nodes is kept on
    # them, per reach graph (the same origins on another graph, here with junction delays, get their own).
    import geo.reach as reach_module

    built = []
    real = reach_module._origin_arcs
    monkeypatch.setattr(reach_module, "_origin_arcs", lambda g, o: built.append(g) or real(g, o))
    plain, delayed = ReachGraph.of(net), ReachGraph.of(net, junction_delay_s=7.0)
    origins = Origins.at(plain, snap_to_edges(net, [Point(0, 0)]))
    first = multi_source_reach(plain, origins).node_time_s
    again = multi_source_reach(plain, origins).node_time_s
    each = each_origin_times(plain, origins)
    assert len(built) == 1 and np.array_equal(first, again) and np.array_equal(each[0], first)
    slow = multi_source_reach(delayed, origins).node_time_s
    assert len(built) == 2
    assert slow[node(net, "C")] == pytest.approx(first[node(net, "C")] + 7.0)  # through B, a junction
    assert multi_source_reach(plain, origins, limit_s=15).node_time_s[node(net, "C")] == np.inf


def test_substrings_equal_shapely_substring():
    # The vectorised cut of many lines at once against shapely.ops.substring one by one: cuts inside segments, on
    # vertices, at both ends, a whole line, a repeated vertex, and lines one after another in the same call.
    from shapely.ops import substring

    from geo.reach import _substrings

    rng = np.random.default_rng(7)
    lines = [LineString(np.cumsum(rng.uniform(-30, 30, (k, 2)), axis=0)) for k in (2, 3, 5, 8, 13) * 4]
    lines.append(LineString([(0, 0), (10, 0), (10, 0), (10, 20)]))
    length = np.array([g.length for g in lines])
    start = np.where(np.arange(len(lines)) % 4 == 0, 0.0, rng.uniform(0, 0.5, len(lines)) * length)
    end = np.where(np.arange(len(lines)) % 3 == 0, length, start + rng.uniform(0.01, 0.5, len(lines)) * length)
    # A cut on a vertex and a piece ending on the repeated one.
    start[1], end[1], end[-1] = float(np.hypot(*np.subtract(lines[1].coords[1], lines[1].coords[0]))), length[1], 10.0
    got = _substrings(np.array(lines, dtype=object), start, end)
    for g, line, s, e in zip(got, lines, start, end):
        want = substring(line, s, e)
        assert g.length == pytest.approx(e - s, abs=1e-9)
        assert shapely.hausdorff_distance(g, want) < 1e-9
        assert np.allclose(g.coords[0], want.coords[0]) and np.allclose(g.coords[-1], want.coords[-1])


def test_band_area_ends_across_the_street_where_time_runs_out():
    # One 1,000 m street at 10 m/s, a duty point at its start ready after 30 s: 300 m in one minute, 900 m in two.
    # The 1-minute area ends across the street at 300 m, where the 2-minute street beyond is nearer (a building
    # there takes its entrance time from that street), not in a round cap 20 m beyond; the last band, with no
    # later street asked for, keeps its buffer's cap.
    roads = gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[LineString([(0, 0), (1000, 0)])], crs=CRS)
    net = build_network(roads, mode="drive", rules=RULES)
    graph = ReachGraph.of(net)
    reach = multi_source_reach(graph, Origins.at(graph, snap_to_edges(net, [Point(0, 0)]), delay_s=[30.0]))
    areas = band_areas(reached_pieces(graph, reach, [1, 2]), buffer_m=20, pixel_m=2.0)
    one, two = (areas.loc[areas["minutes"] == m].geometry.iloc[0] for m in (1, 2))
    assert one.bounds[2] == pytest.approx(300, abs=1) and two.bounds[2] == pytest.approx(920, abs=1)
    assert one.bounds[0] == pytest.approx(-20, abs=1)  # the start keeps its cap: no street behind it
    assert one.area == pytest.approx(300 * 40 + np.pi * 20**2 / 2, rel=0.01)
    assert shapely.difference(one, two).area < 1e-6  # bands are cumulative


def test_band_areas_give_each_place_to_its_nearest_street_and_share_borders():
    # Two duty points' streets 60 m apart with a 50 m buffer: the overlap is split on the line halfway (y = 30), the
    # two areas share that border with no gap, and together they are the streets' buffer.
    pieces = gpd.GeoDataFrame(
        {"minutes": [5, 5], "origin": [0, 1]},
        geometry=[LineString([(0, 0), (400, 0)]), LineString([(0, 60), (400, 60)])],
        crs=CRS,
    )
    areas = band_areas(pieces, buffer_m=50)
    a, b = areas.geometry.to_numpy()
    assert a.bounds[3] == pytest.approx(30, abs=0.5) and b.bounds[1] == pytest.approx(30, abs=0.5)
    assert shapely.intersection(a, b).area < 1e-6
    both = shapely.union_all([a, b])
    assert both.geom_type == "Polygon" and not list(both.interiors)  # no gap between them
    exact = shapely.buffer(shapely.multilinestrings(pieces.geometry.to_numpy()), 50)
    assert both.area == pytest.approx(exact.area, rel=0.005)
    # Within a pixel (here buffer / 10) of the exact outline: the grid rounds the notches where two caps meet.
    assert shapely.hausdorff_distance(both.exterior, exact.exterior) < 5.0


def test_band_areas_where_three_duty_points_meet_never_overlap():
    # Three streets from one junction, each reached first by its own duty point: three areas, pairwise disjoint,
    # together the buffer of the streets but for slivers smaller than a pixel where all three meet.
    arms = [LineString([(0, 0), (300 * np.cos(a), 300 * np.sin(a))]) for a in (0.3, 2.4, 4.2)]
    pieces = gpd.GeoDataFrame({"minutes": [3, 3, 3], "origin": [4, 7, 9]}, geometry=arms, crs=CRS)
    areas = band_areas(pieces, buffer_m=40, pixel_m=5.0)
    assert sorted(areas["origin"]) == [4, 7, 9] and areas.geometry.is_valid.all()
    geoms = areas.geometry.to_numpy()
    assert all(shapely.intersection(geoms[i], geoms[j]).area < 1e-6 for i in range(3) for j in range(i + 1, 3))
    exact = shapely.buffer(shapely.multilinestrings(arms), 40)
    slivers = [shapely.Polygon(r).area for g in shapely.get_parts(shapely.union_all(geoms)) for r in g.interiors]
    assert not list(exact.interiors) and max(slivers, default=0.0) < 5.0**2  # less than a pixel, where all three meet
    assert shapely.union_all(geoms).area == pytest.approx(exact.area, rel=0.005)
