"""Road networks on tiny hand-made roads (metres, EPSG:32632): the rules of geo.networks one by one.

The little town used by several tests::

        C (0,100)
        |
        |  side street (residential)
        |
    A (0,0) ------ main street ------ B (200,0)
"""

import geopandas as gpd
import numpy as np
import osmium
import pytest
import shapely
from osmium.osm.mutable import Node, Way
from shapely.geometry import LineString, Point, box

from geo.errors import RoadClassError, RulesError
from geo.io.osm import read_roads
from geo.networks import (
    JOIN_NODE_IDS,
    JOIN_TOLERANCE,
    build_network,
    building_entrances,
    decode_node_ids,
    encode_node_ids,
    nearest_by_road,
    network_frames,
    network_summary,
    parse_maxspeed,
    snap_to_edges,
    travel_costs,
)
from geo.rules import DEFAULT_RULES, rules_from_dict

CRS = "EPSG:32632"


def roads(*rows, **columns):
    """Roads from (geometry, highway, extra tags) rows."""
    data = {"highway": [r[1] for r in rows], "fid": [f"w{i + 1}" for i in range(len(rows))]}
    keys = sorted({k for r in rows for k in (r[2] if len(r) > 2 else {})})
    for k in keys:
        data[k] = [(r[2] if len(r) > 2 else {}).get(k) for r in rows]
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=[LineString(r[0]) for r in rows], crs=CRS)


def arcs(net):
    """The arcs as a set of (from node xy, to node xy)."""
    xy = [tuple(np.round(p, 3)) for p in net.node_xy]
    m = net.arcs("length").tocoo()
    return {(xy[i], xy[j]) for i, j in zip(m.row, m.col)}


# ------------------------------------------------------------------ one-way streets


def test_oneway_runs_with_the_drawing_direction_and_minus_one_against_it():
    net = build_network(
        roads(([(0, 0), (100, 0)], "residential", {"oneway": "yes"}), ([(0, 50), (100, 50)], "residential",
              {"oneway": "-1"})),
        mode="drive",
    )
    assert arcs(net) == {((0, 0), (100, 0)), ((100, 50), (0, 50))}
    # The reversed way's edge is turned round: its geometry runs the way traffic goes.
    rev = int(np.flatnonzero(net.edge_fid == "w2")[0])
    assert shapely.get_coordinates(net.edge_geometry[rev]).tolist() == [[100, 50], [0, 50]]
    assert net.edge_oneway.all() and net.report.oneway_edges == 2
    # Walking ignores one-way streets.
    walk = build_network(roads(([(0, 0), (100, 0)], "residential", {"oneway": "yes"})), mode="walk")
    assert arcs(walk) == {((0, 0), (100, 0)), ((100, 0), (0, 0))}


def test_roundabout_and_motorway_are_oneway_unless_tagged_no():
    ring = [(0, 0), (30, 0), (30, 30), (0, 30), (0, 0)]
    spoke = [(30, 0), (80, 0)]
    net = build_network(
        roads(
            (ring, "tertiary", {"junction": "roundabout"}), (spoke, "tertiary"), ([(0, 100), (500, 100)], "motorway")
        ),
        mode="drive",
    )
    by_fid = dict(zip(net.edge_fid, net.edge_oneway))
    assert by_fid["w1"] and not by_fid["w2"] and by_fid["w3"]
    assert ((0, 0), (30, 0)) not in arcs(net)  # the roundabout's ring is a self-loop at the spoke: one direction
    two_way = build_network(
        roads((ring, "tertiary", {"junction": "roundabout", "oneway": "no"}), (spoke, "tertiary")), mode="drive"
    )
    assert not two_way.edge_oneway.any()


