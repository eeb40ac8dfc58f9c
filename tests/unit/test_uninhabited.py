"""Uninhabited land never makes a grid of its own: a settled valley under empty slopes, drawn by hand."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, box

from geo.blocks import cut_lines
from geo.checks import plan_report
from geo.errors import InputError
from geo.grids import DrawOptions, absorb_uninhabited, draw_community
from geo.rules import DEFAULT_RULES

CRS = "EPSG:32632"
NO_VILLAGES = gpd.GeoDataFrame({"village_fid": [], "community_fid": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


def mountain(households=(150.0, 150.0, 150.0)):
    r"""A 3 km x 2.4 km rural community: a valley street along the bottom, slopes above cut by paths and streams.

        2400 +--------------------------------------+
             |   /     /     /     /     /     /    |   paths every 300 m, tracks every 350 m,
             |--/-----/-----/-----/-----/-----/-----|   three streams: dozens of empty blocks
             | /     /     /     /     /     /      |
         400 +======================================+   valley road
             | [A]         [B]          [C]         |   one apartment house per settled block
           0 +--------------------------------------+
             0                                   3000
    """
    lines = [LineString([(-5, 400), (3005, 400)])]
    lines += [LineString([(x, -5), (x, 400)]) for x in (1000, 2000)]
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=CRS)
    paths = [LineString([(x, 400), (x + 80, 2405)]) for x in np.arange(150, 3000, 300)]
    paths += [LineString([(-5, y), (3005, y + 60)]) for y in np.arange(700, 2400, 350)]
    roads = pd.concat(
        [roads, gpd.GeoDataFrame({"highway": ["path"] * len(paths)}, geometry=paths, crs=CRS)], ignore_index=True
    )
    streams = gpd.GeoDataFrame(
        {"waterway": ["stream"] * 3},
        geometry=[LineString([(x, 2405), (x - 120, 400)]) for x in (900, 1900, 2800)],
        crs=CRS,
    )
    houses = [box(x, 150, x + 40, 190) for x in (400, 1400, 2400)][: len(households)]
    b = gpd.GeoDataFrame(
        {"households": list(households), "households_source": "estimated", "building": "apartments"},
        geometry=houses,
        crs=CRS,
    )
    outline = box(0, 0, 3000, 2400)
    com = pd.Series({"fid": "c1", "name": "山村", "code12": "330523108204", "area_class": "rural", "geometry": outline})
    return com, b, cut_lines(roads, streams, DEFAULT_RULES.grid)


def _draw(com, b, lines, **options):
    plan = draw_community(com, buildings=b, lines=lines, village_areas=NO_VILLAGES, rules=DEFAULT_RULES,
                          options=DrawOptions(**options))
    rows, crow = plan_report(plan.grids, com, buildings=b, lines=lines, village_areas=NO_VILLAGES,
                             rules=DEFAULT_RULES, band=plan.band)
    return plan, rows, crow


def test_every_grid_of_the_valley_holds_households_and_the_slopes_are_shared_out():
    com, b, lines = mountain()
    plan, rows, crow = _draw(com, b, lines)
    assert len(plan.blocks) > 40  # the slopes are cut into many empty blocks
    assert (rows["households"] > 0).all()
    assert rows["in_band"].all() and rows["reason"].isna().all()
    assert crow["gap_m2"] < 1 and crow["overlap_m2"] < 1  # every empty block went to some grid
    assert rows["contiguous"].all()


def test_a_fixed_count_above_the_inhabited_blocks_is_refused_not_drawn_empty():
    """Three houses, five grids asked (450 households fit 1-4 grids of the rural band 100-500 by count alone).

    Drawn as asked, two grids held only slopes, with no reason: unexplained outliers.
    """
    com, b, lines = mountain()
    with pytest.raises(InputError) as exc:
        _draw(com, b, lines, grids=4)
    assert exc.value.context["inhabited_units"] == 3 and exc.value.context["grids"] == 4
    plan, rows, _ = _draw(com, b, lines, grids=3)
    assert (rows["households"] == 150).all()


def test_an_empty_community_is_one_grid_and_says_why():
    com, b, lines = mountain(households=())
    plan, rows, _ = _draw(com, b, lines)
    assert len(rows) == 1
    assert rows.loc[0, "households"] == 0 and rows.loc[0, "reason"] == "uninhabited"


def test_an_empty_grid_beside_an_inhabited_one_is_an_unexplained_outlier():
    com, b, lines = mountain()
    plan, rows, _ = _draw(com, b, lines)
    # A planner's hand: carve the top slope strip off as a grid of its own.
    grids = plan.grids.copy()
    strip = box(0, 2000, 3000, 2400)
    grids["geometry"] = [g.difference(strip) for g in grids.geometry]
    carved = gpd.GeoDataFrame(
        {"code": ["330523108204099"], "name": ["坡地"], "grid_type": ["base"]}, geometry=[strip], crs=CRS
    )
    grids = pd.concat([grids, carved], ignore_index=True)
    grids = grids[~grids.geometry.is_empty]
    out, _ = plan_report(grids, com, buildings=b, lines=lines, village_areas=NO_VILLAGES, rules=DEFAULT_RULES,
                         band=plan.band)
    empty = out[out["code"] == "330523108204099"].iloc[0]
    assert empty["households"] == 0 and not empty["in_band"] and empty["reason"] is None


def test_chains_of_empty_grids_fold_into_the_inhabited_one():
    r"""Five blocks in a row, only the last inhabited; every empty grid ends in grid 4.

        [0][1][2][3][4: 300 hh]
    """
    a, joined = absorb_uninhabited(
        np.array([0, 1, 2, 3, 4]),
        np.array([0.0, 0.0, 0.0, 0.0, 300.0]),
        np.array([0, 1, 2, 3]),
        np.array([1, 2, 3, 4]),
        np.array([10.0, 10.0, 10.0, 10.0]),
    )
    assert set(a.tolist()) == {4}
    assert sum(len(j["blocks"]) for j in joined) == 4


def test_absorbing_keeps_an_island_of_empty_land_that_touches_nothing():
    a, joined = absorb_uninhabited(np.array([0, 1]), np.array([0.0, 5.0]), np.array([], dtype=int),
                                   np.array([], dtype=int), np.array([]))
    assert a.tolist() == [0, 1] and joined == []


def test_merged_grids_stay_one_piece():
    com, b, lines = mountain(households=(150.0, 150.0, 150.0))
    plan, rows, _ = _draw(com, b, lines)
    for geom in plan.grids.geometry:
        assert len(shapely.get_parts(geom)) == 1
