"""Siting on hand-made villages: deficits met exactly, a budget below them, spacing relaxed only when needed,
and the MCLP mode against brute force.

Two villages side by side, each a street grid (100 m blocks), houses along the streets::

    ┌───── 东村 (0-600 m) ─────┬───── 西村 (600-1200 m) ─────┐
    │  ┼──┼──┼──┼──┼           │  ┼──┼──┼──┼──┼               │
    │  ┼──┼──┼──┼──┼   houses  │  ┼──┼──┼──┼──┼               │
    └──────────────────────────┴──────────────────────────────┘
"""

import itertools

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from geo.camera_coverage import camera_streets
from geo.camera_siting import (
    Deficit,
    Options,
    element_sets,
    option_views,
    site_cameras,
    siting_candidates,
    solve_mclp,
    spacing_cliques,
)
from geo.camera_views import building_heights
from geo.networks import build_network
from geo.rules import DEFAULT_RULES, rules_from_dict

CRS = "EPSG:32650"
RULES = DEFAULT_RULES.cameras


def _area():
    lines = [LineString([(x, 100), (x, 300)]) for x in range(100, 1200, 100)]
    lines += [LineString([(50, y), (1150, y)]) for y in (100, 200, 300)]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines), "name": [f"路{i}" for i in range(len(lines))]},
                             geometry=lines, crs=CRS)  # fmt: skip
    houses = [box(x + 20, y + 15, x + 35, y + 30) for x in range(100, 1100, 100) for y in (100, 200)]
    buildings = gpd.GeoDataFrame({"levels": [2] * len(houses)}, geometry=houses, crs=CRS)
    coms = gpd.GeoDataFrame({"fid": ["c1", "c2"], "name": ["东村", "西村"]},
                            geometry=[box(0, 0, 600, 400), box(600, 0, 1200, 400)], crs=CRS)  # fmt: skip
    areas = coms.assign(fid=["a1", "a2"], village_fid=["v1", "v2"], community_fid=["c1", "c2"])
    return roads, buildings, coms, areas


def _model(rules=RULES, budget=3, deficits=None, existing=np.zeros((0, 2))):
    roads, buildings, coms, areas = _area()
    net = build_network(roads, mode="walk")
    streets = camera_streets(net, rules)
    deficits = deficits or [Deficit("community", "c1", "东村", "c1", 2), Deficit("community", "c2", "西村", "c2", 1)]
    cands = siting_candidates(
        net, streets, communities=coms, village_areas=areas, key_places=gpd.GeoDataFrame(),
        short_communities=[d.fid for d in deficits], short_areas=[], rules=rules,
    )  # fmt: skip
    fp = buildings.geometry.values
    pole, bearing, views = option_views(
        cands, footprints=fp, building_height_m=building_heights(buildings, rules), tree=shapely.STRtree(fp),
        rules=rules,
    )  # fmt: skip
    doors = shapely.get_coordinates(
        shapely.get_point(shapely.shortest_line(fp, shapely.union_all(roads.geometry.values)), 1)
    )
    sets = element_sets(views, doors)
    options = Options(pole, bearing, views, sets)
    res = site_cameras(cands, options, deficits=deficits, element_weight=np.ones(len(doors)), existing_xy=existing,
                       budget=budget, rules=rules)  # fmt: skip
    return cands, options, res


def test_every_deficit_met_with_poles_apart_and_an_optimal_proof():
    cands, options, res = _model()
    assert {d.fid for d in res.villages_met} == {"c1", "c2"} and not res.villages_short
    assert len(res.chosen) == 3 and res.phase1.status == "Optimal" and res.phase2.status == "Optimal"
    poles = options.pole[res.chosen]
    inside = [cands.community_fid[p] for p in poles]
    assert inside.count("c1") >= 2 and inside.count("c2") >= 1
    # 600 m wide villages hold two poles 300 m apart: no relaxation is needed.
    assert not res.spacing_violations
    assert min(np.hypot(*(cands.xy[a] - cands.xy[b])) for a, b in itertools.combinations(poles, 2)) >= 300


def test_spacing_is_relaxed_only_where_a_village_cannot_hold_its_quota():
    tight = rules_from_dict({"cameras": {"min_spacing_m": 700}}).cameras
    _, _, res = _model(rules=tight)
    assert not res.villages_short  # quotas first
    assert len(res.spacing_violations) == 1  # two poles in one 600 m village are necessarily closer than 700 m


def test_spacing_clusters_are_all_within_the_spacing_and_keep_the_optimum():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1500, (300, 2))
    groups = spacing_cliques(xy, 300.0)
    assert len(groups) > 10
    for g in groups:  # every pair of a group is closer than the spacing (else its rows would cut real solutions)
        d = np.hypot(*(xy[g][:, None, :] - xy[g][None, :, :]).transpose(2, 0, 1))
        assert len(g) >= 3 and d.max() < 300.0
    # Spacing wider than both villages: the five poles break every one of their 10 pairs, and the model proves it.
    wide = rules_from_dict({"cameras": {"min_spacing_m": 2000}}).cameras
    deficits = [Deficit("community", "c1", "东村", "c1", 4), Deficit("community", "c2", "西村", "c2", 1)]
    _, _, res = _model(rules=wide, budget=5, deficits=deficits)
    assert not res.villages_short and len(res.chosen) == 5 and res.phase2.status == "Optimal"
    assert len([v for v in res.spacing_violations if v["with"] == "proposed"]) == 10
    # the proven optimum is what the sites are worth (coverage less one per broken pair): no row overcharged them
    worth = res.objective / res.coverage_weight.sum() - 10
    assert res.phase2.objective == pytest.approx(worth, abs=1e-4)


def test_a_budget_below_the_deficits_meets_as_many_villages_as_it_can():
    _, _, res = _model(budget=1)
    assert [d.fid for d in res.villages_met] == ["c2"] and [d.fid for d in res.villages_short] == ["c1"]


def test_mclp_matches_brute_force():
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 500, (60, 2))
    weight = rng.integers(1, 6, 60).astype(float)
    cands = rng.uniform(0, 500, (12, 2))
    for p in (1, 2, 3):
        got = solve_mclp(demand, weight, cands, radius_m=80, p=p)
        d = np.hypot(*(demand[:, None, :] - cands[None, :, :]).transpose(2, 0, 1)) <= 80
        best = max(weight[d[:, list(c)].any(axis=1)].sum() for c in itertools.combinations(range(12), p))
        assert got.status == "Optimal" and got.objective == best and len(got.chosen) == p