def test_reversible_carriageways_are_left_out_of_driving_and_counted():
    r = roads(([(0, 0), (100, 0)], "primary", {"oneway": "reversible"}), ([(0, 0), (0, 100)], "primary"))
    net = build_network(r, mode="drive")
    assert net.n_edges == 1 and net.report.ways_excluded == {"oneway=reversible": 1}
    assert build_network(r, mode="walk").n_edges == 2


# ------------------------------------------------------------------ speeds


def test_speeds_by_class_lowered_by_maxspeed_never_raised():
    r = roads(
        ([(0, 0), (1000, 0)], "residential"),  # 25 km/h
        ([(0, 10), (1000, 10)], "residential", {"maxspeed": "10"}),
        ([(0, 20), (1000, 20)], "residential", {"maxspeed": "50"}),  # a posted 50 does not make it faster
        ([(0, 30), (1000, 30)], "primary", {"maxspeed": "30 mph"}),
        ([(0, 40), (1000, 40)], "primary", {"maxspeed": "CH:urban"}),
        ([(0, 50), (1000, 50)], "primary_link"),  # its road less 10
        ([(0, 60), (1000, 60)], "secondary", {"maxspeed": "signals"}),
    )
    net = build_network(r, mode="drive")
    speed = dict(zip(net.edge_fid, net.edge_speed_kmh))
    assert speed == {"w1": 25, "w2": 10, "w3": 25, "w4": 48.28, "w5": 50, "w6": 40, "w7": 40}
    t = dict(zip(net.edge_fid, net.edge_time_s))
    assert t["w1"] == pytest.approx(1000 / (25 / 3.6))
    assert net.report.maxspeed_parsed == 4 and net.report.maxspeed_ignored == 1
    assert net.report.maxspeed_ignored_values == ["signals"]
    walk = build_network(r, mode="walk")
    assert set(walk.edge_speed_kmh) == {4.0}  # a walker is not slowed by a sign
    ebike = build_network(r, mode="ebike")
    assert dict(zip(ebike.edge_fid, ebike.edge_speed_kmh))["w1"] == 15 and ebike.edge_speed_kmh.max() == 15


def test_parse_maxspeed():
    zones = DEFAULT_RULES.network.maxspeed_zones_kmh
    assert parse_maxspeed("50", zones) == 50
    assert parse_maxspeed("20 mph", zones) == pytest.approx(32.19, abs=0.01)
    assert parse_maxspeed("CH:rural", zones) == 80 and parse_maxspeed("DE:rural", zones) == 100
    assert parse_maxspeed("FR:zone30", zones) == 30 and parse_maxspeed("walk", zones) == 6
    assert parse_maxspeed("none", zones) == float("inf")
    assert parse_maxspeed("variable", zones) is None and parse_maxspeed("-5", zones) is None


def test_county_rules_change_speeds_and_unknown_keys_are_refused():
    r = roads(([(0, 0), (1000, 0)], "residential"))
    slow = rules_from_dict({"network": {"drive": {"speeds_kmh": {"residential": 20}}}})
    assert build_network(r, mode="drive", rules=slow).edge_speed_kmh[0] == 20
    assert slow.network.drive.speeds_kmh["primary"] == 50  # the rest of the table stays
    with pytest.raises(RulesError, match="network.drive.speed_kmhs"):
        rules_from_dict({"network": {"drive": {"speed_kmhs": 20}}})


# ------------------------------------------------------------------ classes and access


def test_excluded_classes_and_access():
    r = roads(
        ([(0, 0), (100, 0)], "residential"),
        ([(0, 0), (0, 100)], "footway"),
        ([(0, 0), (-100, 0)], "raceway"),
        ([(0, 0), (0, -100)], "service", {"access": "private"}),
        ([(100, 0), (200, 0)], "residential", {"foot": "no"}),
        ([(100, 0), (100, 100)], "service", {"access": "private", "foot": "yes"}),
        ([(100, 0), (100, -100)], "service", {"motor_vehicle": "no"}),
    )
    drive = build_network(r, mode="drive")
    walk = build_network(r, mode="walk")
    assert sorted(drive.edge_fid) == ["w1", "w5"]
    assert sorted(walk.edge_fid) == ["w1", "w2", "w6", "w7"]
    assert drive.report.ways_excluded == {"class": 2, "access": 3}
    assert walk.report.ways_excluded == {"class": 1, "access": 2}


