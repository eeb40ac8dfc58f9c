"""Road networks of both demo areas: stable, plausible, directed where they must be, and right about paths."""

import networkx as nx
import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.networks import (
    JOIN_NODE_IDS,
    JOIN_TOLERANCE,
    MODES,
    build_network,
    building_entrances,
    network_for_area,
    network_summary,
    snap_to_edges,
    to_networkx,
    travel_costs,
)

# Node and edge counts as built from data/*.gpkg (default rules); a change here means the data or the rules
# changed, or the builder did: look before updating them.
COUNTS = {
    ("liechtenstein", "walk"): (9508, 11877),
    ("liechtenstein", "ebike"): (7148, 8291),
    ("liechtenstein", "drive"): (6747, 7551),
    ("monaco", "walk"): (4336, 5482),
    ("monaco", "ebike"): (1200, 1448),
    ("monaco", "drive"): (1173, 1412),
}


@pytest.fixture(scope="module")
def networks(liechtenstein, monaco):
    areas = {"liechtenstein": liechtenstein, "monaco": monaco}
    return {(a, m): network_for_area(areas[a], mode=m) for a in areas for m in MODES}, areas


def test_counts_are_stable_and_plausible(networks):
    nets, _ = networks
    for key, net in nets.items():
        assert (net.n_nodes, net.n_edges) == COUNTS[key], key
        r = net.report
        assert r.join_rule == JOIN_NODE_IDS and r.join_fallback is None
        assert r.class_missing == 0 and r.maxspeed_ignored == 0
    for area in ("liechtenstein", "monaco"):
        walk, ebike, drive = (nets[(area, m)] for m in MODES)
        # Walking uses every way; driving none of the footways; e-bikes ride cycleways but no footways.
        assert walk.report.length_m > ebike.report.length_m >= drive.report.length_m * 0.95
        assert "footway" in walk.report.length_by_class and "footway" not in drive.report.length_by_class
        assert "raceway" not in walk.report.length_by_class  # Monaco's Grand Prix circuit is not walked


def test_every_edge_has_length_time_and_a_way(networks):
    nets, areas = networks
    for (area, _), net in nets.items():
        assert (net.edge_length_m > 0).all() and np.isfinite(net.edge_time_s).all() and (net.edge_time_s > 0).all()
        assert np.allclose(shapely.length(net.edge_geometry), net.edge_length_m)
        fids = set(areas[area].layer("roads")["fid"])
        assert set(net.edge_fid) <= fids and (net.edge_osm_id > 0).all()
        # Each edge's geometry starts at its start node and ends at its end node.
        start = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
        end = shapely.get_coordinates(shapely.get_point(net.edge_geometry, -1))
        assert np.allclose(start, net.node_xy[net.edge_u]) and np.allclose(end, net.node_xy[net.edge_v])


def test_drive_is_directed_and_respects_rue_grimaldi(networks):
    """Rue Grimaldi (way 8352246), La Condamine, is one-way: driving it backwards means a detour."""
    nets, areas = networks
    drive, walk = nets[("monaco", "drive")], nets[("monaco", "walk")]
    assert drive.directed and not walk.directed and drive.report.oneway_edges > 500
    roads = areas["monaco"].metric("roads")
    street = roads[roads["fid"] == "w8352246"].geometry.iloc[0]
    assert roads[roads["fid"] == "w8352246"]["oneway"].iloc[0] == "yes"
    assert drive.edge_oneway[drive.edge_fid == "w8352246"].all()
    head, tail = shapely.get_point(street, 0), shapely.get_point(street, -1)

    def cost(net, a, b):
        reach = travel_costs(net, snap_to_edges(net, [a]), targets=snap_to_edges(net, [b]), weight="length")
        return float(reach.target_cost[0])

    along = cost(drive, head, tail)
    assert along == pytest.approx(street.length, rel=0.01)
    assert cost(drive, tail, head) > 1.5 * along  # round the block
    assert cost(walk, tail, head) == pytest.approx(cost(walk, head, tail))


