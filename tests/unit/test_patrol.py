"""A grid's patrol on hand-made streets: required streets, the office, the norm, directions, GPX and matching.

Two grids side by side, streets on a 100 m lattice, the boundary street x = 200 between them::

    y=200  o----o----o----o----o
           |    |    |    |    |
    y=100  o----o----o----o----o
           |    |    |    |    |
    y=0    o----o----o----o----o
          x=0       200       400
           grid A    |   grid B
"""

from __future__ import annotations

import geopandas as gpd
import gpxpy
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from geo.errors import MalformedFileError, TrackError
from geo.io.gpx import Waypoint, read_track, route_gpx, track_gpx
from geo.matching import match_points
from geo.networks import build_network
from geo.patrol import choose_office, directions, fit_to_norm, required_streets, walk_frame
from geo.postman import postman_route
from geo.rules import DEFAULT_RULES, rules_from_dict
from tests.synthetic_tracks import synthetic_track

GRID_A, GRID_B = box(0, 0, 200, 200), box(200, 0, 400, 200)


def lattice_roads(step: float = 100.0, nx_: int = 5, ny: int = 3, highway: str = "residential") -> gpd.GeoDataFrame:
    lines = []
    for j in range(ny):
        for i in range(nx_ - 1):
            lines.append(LineString([(i * step, j * step), ((i + 1) * step, j * step)]))
    for i in range(nx_):
        for j in range(ny - 1):
            lines.append(LineString([(i * step, j * step), (i * step, (j + 1) * step)]))
    return gpd.GeoDataFrame({"highway": [highway] * len(lines)}, geometry=lines, crs="EPSG:32632")


@pytest.fixture(scope="module")
def net():
    return build_network(lattice_roads(), mode="walk")


def test_boundary_streets_are_required_in_both_grids(net):
    a = set(required_streets(net, GRID_A, DEFAULT_RULES).tolist())
    b = set(required_streets(net, GRID_B, DEFAULT_RULES).tolist())
    shared = a & b
    assert len(shared) == 2  # the two blocks of the street x = 200
    assert all(net.edge_geometry[e].coords[0][0] == net.edge_geometry[e].coords[-1][0] == 200 for e in shared)
    assert len(a) == len(b) == 12


def test_office_choice_in_order(net):
    places = gpd.GeoDataFrame(
        {
            "category": ["townhall", "grid_office", "school"],
            "name": ["居委会", "网格工作站一", "小学"],
            "fid": ["t", "g", "s"],
            "community_fid": ["c", "c", "c"],
        },
        geometry=[Point(350, 10), Point(20, 150), Point(60, 60)],
        crs="EPSG:32632",
    )
    assert choose_office(GRID_A, places, community_fid="c").source == "grid_office"
    assert choose_office(GRID_B, places, community_fid="c").name == "居委会"  # no grid office in B
    bare = choose_office(GRID_B, places.iloc[:0], net=net)
    assert bare.source == "grid_centre" and net.edge_tree.query(bare.point, predicate="dwithin", distance=1e-6).size


def test_a_short_route_is_extended_and_a_long_one_rotated(net):
    req = required_streets(net, GRID_A, DEFAULT_RULES)
    route = postman_route(net, req, start=Point(0, 0))
    # 12 streets of 100 m; odd nodes at the four mid-sides, paired across two corners: 2 × 200 m again
    assert route.length_m == pytest.approx(1200 + 400)
    fitted = fit_to_norm(route, DEFAULT_RULES)  # 1.6 km is 24 minutes: laps up to 2 hours
    assert fitted.laps and fitted.minutes(fitted.extended_length_m) >= 120
    assert fitted.minutes(fitted.extended_length_m) <= 240
    short_day = rules_from_dict({"patrol": {"max_daily_hours": 0.2, "min_daily_hours": 0.1}})  # 12 min = 800 m
    rotated = fit_to_norm(route, short_day)
    assert len(rotated.days) >= 2 and all(d.length_m <= 800 + 1e-6 for d in rotated.days)
    covered = set()
    for d in rotated.days:
        covered |= set(np.unique(d.graph.edge_source[d.counts > 0]).tolist())
    assert set(req.tolist()) <= covered
    too_large = fit_to_norm(
        route, rules_from_dict({"patrol": {"max_daily_hours": 0.05, "min_daily_hours": 0.01, "max_rotation_days": 2}})
    )
    assert too_large.too_large and too_large.split_into >= 3