def test_a_class_without_a_speed_is_an_error_naming_it():
    r = roads(([(0, 0), (100, 0)], "residential"), ([(0, 0), (0, 100)], "hovercraft"), ([(0, 0), (9, 9)], "busway"))
    with pytest.raises(RoadClassError) as err:
        build_network(r, mode="drive")
    assert "hovercraft (1 ways)" in err.value.message and err.value.context["classes"] == ["hovercraft"]
    assert err.value.detail_zh and "hovercraft" in err.value.detail_zh
    # A county gives it a speed, or excludes it.
    given = rules_from_dict({"network": {"drive": {"speeds_kmh": {"hovercraft": 30}}}})
    assert build_network(r, mode="drive", rules=given).n_edges == 2
    dropped = rules_from_dict({"network": {"excluded_classes": ["hovercraft"]}})
    assert build_network(r, mode="drive", rules=dropped).n_edges == 1


def test_a_way_without_a_class_is_a_road():
    r = roads(([(0, 0), (1000, 0)], None))
    net = build_network(r, mode="drive")
    assert net.edge_class.tolist() == ["road"] and net.edge_speed_kmh[0] == 25 and net.report.class_missing == 1


# ------------------------------------------------------------------ junctions


def test_simplification_keeps_junctions_dead_ends_and_way_changes_only():
    r = roads(
        ([(0, 0), (50, 5), (100, 0), (150, 5), (200, 0)], "residential"),  # interstitial vertices contracted
        ([(200, 0), (300, 0)], "residential"),  # another way continues: its start stays a node
        ([(100, 0), (100, 100)], "residential"),  # meets the first way at its vertex (100, 0): a junction
    )
    net = build_network(r, mode="walk")
    assert sorted(map(tuple, net.node_xy.round().tolist())) == [(0, 0), (100, 0), (100, 100), (200, 0), (300, 0)]
    assert net.n_edges == 4
    first = net.edge_geometry[np.flatnonzero(net.edge_fid == "w1")]
    assert sorted(shapely.get_num_coordinates(first).tolist()) == [3, 3]  # the geometry runs through the bends
    assert net.edge_length_m.sum() == pytest.approx(sum(shapely.length(r.geometry)))
    # Driving: a node where a one-way stretch meets a two-way one stays even within one way's chain.
    oneway = roads(([(0, 0), (100, 0)], "residential", {"oneway": "yes"}), ([(100, 0), (200, 0)], "residential"))
    assert build_network(oneway, mode="drive").n_nodes == 3


def test_an_isolated_ring_is_a_self_loop():
    r = roads(([(0, 0), (50, 0), (50, 50), (0, 50), (0, 0)], "footway"))
    net = build_network(r, mode="walk")
    assert net.n_nodes == 1 and net.n_edges == 1 and net.report.rings == 1
    assert net.edge_u[0] == net.edge_v[0] and net.edge_length_m[0] == pytest.approx(200)


def test_a_closed_way_with_a_spoke_is_a_loop_at_the_spoke():
    r = roads(([(0, 0), (50, 0), (50, 50), (0, 50), (0, 0)], "footway"), ([(50, 50), (90, 90)], "footway"))
    net = build_network(r, mode="walk")
    assert net.n_nodes == 2 and net.n_edges == 2 and net.report.rings == 0
    loop = np.flatnonzero(net.edge_u == net.edge_v)
    assert len(loop) == 1 and net.edge_length_m[loop[0]] == pytest.approx(200)


