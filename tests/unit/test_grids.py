"""Drawing one community on hand-made geometry: counts, codes, exclaves, oversized buildings, bad input."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, box

from geo.blocks import cut_lines
from geo.checks import plan_report
from geo.errors import InputError
from geo.grids import DrawOptions, draw_community, feasible_range
from geo.partition import Band
from geo.rules import DEFAULT_RULES

CRS = "EPSG:32632"
EMPTY_VILLAGES = gpd.GeoDataFrame(
    {"village_fid": [], "community_fid": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS
)


def town(n=4, size=100.0, households_per_block=100.0, extra_geoms=()):
    """An n x n street grid: streets every ``size`` metres, one building per block."""
    side = n * size
    geom = box(0, 0, side, side)
    if extra_geoms:
        geom = MultiPolygon([geom, *extra_geoms])
    streets = [LineString([(x, -5), (x, side + 5)]) for x in np.arange(size, side, size)]
    streets += [LineString([(-5, y), (side + 5, y)]) for y in np.arange(size, side, size)]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(streets)}, geometry=streets, crs=CRS)
    houses = [box(x + 30, y + 30, x + 70, y + 70) for x in np.arange(0, side, size) for y in np.arange(0, side, size)]
    b = gpd.GeoDataFrame(
        {
            "households": [float(households_per_block)] * len(houses),
            "households_source": ["estimated"] * len(houses),
            "building": ["apartments"] * len(houses),
        },
        geometry=houses,
        crs=CRS,
    )
    com = pd.Series(
        {"fid": "c1", "name": "测试社区", "code12": "330523108204", "area_class": "urban", "geometry": geom}
    )
    return com, b, cut_lines(roads, None, DEFAULT_RULES.grid)


def draw(com, b, lines, **opts):
    return draw_community(
        com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES, options=DrawOptions(**opts)
    )


def test_feasible_range_and_count():
    assert feasible_range(1600, Band(300, 500)) == (4, 5)
    com, b, lines = town()  # 16 blocks x 100 = 1,600 households -> round(1600/400) = 4 grids
    plan = draw(com, b, lines)
    assert len(plan.grids) == 4
    assert all(300 <= h <= 500 for h in plan.grids["households"])


def test_codes_follow_reading_order():
    com, b, lines = town()
    plan = draw(com, b, lines)
    assert plan.grids["code"].tolist() == [f"330523108204{s:03d}" for s in range(1, 5)]
    from geo.codes import reading_order

    assert reading_order(plan.grids.geometry) == list(range(len(plan.grids)))


def test_grids_tile_the_community_on_streets():
    com, b, lines = town()
    plan = draw(com, b, lines)
    rows, crow = plan_report(
        plan.grids, com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES
    )
    assert crow["gap_m2"] < 1 and crow["overlap_m2"] < 1 and crow["outside_m2"] < 1
    assert rows["contiguous"].all() and rows["in_band"].all()
    assert (rows["street_boundary_share"] == 1).all()
    assert set(plan.blocks["grid_code"]) == set(plan.grids["code"])


def test_fixed_grid_count_and_its_range():
    com, b, lines = town()
    assert len(draw(com, b, lines, grids=5).grids) == 5
    with pytest.raises(InputError, match=r"outside the feasible range \[4, 5\]"):
        draw(com, b, lines, grids=7)


def test_small_exclave_is_attached_as_a_recorded_exception():
    exclave = box(1000, 1000, 1050, 1050)  # uninhabited, far away
    com, b, lines = town(extra_geoms=[exclave])
    plan = draw(com, b, lines)
    rows, crow = plan_report(
        plan.grids, com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES
    )
    assert len(plan.grids) == 4 and crow["gap_m2"] < 1
    holder = rows[rows["exceptions"].map(len) > 0]
    assert len(holder) == 1 and holder.iloc[0]["exceptions"] == ["exclave_attached"]
    assert rows["contiguous"].all()
    assert plan.info["attached"][0]["exclave"] is True


def test_oversized_building_gets_its_own_grid_and_reason():
    com, b, lines = town()
    b.loc[0, "households"] = 900.0  # one tower
    plan = draw(com, b, lines)
    rows, _ = plan_report(plan.grids, com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES)
    tower = rows[rows["households"] >= 900]
    assert len(tower) == 1 and tower.iloc[0]["reason"] == "oversized_building"
    assert rows.loc[rows["reason"].isna(), "in_band"].all()  # no unexplained outlier


def test_small_community_is_one_grid_with_its_reason():
    com, b, lines = town(n=2, households_per_block=50)  # 200 households
    plan = draw(com, b, lines)
    rows, _ = plan_report(plan.grids, com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES)
    assert len(rows) == 1 and rows.iloc[0]["reason"] == "small_community"


def test_no_feasible_count_is_explained():
    com, b, lines = town(n=2, households_per_block=137.5)  # 550 households: neither 1 nor 2 grids fit 300-500
    plan = draw(com, b, lines)
    rows, crow = plan_report(
        plan.grids, com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES
    )
    assert crow["feasible_grids"] == [2, 1]
    assert set(rows.loc[~rows["in_band"], "reason"]) == {"no_feasible_count"}


def test_no_roads_falls_back_to_cuts_between_buildings():
    com, b, _ = town()
    empty = cut_lines(
        gpd.GeoDataFrame({"highway": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS), None, DEFAULT_RULES.grid
    )
    plan = draw(com, b, empty)
    assert len(plan.grids) == 4 and (plan.blocks["kind"] == "cell").all()
    for house in b.geometry:  # no grid boundary crosses a building
        assert sum(shapely.intersection(g, house).area > 1e-6 for g in plan.grids.geometry) == 1


def test_no_buildings_gives_one_grid():
    com, b, lines = town()
    plan = draw(com, b.iloc[:0], lines)
    assert len(plan.grids) == 1 and plan.grids["households"].iloc[0] == 0


def test_bad_band_and_invalid_polygon():
    com, b, lines = town()
    with pytest.raises(InputError, match="Band"):
        draw(com, b, lines, band=(500, 300))
    bow = com.copy()
    bow["geometry"] = shapely.Polygon([(0, 0), (400, 400), (400, 0), (0, 400)])  # self-intersecting
    plan = draw(bow, b, lines)  # repaired, not refused: the planner gets an explained plan
    assert len(plan.grids) >= 1
    from geo.area import valid_polygons

    repaired = valid_polygons(gpd.GeoDataFrame([bow], geometry="geometry", crs=CRS)).iloc[0]
    rows, crow = plan_report(
        plan.grids, repaired, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES
    )
    assert crow["gap_m2"] < 1 and crow["overlap_m2"] < 1


def test_exclave_joins_the_grid_nearest_by_road_not_in_a_straight_line():
    """
    The exclave lies east of the town; its only road climbs north and enters the town at its north-west
    corner, so by road the north-western grid is nearest, though the eastern grids are closer as the crow flies.
    """
    from geo.networks import build_network

    exclave = box(1000, 0, 1050, 50)
    com, b, lines = town(extra_geoms=[exclave])
    road = gpd.GeoDataFrame(
        {"highway": ["track"]}, geometry=[LineString([(1025, 25), (1025, 900), (50, 900), (50, 350)])], crs=CRS
    )
    net = build_network(road, mode="walk")
    plan = draw_community(
        com, buildings=b, lines=lines, village_areas=EMPTY_VILLAGES, rules=DEFAULT_RULES, road_net=net
    )
    entry = plan.info["attached"][0]
    assert entry["nearest_by"] == "road" and entry["exclave"]
    holder = plan.grids[plan.grids["exceptions"].map(len) > 0].iloc[0]
    main_part = max(shapely.get_parts(holder.geometry), key=lambda p: p.area)
    assert main_part.bounds[0] < 100 and main_part.bounds[3] > 300  # the north-western grid