def test_the_largest_component_holds_most_of_the_length(networks):
    nets, _ = networks
    for key, net in nets.items():
        assert net.report.largest_component_share > 0.95, key
        assert net.component.min() == 0


def test_most_buildings_meet_the_walking_network_within_a_few_metres(networks):
    nets, areas = networks
    for area in ("liechtenstein", "monaco"):
        net = nets[(area, "walk")]
        ent = building_entrances(net, areas[area].metric("buildings"))
        d = ent["distance_m"].to_numpy()
        assert np.median(d) < 10 and np.quantile(d, 0.9) < 40, area
        assert ent["reachable"].mean() > 0.99 and ent["other_component_nearer"].mean() < 0.05
        # The entrance point lies on its edge, at the offset given.
        on = shapely.line_interpolate_point(net.edge_geometry[ent["edge"]], ent["offset_m"])
        assert np.allclose(shapely.distance(on, ent.geometry.values), 0, atol=1e-6)
        s = network_summary(net, areas[area].metric("buildings"))
        assert s["buildings_unreachable"] == int((~ent["reachable"]).sum()) < 0.01 * len(ent)


def test_shortest_paths_agree_with_networkx(networks):
    nets, _ = networks
    rng = np.random.default_rng(0)
    for key in (("monaco", "drive"), ("monaco", "walk"), ("liechtenstein", "ebike")):
        net = nets[key]
        g = to_networkx(net)
        matrix = net.arcs("time")
        for source in rng.choice(net.n_nodes, size=3, replace=False):
            ours = dijkstra(matrix, directed=True, indices=int(source))
            theirs = nx.single_source_dijkstra_path_length(g, int(source), weight="travel_time")
            reached = np.flatnonzero(np.isfinite(ours))
            assert set(reached.tolist()) == set(theirs)
            assert np.allclose(ours[reached], [theirs[i] for i in reached])


def test_police_posts_reach_monaco_by_car_in_minutes(networks):
    """Every building of Monaco is within a few minutes' drive of one of its 15 police posts."""
    nets, areas = networks
    net = nets[("monaco", "drive")]
    posts = snap_to_edges(net, areas["monaco"].metric("duty_points").geometry)
    homes = snap_to_edges(net, areas["monaco"].metric("buildings").geometry)
    reach = travel_costs(net, posts, targets=homes)
    finite = np.isfinite(reach.target_cost)
    assert finite.mean() > 0.97
    assert np.median(reach.target_cost[finite]) < 180 and set(reach.target_source[finite]) <= set(range(15))


@pytest.mark.parametrize("keep_node_ids", [True, False])
def test_projecting_the_used_vertices_builds_the_network_projecting_the_layer_would(monaco, keep_node_ids):
    """build_network projects only the vertices of the ways a mode uses, not the whole layer first: the same network.

    Both join rules (node ids; the tolerance rule, which snaps line ends in metres) and a mode that leaves
    most ways out (drive).
    """
    roads = monaco.layer("roads")
    assert roads.crs.is_geographic
    if not keep_node_ids:
        roads = roads.drop(columns="node_ids")
    crs = monaco.metric_crs
    direct = build_network(roads, mode="drive", crs=crs)
    projected_first = build_network(roads.to_crs(crs), mode="drive")
    assert direct.crs == projected_first.crs == crs
    assert direct.report.join_rule == (JOIN_NODE_IDS if keep_node_ids else JOIN_TOLERANCE)
    for name in ("node_xy", "node_osm_id", "edge_u", "edge_v", "edge_oneway", "edge_length_m", "edge_time_s"):
        assert np.array_equal(getattr(direct, name), getattr(projected_first, name)), name
    assert shapely.equals_exact(direct.edge_geometry, projected_first.edge_geometry, tolerance=0).all()
    report = {k: v for k, v in direct.report.as_dict().items() if k != "seconds"}
    assert report == {k: v for k, v in projected_first.report.as_dict().items() if k != "seconds"}