def test_node_ids_decide_junctions_a_bridge_crossing_a_street_does_not_join():
    street = ([(0, 50), (100, 50)], "residential", {"node_ids": "1 1"})
    bridge = ([(50, 0), (50, 100)], "secondary", {"node_ids": "10 1", "bridge": "yes", "layer": "1"})
    side = ([(100, 50), (100, 120)], "residential", {"node_ids": "2 18"})  # shares node 2 with the street
    net = build_network(roads(street, bridge, side), mode="walk")
    assert net.report.join_rule == JOIN_NODE_IDS and net.report.join_tolerance_m is None
    assert net.n_nodes == 5 and net.n_edges == 3 and net.report.components == 2
    assert sorted(net.node_osm_id.tolist()) == [1, 2, 10, 11, 20]
    # Without node ids the same drawing joins nowhere either: lines crossing between vertices are not noded.
    plain = roads(*(r[:2] + ({k: v for k, v in r[2].items() if k != "node_ids"},) for r in (street, bridge, side)))
    tol = build_network(plain, mode="walk")
    assert tol.report.join_rule == JOIN_TOLERANCE and tol.report.join_tolerance_m == 1.0
    assert tol.n_nodes == 5 and tol.report.components == 2


def test_node_ids_beat_geometry_even_where_lines_touch():
    # Two ways meeting at one location through two different nodes are not joined (an underpass exit, say).
    r = roads(([(0, 0), (100, 0)], "residential", {"node_ids": "1 1"}), ([(100, 0), (200, 0)], "residential",
              {"node_ids": "7 1"}))
    assert build_network(r, mode="walk").report.components == 2
    no_ids = r.drop(columns="node_ids")
    assert build_network(no_ids, mode="walk").report.components == 1


def test_tolerance_rule_joins_near_misses_and_not_what_lies_beyond():
    main = ([(0, 0), (200, 0)], "residential")
    near_miss = ([(60, 0.6), (60, 80)], "residential")  # ends 0.6 m from the main street's interior
    beyond = ([(140, 1.5), (140, 80)], "residential")  # ends 1.5 m away: not joined
    end_to_end = ([(200.4, 0.3), (260, 0)], "residential")  # starts 0.5 m from the main street's end
    net = build_network(roads(main, near_miss, beyond, end_to_end), mode="walk")
    assert net.report.join_rule == JOIN_TOLERANCE
    assert net.report.endpoints_snapped_to_lines == 1 and net.report.endpoints_joined == 2
    comp = dict(zip(net.edge_fid, net.component[net.edge_u]))
    assert comp["w1"] == comp["w2"] == comp["w4"] != comp["w3"]
    # The main street is cut where the near miss joins it, 60 m along.
    assert sorted(net.edge_length_m[net.edge_fid == "w1"].round(1).tolist()) == [60.0, 140.2]
    # A tighter county tolerance joins nothing.
    strict = rules_from_dict({"network": {"join_tolerance_m": 0.1}})
    assert build_network(roads(main, near_miss, beyond, end_to_end), mode="walk", rules=strict).report.components == 4


def test_a_near_miss_snaps_to_a_vertex_within_tolerance_rather_than_cutting_beside_it():
    main = ([(0, 0), (59.5, 0), (200, 0)], "residential")
    near_miss = ([(60, 0.6), (60, 80)], "residential")
    net = build_network(roads(main, near_miss), mode="walk")
    assert sorted(map(tuple, net.node_xy.round(1).tolist()))[1] == (59.5, 0.0)
    assert net.report.components == 1


def test_without_node_ids_a_shared_vertex_joins_unless_one_line_is_a_bridge():
    street = ([(0, 50), (50, 50), (100, 50)], "residential")
    crossing = ([(50, 0), (50, 50), (50, 100)], "residential")  # drawn through the street's vertex: a junction
    assert build_network(roads(street, crossing), mode="walk").report.components == 1
    bridge = ([(50, 0), (50, 50), (50, 100)], "residential", {"bridge": "yes"})  # same drawing, on a bridge
    net = build_network(roads(street, bridge), mode="walk")
    assert net.report.components == 2 and net.n_nodes == 4