def test_directions_name_turns_from_bearings():
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3, "name": ["长安街", "府前路", "府前路"]},
        geometry=[
            LineString([(0, 0), (100, 0)]),
            LineString([(100, 0), (100, 80)]),
            LineString([(100, 80), (100, 160)]),
        ],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    route = postman_route(net, np.arange(net.n_edges), start=Point(0, 0))
    frame = walk_frame(route.graph, route.tour, 4.0)
    texts = [d["text"] for d in directions(frame, start_name="网格工作站")]
    assert texts[0] == "从网格工作站出发，沿长安街向东走100米"
    assert texts[1] == "左转进入府前路，走160米"
    assert texts[2] == "掉头进入府前路，走160米"
    assert texts[3] == "右转进入长安街，走100米"  # heading south, west is on the right
    assert texts[-1] == "到达终点，返回网格工作站"


def test_gpx_written_is_gpx_1_1_with_every_view():
    xy = np.array([[9.52, 47.14], [9.521, 47.14], [9.521, 47.141]])
    text = route_gpx(
        name="巡查",
        lonlat=xy,
        distance_m=np.array([0, 75.8, 187.0]),
        speed_kmh=4.0,
        turns=[(75.8, "左转进入府前路")],
        waypoints=[Waypoint(9.52, 47.14, "网格工作站", "start")],
    )
    doc = gpxpy.parse(text)
    assert doc.version == "1.1" and doc.waypoints[0].name == "网格工作站"
    assert [p.name for p in doc.routes[0].points] == ["出发", "左转进入府前路", "到达"]
    assert len(doc.tracks[0].segments[0].points) == 3


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"\x00\x01 not xml", MalformedFileError, "not a readable GPX"),
        (
            b'<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1"></gpx>',
            TrackError,
            "no track point",
        ),
        (
            track_gpx("t", np.array([9.5, 9.5]), np.array([47.1, 47.2]), np.array([200.0, 100.0])).encode(),
            TrackError,
            "point 1",
        ),
    ],
)
def test_bad_tracks_are_refused_naming_the_file(data, error, words):
    with pytest.raises(error) as got:
        read_track(data, file="w.gpx")
    assert words in str(got.value) and got.value.context["file"] == "w.gpx" and got.value.detail_zh


def test_matching_recovers_a_synthetic_walk_on_the_lattice(net):
    route = postman_route(net, np.arange(net.n_edges), start=Point(0, 0))
    frame = walk_frame(route.graph, route.tour, 4.0)
    track = synthetic_track(net, list(zip(frame["edge"], frame.geometry)), np.random.default_rng(1), detours=0)
    m = match_points(net, track.xy, track.time_s)
    ok = m.edge >= 0
    assert ok.mean() > 0.99
    assert (m.edge[ok] == track.true_edge[ok]).mean() > 0.8  # points near a junction may fall either side
    assert set(m.walked.tolist()) == set(range(net.n_edges))
    assert all(0 < m.covered_m[e] <= net.edge_length_m[e] + 1e-9 for e in m.covered_m)


def test_matching_breaks_at_long_gaps():
    net = build_network(lattice_roads(), mode="walk")
    xy = np.array([[10.0, 2.0], [30.0, 2.0], [50.0, 2.0], [350.0, 198.0], [370.0, 198.0]])
    t = np.array([0.0, 15.0, 30.0, 3600.0, 3615.0])  # an hour without a fix between the third and fourth
    m = match_points(net, xy, t)
    assert m.breaks == 1 and (m.edge >= 0).all()


