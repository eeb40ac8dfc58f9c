"""New duty points: candidate sites, sparse reach sets and the exact maximal covering model.

The street used below (metres, EPSG:32632, driving 36 km/h = 10 m/s)::

    A (0,0) --- primary --- B (500,0) --- primary --- C (1000,0)
                               |
                          residential
                               |
                            D (500,400) --- residential --- E (900,400)
"""

import itertools

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from shapely.geometry import LineString, Point

from geo.duty_siting import DutySiting, candidate_sites, coverage_matrix
from geo.networks import build_network, snap_to_edges
from geo.reach import Origins, ReachGraph, each_origin_times, entrance_times_each
from geo.rules import rules_from_dict

CRS = "EPSG:32632"
RULES = rules_from_dict({"network": {"drive": {"speeds_kmh": {"residential": 36.0, "primary": 36.0}}}})


@pytest.fixture()
def graph():
    roads = gpd.GeoDataFrame(
        {"highway": ["primary", "primary", "residential", "residential"], "name": ["Main", "Main", "Side", "Back"]},
        geometry=[
            LineString([(0, 0), (500, 0)]),
            LineString([(500, 0), (1000, 0)]),
            LineString([(500, 0), (500, 400)]),
            LineString([(500, 400), (900, 400)]),
        ],
        crs=CRS,
    )
    return ReachGraph.of(build_network(roads, mode="drive", rules=RULES))


def test_candidates_are_main_road_junctions_and_key_places(graph):
    places = gpd.GeoDataFrame(
        {"fid": ["k1", "k2", "k3"], "category": ["townhall", "school", "police"], "name": ["村委会", None, "派出所"]},
        geometry=[Point(880, 410), Point(5000, 5000), Point(10, 5)],
        crs=CRS,
    )
    c = candidate_sites(graph, places, rules=RULES, readiness_s=30.0)
    # B is the only junction (three street ends) and it is on the primary road; D joins two residential streets.
    assert c.kind.tolist() == ["junction", "key_place"]
    assert c.label.tolist() == ["Main / Side", "村委会"]  # the school is 5 km off any road, police is not a candidate
    assert c.ref.tolist()[1] == "k1"
    assert np.allclose(c.origins.start_s, [30.0, 30.0 + 10 / (4 / 3.6)])


def test_coverage_sets_equal_the_times_from_each_site(graph):
    c = candidate_sites(graph, None, rules=RULES)
    houses = [Point(x, 8) for x in (50, 450, 700, 990)] + [Point(500, 200), Point(880, 405)]
    demand = snap_to_edges(graph.net, houses)
    target = np.full(len(houses), 50.0)
    cover = coverage_matrix(graph, c, demand, target, chunk=1)
    times = entrance_times_each(graph, c.origins, each_origin_times(graph, c.origins), demand)
    assert (cover.toarray() == (times <= 50.0)).all()
    # From B, each house 8 m off Main (7.2 s on foot): 45 + 7.2 s to the one at x = 50, 5 + 7.2 to 450, 20 + 7.2 to
    # 700, 49 + 7.2 to 990; 20 s to the one on Side street; 40 + 38 + 4.5 s to the far end of Back street.
    assert cover.toarray()[0].tolist() == [False, True, True, False, True, False]


def test_the_model_is_exact_on_random_instances():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n_c, n_d = rng.integers(3, 9), rng.integers(5, 30)
        cover = sp.csr_matrix(rng.random((n_c, n_d)) < 0.25)
        households = rng.integers(0, 40, n_d).astype(float)
        model = DutySiting(cover, households)
        previous = 0.0
        for p in (1, 2, 3):
            got = model.solve(p)
            dense = cover.toarray()
            brute = max(
                households[dense[list(combo)].any(axis=0)].sum() for combo in itertools.combinations(range(n_c), p)
            )
            assert got.proven_optimal and got.households == pytest.approx(brute) == got.bound
            assert model.best_by_enumeration(p) == pytest.approx(brute)
            assert got.households >= previous  # the gain curve never falls
            previous = got.households
            assert len(got.sites) <= p
            # Each site's figures: what it covers, and what only it covers, add up.
            assert got.only.sum() <= got.households <= got.adds.sum() + 1e-9


def test_demand_with_the_same_reach_set_is_merged_exactly():
    cover = sp.csr_matrix(np.array([[1, 1, 0, 1], [0, 0, 1, 1]], dtype=bool))
    model = DutySiting(cover, np.array([2.0, 3.0, 4.0, 0.0]))
    assert len(model.group_households) == 2 and sorted(model.group_households) == [4.0, 5.0]
    assert model.reachable_households == 9.0
    best = model.solve(1)
    assert best.sites.tolist() == [0] and best.households == 5.0 and best.adds.tolist() == [5.0]
    assert model.solve(5).households == 9.0  # more sites than needed: all that can be covered


def test_nothing_to_cover():
    model = DutySiting(sp.csr_matrix((3, 0), dtype=bool), np.zeros(0))
    got = model.solve(2)
    assert got.households == 0 and got.proven_optimal and not len(got.sites)


def test_origins_on_nodes_reach_every_way_out(graph):
    # A site standing on B leaves along any street, whichever edge it is attached to.
    b = int(np.flatnonzero((graph.net.node_xy == (500, 0)).all(axis=1))[0])
    times = each_origin_times(graph, Origins.at_nodes(graph, np.array([b])))[0]
    assert sorted(np.round(times, 6).tolist()) == [0.0, 40.0, 50.0, 50.0, 80.0]