def test_node_ids_round_trip():
    ids = [8_123_456_789, 8_123_456_790, 17, 9_000_000_000_000]
    text = encode_node_ids(ids)
    assert text == "8123456789 1 -8123456773 8999999999983"
    flat, counts = decode_node_ids([text, "", encode_node_ids([5, 3])])
    assert flat.tolist() == [*ids, 5, 3] and counts.tolist() == [4, 0, 2]
    with pytest.raises(ValueError):
        decode_node_ids(["1 2 x"])


def test_unreadable_or_misaligned_node_ids_fall_back_to_the_tolerance_rule():
    two = ([(0, 0), (100, 0)], "residential", {"node_ids": "1 1 1"})  # three ids for two vertices
    net = build_network(roads(two, ([(100, 0), (200, 0)], "residential", {"node_ids": "2 1"})), mode="walk")
    assert net.report.join_rule == JOIN_TOLERANCE and "do not match" in net.report.join_fallback
    partial = roads(([(0, 0), (100, 0)], "residential", {"node_ids": "1 1"}), ([(100, 0), (200, 0)], "residential"))
    net = build_network(partial, mode="walk")
    assert net.report.join_rule == JOIN_TOLERANCE and net.report.join_fallback == "1 of 2 ways have no node ids"
    assert net.report.components == 1


def test_read_roads_keeps_node_ids_aligned_and_joins_on_them(tmp_path):
    """A street, a side street sharing its middle node, and a bridge over it sharing none (synthetic OSM)."""
    path = tmp_path / "t.osm.pbf"
    lon, lat = 119.68, 30.64
    d = 0.001
    nodes = {
        1: (lon, lat),
        2: (lon + d, lat),
        3: (lon + 2 * d, lat),
        4: (lon + d, lat + d),
        5: (lon + 1.5 * d, lat - d),
        6: (lon + 1.5 * d, lat + d),
        7: (lon + 2 * d, lat),  # at node 3's location, not node 3
        8: (lon + 3 * d, lat),
    }
    with osmium.SimpleWriter(str(path)) as w:
        for i, loc in nodes.items():
            w.add_node(Node(id=i, location=loc))
        w.add_way(Way(id=1, nodes=[1, 2, 3], tags={"highway": "residential", "name": "主街"}))
        w.add_way(Way(id=2, nodes=[2, 4], tags={"highway": "residential"}))
        w.add_way(Way(id=3, nodes=[5, 6], tags={"highway": "primary", "bridge": "yes", "layer": "1"}))
        w.add_way(Way(id=4, nodes=[7, 8], tags={"highway": "residential"}))
        w.add_way(Way(id=5, nodes=[1, 4, 1], tags={"highway": "pedestrian", "area": "yes"}))  # a square: no line
    r = read_roads(path)
    assert r["fid"].tolist() == ["w1", "w2", "w3", "w4"]
    assert r["node_ids"].tolist() == ["1 1 1", "2 2", "5 1", "7 1"]
    assert shapely.get_num_coordinates(r.geometry).tolist() == [3, 2, 2, 2]
    net = build_network(r, mode="walk")
    assert net.report.join_rule == JOIN_NODE_IDS
    assert net.report.components == 3  # street + side street; the bridge; the way from node 7
    assert sorted(net.node_osm_id.tolist()) == [1, 2, 3, 4, 5, 6, 7, 8]
    only_box = read_roads(path, bbox=(lon + 2.5 * d, lat - d, lon + 4 * d, lat + d))
    assert only_box["fid"].tolist() == ["w4"]


# ------------------------------------------------------------------ entrances and shortest paths