def test_one_wild_fix_near_another_street_is_skipped_not_walked_to():
    # two streets 60 m apart, joined only 200 m away at either end; the walker stays on the lower one and one fix
    # lands 60 m off, on the upper one (past the 50 m radius of the lower): walking there and back is 400 m
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 4},
        geometry=[
            LineString([(0, 0), (400, 0)]),
            LineString([(0, 60), (400, 60)]),
            LineString([(0, 0), (0, 60)]),
            LineString([(400, 0), (400, 60)]),
        ],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    lower = int(np.flatnonzero([g.wkt == "LINESTRING (0 0, 400 0)" for g in net.edge_geometry])[0])
    xy = np.column_stack([np.arange(60.0, 340.0, 6.0), np.full(47, 1.0)])
    xy[23] = (200.0, 59.0)
    m = match_points(net, xy, np.arange(47) * 5.0)
    assert m.walked.tolist() == [lower] and m.breaks == 0
    assert m.edge[23] == lower and m.offset_m[23] == m.offset_m[22]  # the outlier takes its predecessor's place
    assert m.distance_m[23] == pytest.approx(59.0)
    assert m.covered_m == {lower: pytest.approx(xy[-1, 0] - xy[0, 0])}


def test_a_jump_only_a_long_detour_explains_breaks_the_track_instead_of_crediting_the_detour():
    # two streets 60 m apart, joined 60 m either side of where the fixes jump from the lower to the upper one after a
    # minute without a fix (a way not mapped, a passage through a building): 176 m along the network, 116 m more
    # than the straight line, past the 100 m (20 beta) a move may be longer
    roads = gpd.GeoDataFrame(
        {"highway": ["residential"] * 4},
        geometry=[
            LineString([(140, 0), (260, 0)]),
            LineString([(140, 60), (260, 60)]),
            LineString([(140, 0), (140, 60)]),
            LineString([(260, 0), (260, 60)]),
        ],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    lower, upper = (
        int(np.flatnonzero([g.coords[0][1] == y == g.coords[-1][1] for g in net.edge_geometry])[0]) for y in (0, 60)
    )
    xy = np.vstack(
        [
            np.column_stack([np.arange(144.0, 204.0, 4.0), np.zeros(15)]),
            np.column_stack([np.arange(204.0, 256.0, 4.0), np.full(13, 60.0)]),
        ]
    )
    t = np.arange(len(xy)) * 5.0
    t[15:] += 55.0
    m = match_points(net, xy, t)
    assert m.breaks == 1
    assert (m.edge[:15] == lower).all() and (m.edge[15:] == upper).all()
    assert set(m.covered_m) == {lower, upper}  # not a metre of either joining street


def test_benchmark_counts_a_sidewalk_beside_the_walked_street_as_alongside_not_a_street_30_m_away():
    from benchmarks.bench_matching import _alongside

    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "footway", "residential", "residential"]},
        geometry=[
            LineString([(0, 0), (200, 0)]),  # the street walked
            LineString([(0, 5), (200, 5)]),  # its sidewalk, mapped as a way of its own
            LineString([(0, 30), (200, 30)]),  # the next street, farther than the GPS noise
            LineString([(100, 0), (100, 100)]),  # a cross street
        ],
        crs="EPSG:32632",
    )
    net = build_network(roads, mode="walk")
    ys = [{c[1] for c in net.edge_geometry[e].coords} for e in range(net.n_edges)]
    walked_street = {e for e, y in enumerate(ys) if y == {0.0}}
    sidewalk = {e for e, y in enumerate(ys) if y == {5.0}}
    assert walked_street and sidewalk
    # every edge matched: only the sidewalk runs alongside; the street 30 m off and the cross street do not
    assert _alongside(net, set(range(net.n_edges)), walked_street) == sidewalk