def test_snapping_finds_the_nearest_edge_not_the_nearest_node():
    # A 400 m street: the house at x = 180 is 180 m from the nearest node but 6 m from the street.
    net = build_network(roads(([(0, 0), (400, 0)], "residential"), ([(0, 0), (0, -300)], "residential")), mode="walk")
    house = box(170, 6, 190, 20)
    ent = snap_to_edges(net, [house, Point(-5, -100), None])
    street = int(np.flatnonzero(net.edge_fid == "w1")[0])
    assert ent.edge.tolist()[:2] == [street, int(np.flatnonzero(net.edge_fid == "w2")[0])]
    assert ent.distance_m[0] == pytest.approx(6) and 170 <= ent.offset_m[0] <= 190
    assert ent.point[0].distance(house) == pytest.approx(6)
    u = net.node_xy[net.edge_u[street]]
    assert ent.offset_m[0] == pytest.approx(ent.point[0].distance(Point(u)))  # offset from the edge's start node
    assert ent.distance_m[1] == pytest.approx(5) and ent.offset_m[1] == pytest.approx(100)
    assert ent.edge[2] == -1 and np.isnan(ent.distance_m[2])


def test_multi_source_times_checked_by_hand():
    """
    Driving (residential 25 km/h = 6.944 m/s, access walked at 4 km/h = 1.111 m/s)::

        P (0,0) ---- 300 m two-way ---- Q (300,0) ---- 200 m one-way east ---- R (500,0)

    Source s1 is a duty point 10 m north of the first street, 100 m along it; s2 sits on the one-way street
    5 m south, 150 m along it (so 50 m before R).
    """
    net = build_network(
        roads(([(0, 0), (300, 0)], "residential"), ([(300, 0), (500, 0)], "residential", {"oneway": "yes"})),
        mode="drive",
    )
    v, walk = 25 / 3.6, 4 / 3.6
    node = {tuple(p): i for i, p in enumerate(net.node_xy.round().tolist())}
    sources = snap_to_edges(net, [Point(100, 10), Point(450, -5)])
    targets = snap_to_edges(net, [Point(250, 4), Point(350, 4), Point(480, 2)])
    reach = travel_costs(net, sources, targets=targets)
    cost = reach.node_cost
    assert cost[node[(0, 0)]] == pytest.approx(10 / walk + 100 / v)
    assert cost[node[(300, 0)]] == pytest.approx(10 / walk + 200 / v)
    assert cost[node[(500, 0)]] == pytest.approx(5 / walk + 50 / v)  # s2 is nearer to R
    assert reach.node_source[[node[(0, 0)], node[(300, 0)], node[(500, 0)]]].tolist() == [0, 0, 1]
    t = reach.target_cost
    assert t[0] == pytest.approx(10 / walk + 150 / v + 4 / walk)  # straight along the first street from s1
    assert t[1] == pytest.approx(10 / walk + 250 / v + 4 / walk)  # s2 cannot drive back west on the one-way
    assert t[2] == pytest.approx(5 / walk + 30 / v + 2 / walk)  # ahead of s2 on its own edge
    assert reach.target_source.tolist() == [0, 0, 1]
    # Lengths instead of times, and a limit.
    by_length = travel_costs(net, sources, targets=targets, weight="length", limit=200)
    assert by_length.target_cost[0] == pytest.approx(10 + 150 + 4)
    assert np.isinf(by_length.target_cost[1]) and by_length.target_source[1] == -1


def test_nearest_by_road_goes_round_not_across():
    net = build_network(
        roads(([(0, 0), (0, 100), (300, 100), (300, 0)], "track"), ([(600, 0), (600, 100)], "track")), mode="walk"
    )
    i, metres = nearest_by_road(net, Point(10, 0), [Point(580, 0), Point(290, 0)])
    assert i == 1 and metres == pytest.approx(10 + 500 + 10)
    assert nearest_by_road(net, Point(10, 0), [Point(580, 0)]) is None


def test_buildings_are_entered_from_the_main_network_not_a_fragment_beside_them():
    r = roads(([(0, 0), (400, 0)], "residential"), ([(100, 40), (140, 40)], "service"))  # a stray private yard road
    net = build_network(r, mode="drive")
    house = gpd.GeoDataFrame(geometry=[box(110, 30, 130, 38)], crs=CRS)
    ent = building_entrances(net, house).iloc[0]
    assert net.edge_fid[ent["edge"]] == "w1" and ent["distance_m"] == pytest.approx(30)
    assert ent["reachable"] and ent["other_component_nearer"]
    anywhere = snap_to_edges(net, house.geometry, largest_component=False)
    assert net.edge_fid[anywhere.edge[0]] == "w2" and anywhere.distance_m[0] == pytest.approx(2)


def test_summary_frames_and_unreachable_buildings():
    r = roads(([(0, 0), (400, 0)], "residential"), ([(0, 1000), (50, 1000)], "footway"))
    net = build_network(r, mode="walk")
    houses = gpd.GeoDataFrame(
        geometry=[box(10, 5, 20, 15), box(10, 600, 20, 610), box(0, 1005, 10, 1015)], crs=CRS, index=[7, 8, 9]
    )
    s = network_summary(net, houses)
    assert s["nodes"] == 4 and s["edges"] == 2 and s["length_m"] == 450 and s["components"] == 2
    assert s["largest_component_share"] == pytest.approx(400 / 450, abs=1e-4)
    # 595 m from the street (beyond 250 m; the stray footway is nearer, 390 m); the house beside the footway is
    # entered from the main network, 1,005 m away: unreachable too.
    assert s["buildings"] == 3 and s["buildings_unreachable"] == 2 and s["buildings_nearer_other_component"] == 2
    assert s["length_by_class"] == [
        {"road_class": "residential", "length_m": 400.0},
        {"road_class": "footway", "length_m": 50.0},
    ]
    nodes, edges = network_frames(net)
    assert len(nodes) == 4 and len(edges) == 2 and edges.crs == CRS
    assert {"way_fid", "road_class", "length_m", "travel_time_s", "oneway", "component"} <= set(edges.columns)


def test_the_network_is_written_for_qgis(tmp_path):
    import pyogrio

    from geo.io import write_network_package

    net = build_network(roads(([(0, 0), (400, 0)], "residential", {"name": "东街"})), mode="drive")
    path = write_network_package(*network_frames(net), tmp_path / "net.gpkg")
    assert sorted(name for name, _ in pyogrio.list_layers(path)) == ["edges", "nodes"]
    edges = pyogrio.read_dataframe(path, layer="edges")
    assert edges["name"].tolist() == ["东街"] and edges.crs == CRS and edges["travel_time_s"][0] == 57.6


def test_import_osm_keeps_node_ids_through_the_store(fresh_context, tmp_path):
    from geo.networks import network_for_area
    from service.imports import import_osm
    from tests.osm_builder import write_town

    import_osm(fresh_context, write_town(tmp_path / "town.osm.pbf"), area="ceshi", admin_level=10, within="1")
    area = fresh_context.store.load_area("ceshi")
    roads = area.layer("roads")
    ids, counts = decode_node_ids(roads["node_ids"])
    assert (counts == shapely.get_num_coordinates(roads.geometry.values)).all() and len(set(ids)) == len(ids)
    assert network_for_area(area, mode="walk").report.join_rule == JOIN_NODE_IDS


def test_a_mode_with_no_ways_gives_an_empty_network():
    net = build_network(roads(([(0, 0), (10, 0)], "footway")), mode="drive")
    assert net.n_nodes == net.n_edges == 0 and net.report.components == 0
    assert snap_to_edges(net, [Point(1, 1)]).edge.tolist() == [-1]
    assert travel_costs(net, snap_to_edges(net, [Point(1, 1)])).node_cost.size == 0
